package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// daemon is a stack serving a control socket, without FUSE: what `mailfs
// mount` runs besides the filesystem.
type daemon struct {
	st         *stack
	mountpoint string
	logs       *syncBuffer
}

// startDaemon builds the stack of the config at path, runs its background
// work and its control socket until the test ends. XDG_RUNTIME_DIR and
// XDG_DATA_HOME are temp dirs of the test.
func startDaemon(t *testing.T, config string) *daemon {
	t.Helper()
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	d := &daemon{mountpoint: t.TempDir(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(d.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, err := loadConfig(config, log)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := configDirs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := buildStack(cfg, dirs, log)
	if err != nil {
		t.Fatal(err)
	}
	d.st = st
	ctx, cancel := context.WithCancel(context.Background())
	wait := st.start(ctx)
	stop, err := startControl(ctx, d.mountpoint, st, log)
	if err != nil {
		cancel()
		wait()
		st.close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		cancel()
		wait()
		st.close()
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs)
		}
	})
	return d
}

// TestControlSocket checks the socket's permissions, that a second mailfs
// on the same mountpoint is refused, that a stale socket is replaced, and
// that stop removes it.
func TestControlSocket(t *testing.T) {
	run := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", run)
	mnt := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	st := &stack{}
	stop, err := startControl(context.Background(), mnt, st, log)
	if err != nil {
		t.Fatal(err)
	}
	path, err := controlPath(mnt)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != filepath.Join(run, "mailfs") {
		t.Errorf("got socket %s, want it in %s/mailfs", path, run)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{filepath.Dir(path), 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("got mode %v for %s, want %v", got, c.path, c.want)
		}
	}
	if _, err := startControl(context.Background(), mnt, st, log); err == nil || !strings.Contains(err.Error(), "another mailfs is running") {
		t.Errorf("got %v starting a second control socket, want \"another mailfs is running\"", err)
	}
	// The same mountpoint named otherwise is the same socket.
	if p2, _ := controlPath(mnt + "/./"); p2 != path {
		t.Errorf("got %s for %s/./, want %s", p2, mnt, path)
	}
	resp, err := ask(context.Background(), path, &controlRequest{Op: opStatus}, nil)
	if err != nil || resp.Status == nil || resp.Status.Mountpoint != mnt || resp.Status.Outbox != nil {
		t.Errorf("got %+v, %v asking for status, want the status of %s without outbox", resp, err, mnt)
	}
	if resp, err := ask(context.Background(), path, &controlRequest{Op: opRetry}, nil); err != nil || resp.OK || !strings.Contains(resp.Error, "no outbox") {
		t.Errorf("got %+v, %v asking for a retry without outbox, want \"no outbox\"", resp, err)
	}
	stop()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("got %v after stop, want the socket removed", err)
	}

	// A socket left by a killed mailfs: nothing answers on it.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := findDaemon(context.Background(), ""); err == nil {
		t.Errorf("findDaemon found a stale socket, want errNotRunning")
	}
	stop, err = startControl(context.Background(), mnt, st, log)
	if err != nil {
		t.Fatalf("got %v over a stale socket, want it replaced", err)
	}
	stop()
}

// TestControlDirFallback checks the socket directory without
// XDG_RUNTIME_DIR.
func TestControlDirFallback(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got, want := controlDir(), filepath.Join(os.TempDir(), "mailfs-"+strconv.Itoa(os.Getuid())); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestFindDaemonSeveral checks that with two mounts and no MOUNTPOINT the
// commands list both and ask.
func TestFindDaemonSeveral(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	log := slog.New(slog.DiscardHandler)
	a, b := t.TempDir(), t.TempDir()
	for _, mnt := range []string{a, b} {
		stop, err := startControl(context.Background(), mnt, &stack{}, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	_, err := findDaemon(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), "name the MOUNTPOINT") {
		t.Errorf("got %v, want both mountpoints listed", err)
	}
	var out strings.Builder
	if err := cmdStatus(context.Background(), []string{b}, &out, &out); err != nil || !strings.Contains(out.String(), "mailfs on "+b) {
		t.Errorf("got %v, %q, want the status of %s", err, out.String(), b)
	}
}
