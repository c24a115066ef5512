package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"mailfs/cache"
	"mailfs/fs"
	"mailfs/remote/imap"
	"mailfs/remote/remotetest"
)

// cmdDemo serves built-in sample accounts from in-process servers on
// loopback and mounts them: the whole product without a config.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, pos, err := parseFlags("demo", args, stderr, false, 1)
	if err != nil {
		return err
	}
	log := newLogger(stderr, f.verbose)

	srv, err := remotetest.StartIMAP(nil)
	if err != nil {
		return fmt.Errorf("demo IMAP server: %w", err)
	}
	defer srv.Close()
	if err := remotetest.Seed(srv); err != nil {
		return fmt.Errorf("demo sample mail: %w", err)
	}

	cacheDir, err := os.MkdirTemp("", "mailfs-demo-cache-")
	if err != nil {
		return fmt.Errorf("demo cache: %w", err)
	}
	defer os.RemoveAll(cacheDir)
	c, err := cache.Open(cacheDir, &cache.Options{Logger: log})
	if err != nil {
		return err
	}
	defer c.Close()

	store := imap.New(&imap.Options{
		Account:  "demo",
		Host:     srv.Host(),
		Port:     srv.Port(),
		TLS:      imap.TLSNone,
		Username: srv.Username,
		Password: func(context.Context) (string, error) { return srv.Password, nil },
		Logger:   log,
	})
	defer store.Close()

	mountpoint := pos[0]
	fmt.Fprintf(stdout, "mailfs demo: IMAP server on %s, mounting at %s\n", srv.Addr, mountpoint)
	fmt.Fprintf(stdout, "try:  ls %s/demo/INBOX   grep -rli invoice %s   (Ctrl-C to unmount)\n", mountpoint, mountpoint)
	accounts := []fs.Account{{Name: "demo", Source: c.Account("demo", store)}}
	return serve(ctx, mountpoint, accounts, &fs.Options{Logger: log}, log)
}
