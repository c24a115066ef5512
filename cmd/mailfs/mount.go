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
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/fs"
)

// cmdMount mounts every configured account and serves until interrupted.
func cmdMount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, pos, err := parseFlags("mount", args, stderr, true, 1)
	if err != nil {
		return err
	}
	log := newLogger(stderr, f.verbose)
	cfg, err := loadConfig(f.config, log)
	if err != nil {
		return err
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
	return serve(ctx, pos[0], false, st, &fs.Options{Filenames: cfg.Filenames, Logger: log, Debug: f.verbose && os.Getenv("MAILFS_FUSE_DEBUG") != ""}, log)
}

// serve mounts the stack at mountpoint (made first when create is set), runs its background work and
// blocks until ctx is cancelled (a signal) or the filesystem is unmounted
// from outside. It always leaves the mountpoint unmounted.
func serve(ctx context.Context, mountpoint string, create bool, st *stack, opts *fs.Options, log *slog.Logger) error {
	if err := prepareMountpoint(mountpoint, create, log); err != nil {
		return err
	}
	opts.Outbox = st.outbox
	srv, err := fs.Mount(mountpoint, st.accounts, opts)
	if err != nil {
		return fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	log.Info("mounted", "mountpoint", mountpoint, "accounts", len(st.accounts), "outbox", st.outbox != nil)
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
	unmount(srv, mountpoint, log)
	<-done
	return nil
}

// unmount detaches the filesystem, retrying while it is busy, and falls back
// to a lazy detach so that no mount is ever left behind.
func unmount(srv *fuse.Server, mountpoint string, log *slog.Logger) {
	var err error
	for i := 0; i < 10; i++ {
		if err = srv.Unmount(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
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

// prepareMountpoint checks that mountpoint is a directory (creating it when
// create is set) and clears a stale mailfs mount left by a process that died
// (ENOTCONN).
func prepareMountpoint(mountpoint string, create bool, log *slog.Logger) error {
	st, err := os.Stat(mountpoint)
	if errors.Is(err, syscall.ENOTCONN) {
		log.Warn("clearing a stale mount left by an earlier mailfs", "mountpoint", mountpoint)
		if uerr := detach(mountpoint); uerr != nil {
			return fmt.Errorf("%s holds a dead mount and unmounting it failed (%v): run 'fusermount3 -u %s'", mountpoint, uerr, mountpoint)
		}
		st, err = os.Stat(mountpoint)
	}
	if errors.Is(err, os.ErrNotExist) && create {
		if err = os.MkdirAll(mountpoint, 0o700); err == nil {
			st, err = os.Stat(mountpoint)
		}
	}
	if err != nil {
		return fmt.Errorf("mountpoint: %w (create it with 'mkdir -p %s')", err, mountpoint)
	}
	if !st.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", mountpoint)
	}
	return nil
}
