package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/internal/config"
	"mailfs/remote/imap"
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
	cacheDir, err := config.CacheDir(cfg)
	if err != nil {
		return err
	}
	c, err := cache.Open(cacheDir, &cache.Options{Logger: log, MaxSize: cfg.Cache.MaxSize})
	if err != nil {
		return err
	}
	defer c.Close()

	var accounts []fs.Account
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		switch {
		case a.IMAP != nil:
			store, err := newIMAPStore(a, log)
			if err != nil {
				return err
			}
			defer store.Close()
			accounts = append(accounts, fs.Account{Name: a.Name, Source: c.Account(a.Name, store)})
		case a.POP3 != nil:
			log.Warn("POP3 accounts are not mounted by this version; skipping", "account", a.Name)
		}
	}
	return serve(ctx, pos[0], accounts, &fs.Options{Filenames: cfg.Filenames, Logger: log, Debug: f.verbose && os.Getenv("MAILFS_FUSE_DEBUG") != ""}, log)
}

// newIMAPStore builds the IMAP client of one account from its config.
func newIMAPStore(a *config.Account, log *slog.Logger) (*imap.Store, error) {
	s := &a.IMAP.Server
	tlsConfig, err := s.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("account %q: %w", a.Name, err)
	}
	mode := imap.TLSImplicit
	switch s.TLS {
	case "starttls":
		mode = imap.TLSStartTLS
	case "none":
		mode = imap.TLSNone
	}
	return imap.New(&imap.Options{
		Account:   a.Name,
		Host:      s.Host,
		Port:      s.Port,
		TLS:       mode,
		TLSConfig: tlsConfig,
		Username:  s.Username,
		Password:  s.Secret,
		Auth:      s.Auth,
		Token:     s.TokenSecret,
		MaxConns:  a.IMAP.MaxConnections,
		Logger:    log,
	}), nil
}

// serve mounts the accounts at mountpoint and blocks until ctx is cancelled
// (a signal) or the filesystem is unmounted from outside. It always leaves
// the mountpoint unmounted.
func serve(ctx context.Context, mountpoint string, accounts []fs.Account, opts *fs.Options, log *slog.Logger) error {
	if err := prepareMountpoint(mountpoint, log); err != nil {
		return err
	}
	srv, err := fs.Mount(mountpoint, accounts, opts)
	if err != nil {
		return fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	log.Info("mounted", "mountpoint", mountpoint, "accounts", len(accounts))

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
	if err := syscall.Unmount(mountpoint, syscall.MNT_DETACH); err != nil {
		log.Error("lazy unmount failed: run 'fusermount3 -u "+mountpoint+"'", "err", err)
	}
}

// prepareMountpoint checks that mountpoint is a directory and clears a stale
// mailfs mount left by a process that died (ENOTCONN).
func prepareMountpoint(mountpoint string, log *slog.Logger) error {
	st, err := os.Stat(mountpoint)
	if errors.Is(err, syscall.ENOTCONN) {
		log.Warn("clearing a stale mount left by an earlier mailfs", "mountpoint", mountpoint)
		if uerr := syscall.Unmount(mountpoint, syscall.MNT_DETACH); uerr != nil {
			return fmt.Errorf("%s holds a dead mount and unmounting it failed (%v): run 'fusermount3 -u %s'", mountpoint, uerr, mountpoint)
		}
		st, err = os.Stat(mountpoint)
	}
	if err != nil {
		return fmt.Errorf("mountpoint: %w (create it with 'mkdir -p %s')", err, mountpoint)
	}
	if !st.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", mountpoint)
	}
	return nil
}
