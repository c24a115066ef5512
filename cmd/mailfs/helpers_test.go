package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/mountinfo"
)

// requireFUSE skips a test that mounts when this machine cannot mount.
func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("skipping: /dev/fuse is missing, so nothing can be mounted here")
	}
	if os.Geteuid() != 0 {
		if _, err := os.Stat("/usr/bin/fusermount3"); err != nil {
			t.Skip("skipping: not root and fusermount3 is missing (apt-get install fuse3)")
		}
	}
}

// isMounted reports whether dir is a mountpoint in this mount namespace.
func isMounted(t testing.TB, dir string) bool {
	t.Helper()
	ok, err := mountinfo.Mounted(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two
// goroutines (the command logs while the test reads).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runMount runs `mailfs ARGS...` (a mount or demo command ending in
// MOUNTPOINT) in this process until the test ends, and waits until the
// mount is up. Cleanup cancels the command, waits for it to return, and
// checks that no mount is left behind.
func runMount(t *testing.T, args ...string) (logs *syncBuffer) {
	t.Helper()
	return runMountAt(t, args[len(args)-1], args...)
}

// runMountAt is runMount for a command line whose mountpoint mnt is not
// the last argument (flags after it).
func runMountAt(t *testing.T, mnt string, args ...string) *syncBuffer {
	t.Helper()
	requireFUSE(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("mailfs %q exited %d, want 0; output:\n%s", args, code, logs)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("mailfs %q did not return 30s after cancel", args)
		}
		if isMounted(t, mnt) {
			t.Errorf("%s is still mounted after the command returned", mnt)
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !isMounted(t, mnt) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("mailfs %q exited %d before mounting; output:\n%s", args, code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not mounted after 20s; output:\n%s", mnt, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return logs
}

// writeConfig writes a config file into a fresh temp dir, mode 0600.
func writeConfig(t *testing.T, format string, args ...any) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(format, args...)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// eventually polls cond every 50ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
