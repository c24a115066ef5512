// Package tmpfs gives tests a small file system to fill up: a tmpfs
// mounted on a temporary directory, and a way to fill it to the last
// block, for the disk-full tests of the cache, the POP3 store and the
// outbox spool.
package tmpfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (such as "2m") on a new temporary directory
// and unmounts it when the test ends, also when it fails (detaching it if
// busy). It skips the test, saying why, when not root or when tmpfs cannot
// be mounted here.
func Mount(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: a full disk is tested on a small tmpfs, which only root can mount: run the tests as root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		t.Skipf("skipping: mount -t tmpfs -o size=%s: %v (no tmpfs in this sandbox?)", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Logf("unmount %s: %v; detaching it", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// Fill writes a file into dir until no more than leave bytes are free (0:
// until the file system is full) and returns its path; removing it frees
// the space.
func Fill(t testing.TB, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if leave > 0 {
			var st syscall.Statfs_t
			if err := syscall.Statfs(dir, &st); err != nil {
				t.Fatal(err)
			}
			if int64(st.Bavail)*st.Bsize <= leave {
				return path
			}
		}
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: got %v, want ENOSPC in the end", dir, err)
			}
			return path
		}
	}
}
