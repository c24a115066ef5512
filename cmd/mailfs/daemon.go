package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// daemonEnv marks the background process of `mailfs mount -daemon`: it
// mounts in the foreground of its own session.
const daemonEnv = "MAILFS_DAEMON_CHILD"

// daemonTimeout bounds the wait for a background mount to answer.
const daemonTimeout = 30 * time.Second

// isDaemonChild reports whether this process is the background process of
// a -daemon mount.
func isDaemonChild() bool { return os.Getenv(daemonEnv) == "1" }

// defaultLogFile is the log of background mounts:
// $XDG_STATE_HOME/mailfs/mailfs.log, or ~/.local/state/mailfs/mailfs.log.
func defaultLogFile() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "mailfs", "mailfs.log"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the log directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "mailfs", "mailfs.log"), nil
}

// daemonize runs this program again with args (minus -daemon) in a new
// session, with stdin /dev/null and its output appended to logFile
// (defaultLogFile when empty), and returns once the mount at mountpoint
// answers. When the background process exits first, or the mount does
// not answer within daemonTimeout, the error holds the end of its log.
func daemonize(ctx context.Context, mountpoint, logFile string, args []string, stdout, stderr io.Writer) error {
	abs, err := absPath(mountpoint)
	if err != nil {
		return fmt.Errorf("mountpoint %s: %w", mountpoint, err)
	}
	if logFile == "" {
		if logFile, err = defaultLogFile(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(logFile), 0o700); err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	lf, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer lf.Close()
	logStart, err := lf.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	before, err := mailfsMountIDs(abs)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the mailfs executable: %w", err)
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := exec.Command(exe, withoutDaemonFlag(args)...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the background mailfs: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	timeout := time.NewTimer(daemonTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the background mailfs exited before mounting (%v); the end of %s:\n%s", err, logFile, logTail(logFile, logStart, 20))
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("interrupted before %s was mounted: %w", mountpoint, ctx.Err())
		case <-timeout.C:
			cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("%s was not mounted within %v (stopped the background mailfs); the end of %s:\n%s", mountpoint, daemonTimeout, logFile, logTail(logFile, logStart, 20))
		case <-tick.C:
		}
		ids, err := mailfsMountIDs(abs)
		if err != nil {
			continue
		}
		if len(ids) > 0 && !slices.Contains(before, ids[len(ids)-1]) {
			if _, err := os.Stat(abs); err == nil {
				fmt.Fprintf(stdout, "mailfs: mounted %s in the background (pid %d, log %s)\n", mountpoint, cmd.Process.Pid, logFile)
				return nil
			}
		}
	}
}

// withoutDaemonFlag returns args without -daemon (the background process
// is told by daemonEnv, and must not start another).
func withoutDaemonFlag(args []string) []string {
	var out []string
	for _, a := range args {
		switch a {
		case "-daemon", "--daemon", "-daemon=true", "--daemon=true":
			continue
		}
		out = append(out, a)
	}
	return out
}

// mailfsMountIDs returns the mount IDs of the mailfs mounts (fstype
// fuse.mailfs) stacked on dir (absolute, clean), the one in use last; a
// mount of another type on top of them hides them, and then none are
// returned.
func mailfsMountIDs(dir string) ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return parseMailfsMountIDs(data, dir), nil
}

// parseMailfsMountIDs is mailfsMountIDs on table (the format of
// /proc/self/mountinfo).
func parseMailfsMountIDs(table []byte, dir string) []string {
	want := escapeMountPath(dir)
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[4] != want {
			continue
		}
		i := slices.Index(fields[5:], "-")
		if i < 0 || 5+i+1 >= len(fields) {
			continue
		}
		if fields[5+i+1] != "fuse.mailfs" {
			ids = nil // hidden by another mount
			continue
		}
		ids = append(ids, fields[0])
	}
	return ids
}

// escapeMountPath escapes path as the mount table does: space, tab,
// newline and backslash as octal.
func escapeMountPath(path string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(path)
}

// logTail returns the last n lines written to the log at path from offset
// on.
func logTail(path string, offset int64, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	if offset <= int64(len(data)) {
		data = data[offset:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sdNotify sends state (such as "READY=1") to systemd's notification
// socket addr ($NOTIFY_SOCKET of a Type=notify service); nothing when addr
// is empty. An addr starting with "@" is in the abstract namespace.
func sdNotify(addr, state string) error {
	if addr == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify socket: %w", err)
	}
	return nil
}
