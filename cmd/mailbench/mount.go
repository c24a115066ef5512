package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"mailfs/internal/mountinfo"
)

const (
	// mountTimeout bounds the wait for the mount to appear.
	mountTimeout = 60 * time.Second
	// stopTimeout bounds the wait for mailfs to unmount and exit after
	// SIGTERM (it detaches lazily after a second of "busy").
	stopTimeout = 20 * time.Second
)

// mount is a running `mailfs mount` subprocess.
type mount struct {
	dir     string // the mountpoint
	logFile string // mailfs's stderr
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	stopped bool
	stopErr error
}

// mount writes the mailfs config for both accounts (through host:port,
// tls = "none", a fresh cache) and mounts them as a subprocess; it returns
// once the mount is there. The mount is stopped at cleanup.
func (b *bench) mount(ctx context.Context, bin, host string, port int) (*mount, error) {
	m := &mount{dir: filepath.Join(b.work, "mnt"), logFile: filepath.Join(b.work, "mailfs.log")}
	for _, d := range []string{m.dir, filepath.Join(b.work, "cache"), filepath.Join(b.work, "xdg", "config"), filepath.Join(b.work, "xdg", "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	cfg := filepath.Join(b.work, "mailfs.toml")
	if err := os.WriteFile(cfg, []byte(mailfsConfig(filepath.Join(b.work, "cache"), host, port)), 0o600); err != nil {
		return nil, fmt.Errorf("write mailfs config: %w", err)
	}
	logf, err := os.Create(m.logFile)
	if err != nil {
		return nil, fmt.Errorf("create mailfs log: %w", err)
	}
	defer logf.Close() // the child has its own descriptor

	b.progress("mounting with %s", bin)
	args := []string{"mount", "-config", cfg, m.dir}
	if b.opts.verbose {
		args = []string{"mount", "-v", "-config", cfg, m.dir}
	}
	m.cmd = exec.Command(bin, args...)
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	// Its own XDG directories: the outbox spool and any default path stay
	// in the work directory.
	m.cmd.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(b.work, "xdg", "config"),
		"XDG_DATA_HOME="+filepath.Join(b.work, "xdg", "data"),
		"XDG_CACHE_HOME="+filepath.Join(b.work, "cache"))
	// Its own process group: a Ctrl-C in the terminal reaches mailbench,
	// which unmounts in order. If mailbench dies, mailfs gets SIGTERM and
	// unmounts itself.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	m.done = make(chan struct{})
	go func() { m.cmd.Wait(); close(m.done) }()
	b.onCleanup(m.stop)

	deadline := time.Now().Add(mountTimeout)
	for !isMounted(m.dir) {
		select {
		case <-m.done:
			return nil, fmt.Errorf("mailfs mount exited before mounting (%v)\nlog (%s):\n%s", m.cmd.ProcessState, m.logFile, tailFile(m.logFile, 20))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("mailfs: %s not mounted after %v\nlog (%s):\n%s", m.dir, mountTimeout, m.logFile, tailFile(m.logFile, 20))
		}
	}
	return m, nil
}

// mailfsConfig renders the config of the two accounts.
func mailfsConfig(cacheDir, host string, port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by mailbench.\n[cache]\ndir = %q\n", cacheDir)
	for _, user := range []string{corpusUser, lsUser} {
		fmt.Fprintf(&b, "\n[[accounts]]\nname = %q\n  [accounts.imap]\n  host = %q\n  port = %d\n  tls = \"none\"\n  username = %q\n  password = %q\n",
			user, host, port, user, benchPassword)
	}
	return b.String()
}

// stop unmounts: SIGTERM to mailfs, which unmounts and exits; SIGKILL if
// it has not after stopTimeout. A mount still there after that is
// detached (umount -l as root, else fusermount3 -u -z). The error says
// what did not go as planned; calling stop again returns the first result.
func (m *mount) stop() error {
	if m.stopped {
		return m.stopErr
	}
	m.stopped = true
	var errs []error
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		if st := m.cmd.ProcessState; st != nil && !st.Success() {
			errs = append(errs, fmt.Errorf("mailfs mount exited with %v\nlog (%s):\n%s", st, m.logFile, tailFile(m.logFile, 20)))
		}
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
		errs = append(errs, fmt.Errorf("mailfs did not exit within %v of SIGTERM; killed\nlog (%s):\n%s", stopTimeout, m.logFile, tailFile(m.logFile, 20)))
	}
	if isMounted(m.dir) {
		errs = append(errs, fmt.Errorf("mailfs exited and left %s mounted", m.dir))
		if err := detach(m.dir); err != nil {
			errs = append(errs, err)
		}
	}
	m.stopErr = errors.Join(errs...)
	return m.stopErr
}

// detach unmounts dir lazily.
func detach(dir string) error {
	cmd := exec.Command("fusermount3", "-u", "-z", dir)
	if os.Geteuid() == 0 {
		cmd = exec.Command("umount", "-l", dir)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s (run it yourself)", strings.Join(cmd.Args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// isMounted reports whether dir is a mountpoint; an unreadable mount table
// counts as not mounted.
func isMounted(dir string) bool {
	ok, _ := mountinfo.Mounted(dir)
	return ok
}

// tailFile returns the last n lines of the file at path.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
