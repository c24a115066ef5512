package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/fs"
	"mailfs/internal/mountinfo"
)

// cmdMount mounts every configured account and serves until interrupted
// (or, with -daemon, until the mount answers, leaving a background
// process serving it).
func cmdMount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, pos, err := parseFlags("mount", args, stderr, true, 1)
	if err != nil {
		return err
	}
	return mountWith(ctx, f, pos[0], append([]string{"mount"}, args...), stdout, stderr)
}

// cmdMountHelper is mount as mount(8) runs it through mount.fuse3 for an
// fstab entry of type fuse.mailfs: `mailfs SOURCE MOUNTPOINT -o OPTS`.
// SOURCE is ignored. mount(8) waits for the helper to exit, so it mounts
// in the background and returns once the mount answers.
func cmdMountHelper(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, pos, err := parseFlags("mount", args, stderr, true, 2)
	if err != nil {
		return err
	}
	f.daemon = true
	return mountWith(ctx, f, pos[1], args, stdout, stderr)
}

// mountWith mounts at mountpoint as f says; args are the command line
// (from the command name on) a -daemon run gives its background process.
func mountWith(ctx context.Context, f commonFlags, mountpoint string, args []string, stdout, stderr io.Writer) error {
	if c := f.opts.config; c != "" {
		if f.config != "" && f.config != c {
			return fmt.Errorf("%w: mount: -config %s and -o config=%s disagree", errUsage, f.config, c)
		}
		f.config = c
	}
	if f.opts.allowOther {
		if err := checkAllowOther(os.Geteuid(), readFuseConf()); err != nil {
			return err
		}
	}
	if isDaemonChild() {
		// Not passed on to new_mail_command and what it starts.
		os.Unsetenv(daemonEnv)
	} else if f.daemon {
		return daemonize(ctx, mountpoint, f.logFile, args, stdout, stderr)
	}
	log := newLogger(stderr, f.verbose)
	cfg, err := loadConfig(f.config, log)
	if err != nil {
		return err
	}
	if f.opts.readOnly {
		// Nothing is sent from a read-only mount: no SMTP client, no
		// outbox, no outbox/ directory.
		for i := range cfg.Accounts {
			cfg.Accounts[i].SMTP = nil
		}
		log.Info("read-only mount (-o ro): changes fail with EROFS, nothing is sent")
	}
	d, err := configDirs(cfg)
	if err != nil {
		return err
	}
	st, err := buildStack(cfg, d, log)
	if err != nil {
		return err
	}
	defer st.close()
	return serve(ctx, mountpoint, false, st, &fs.Options{
		Filenames:          cfg.Filenames,
		Logger:             log,
		Debug:              f.verbose && os.Getenv("MAILFS_FUSE_DEBUG") != "",
		ReadOnly:           f.opts.readOnly,
		AllowOther:         f.opts.allowOther,
		DefaultPermissions: f.opts.defaultPermissions,
	}, log)
}

// serve mounts the stack at mountpoint (made first when create is set), runs its background work and
// blocks until ctx is cancelled (a signal) or the filesystem is unmounted
// from outside. It always leaves the mountpoint unmounted.
func serve(ctx context.Context, mountpoint string, create bool, st *stack, opts *fs.Options, log *slog.Logger) error {
	if err := prepareMountpoint(mountpoint, create, log); err != nil {
		return err
	}
	// Before the mount: a second mailfs on this mountpoint stops here.
	stopControl, err := startControl(ctx, mountpoint, st, log)
	if err != nil {
		return err
	}
	defer stopControl()
	opts.Outbox = st.outbox
	if st.searches != nil {
		opts.Searches = st.searches
	}
	runners := map[string]*newMailRunner{}
	for account, command := range st.newMail {
		r := newNewMailRunner(account, command, mountpoint, log)
		runners[account] = r
		st.run = append(st.run, r.run)
	}
	if len(runners) > 0 {
		opts.OnNewMail = func(account string, paths []string) {
			if r := runners[account]; r != nil {
				r.add(paths)
			}
		}
	}
	srv, err := fs.Mount(mountpoint, st.accounts, opts)
	if err != nil {
		return fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	log.Info("mounted", "mountpoint", mountpoint, "accounts", len(st.accounts), "outbox", st.outbox != nil)
	if err := sdNotify(os.Getenv("NOTIFY_SOCKET"), "READY=1\nSTATUS=mounted "+mountpoint); err != nil {
		log.Warn("cannot tell systemd the mount is ready", "err", err)
	}
	bgCtx, stopBackground := context.WithCancel(context.Background())
	waitBackground := st.start(bgCtx)
	defer func() {
		stopBackground()
		waitBackground()
	}()

	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
		log.Info("unmounted from outside", "mountpoint", mountpoint)
		return nil
	case <-ctx.Done():
	}
	log.Info("unmounting", "mountpoint", mountpoint)
	sdNotify(os.Getenv("NOTIFY_SOCKET"), "STOPPING=1")
	force := forced(ctx)
	unmount(srv, mountpoint, force, log)
	select {
	case <-done:
	case <-force:
		// Processes still use the lazily detached mount: they get
		// ENOTCONN once this process is gone.
		log.Warn("second signal: exiting without waiting for the processes still using the detached mount", "mountpoint", mountpoint)
	}
	return nil
}

// unmount detaches the filesystem, retrying for a second while it is busy
// (and naming the processes that hold it), and falls back to a lazy
// detach so that no mount is ever left behind; at once when force is
// closed (a second Ctrl-C).
func unmount(srv *fuse.Server, mountpoint string, force <-chan struct{}, log *slog.Logger) {
	var err error
	for i := 0; i < 10; i++ {
		if err = srv.Unmount(); err == nil {
			return
		}
		if i == 0 {
			logHolders(mountpoint, log)
		}
		select {
		case <-time.After(100 * time.Millisecond):
			continue
		case <-force:
		}
		break
	}
	log.Warn("mount busy; detaching lazily (it disappears once no process uses it)", "mountpoint", mountpoint, "err", err)
	if err := detach(mountpoint); err != nil {
		log.Error("lazy unmount failed: run 'fusermount3 -u "+mountpoint+"'", "err", err)
	}
}

// detach lazily unmounts mountpoint: directly as root, else through
// fusermount3, which lets a user unmount their own FUSE mounts.
func detach(mountpoint string) error {
	if os.Geteuid() == 0 {
		return syscall.Unmount(mountpoint, syscall.MNT_DETACH)
	}
	out, err := exec.Command("fusermount3", "-u", "-z", mountpoint).CombinedOutput()
	if err != nil {
		return fmt.Errorf("fusermount3 -u -z: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// prepareMountpoint makes mountpoint ready to mount on: a directory
// (created first when create is set) with nothing mounted on it. Every dead
// FUSE mount stacked there — one is left by each mailfs killed with
// SIGKILL — is detached; a live mount is never mounted over.
func prepareMountpoint(mountpoint string, create bool, log *slog.Logger) error {
	abs, err := absPath(mountpoint)
	if err != nil {
		return fmt.Errorf("mountpoint %s: %w", mountpoint, err)
	}
	if err := clearDeadMounts(abs, log); err != nil {
		return err
	}
	st, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) && create {
		if err = os.MkdirAll(abs, 0o700); err == nil {
			st, err = os.Stat(abs)
		}
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("mountpoint %s does not exist (create it with 'mkdir -p %s')", mountpoint, mountpoint)
	case err != nil:
		return fmt.Errorf("mountpoint: %w", err)
	case !st.IsDir():
		return fmt.Errorf("mountpoint %s is not a directory", mountpoint)
	}
	return nil
}

// absPath returns path absolute and clean, with the symbolic links of its
// parent resolved (not of path itself, which may be a dead mount that
// cannot be stat'ed), as the mount table spells mountpoints.
func absPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	dir, base := filepath.Split(abs)
	if base == "" {
		return abs, nil
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Join(dir, base), nil
}

const (
	// maxDeadLayers bounds the dead mounts clearDeadMounts detaches.
	maxDeadLayers = 100
	// probeTimeout bounds the wait for a mounted filesystem to answer.
	probeTimeout = 2 * time.Second
)

// errNoAnswer is what probeMount says of a filesystem that does not answer.
var errNoAnswer = errors.New("no answer")

// clearDeadMounts detaches, top first, every dead FUSE mount on dir (an
// absolute path), and fails if a live one is there: mounting over it would
// hide it.
func clearDeadMounts(dir string, log *slog.Logger) error {
	for range maxDeadLayers {
		ms, err := mountinfo.At(dir)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		top := ms[len(ms)-1]
		switch err := probeMount(dir); {
		case err == nil:
			return fmt.Errorf("%s is already mounted (%s): unmount it first ('fusermount3 -u %s') or choose another mountpoint", dir, top.FSType, dir)
		case errors.Is(err, errNoAnswer):
			return fmt.Errorf("%s is mounted (%s) and does not answer within %v: is the mailfs serving it stopped? Unmount it with 'fusermount3 -u %s'", dir, top.FSType, probeTimeout, dir)
		case !errors.Is(err, syscall.ENOTCONN) || !top.FUSE():
			return fmt.Errorf("%s is mounted (%s) and cannot be used: %w", dir, top.FSType, err)
		}
		log.Warn("clearing a dead mount left by an earlier mailfs", "mountpoint", dir, "fstype", top.FSType, "stacked", len(ms))
		if err := detach(dir); err != nil {
			return fmt.Errorf("%s holds a dead mount and unmounting it failed (%v): run 'fusermount3 -u %s'", dir, err, dir)
		}
	}
	return fmt.Errorf("%s: still mounted after detaching %d dead mounts", dir, maxDeadLayers)
}

// probeMount asks the filesystem mounted on dir for its statistics, which
// no kernel cache answers: nil for a live filesystem, ENOTCONN for a FUSE
// mount whose process died, errNoAnswer when it does not answer in time
// (the goroutine is left to the kernel then).
func probeMount(dir string) error {
	done := make(chan error, 1)
	go func() {
		var st syscall.Statfs_t
		done <- syscall.Statfs(dir, &st)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(probeTimeout):
		return errNoAnswer
	}
}

// holder is a process using a mount: its working directory or an open
// file is under the mountpoint.
type holder struct {
	pid  int
	comm string
	path string // the first such path found
}

// mountHolders scans /proc (proc) for processes whose working directory,
// root or open files are under mountpoint (absolute). Processes it may not
// look into are skipped.
func mountHolders(proc, mountpoint string) []holder {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	under := func(p string) bool {
		return p == mountpoint || strings.HasPrefix(p, strings.TrimSuffix(mountpoint, "/")+"/")
	}
	var out []holder
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		dir := filepath.Join(proc, e.Name())
		links := []string{filepath.Join(dir, "cwd"), filepath.Join(dir, "root")}
		if fds, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil {
			for _, fd := range fds {
				links = append(links, filepath.Join(dir, "fd", fd.Name()))
			}
		}
		for _, l := range links {
			if p, err := os.Readlink(l); err == nil && under(p) {
				comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
				out = append(out, holder{pid: pid, comm: strings.TrimSpace(string(comm)), path: p})
				break
			}
		}
	}
	return out
}

// logHolders logs the processes using the busy mount at mountpoint.
func logHolders(mountpoint string, log *slog.Logger) {
	abs, err := absPath(mountpoint)
	if err != nil {
		return
	}
	hs := mountHolders("/proc", abs)
	for _, h := range hs {
		log.Warn("mount busy: in use by a process", "mountpoint", abs, "pid", h.pid, "comm", h.comm, "path", h.path)
	}
	if len(hs) > 0 {
		log.Warn("mount busy: retrying for a second, then detaching lazily; press Ctrl-C again to detach at once and exit", "mountpoint", abs, "processes", len(hs))
	}
}
