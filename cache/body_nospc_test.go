package cache

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/tmpfs"
)

// tempFiles returns the cache's temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestBodyFetchOnFullDisk fetches a body into a cache on a full disk: the
// read fails with ENOSPC (which fs.Errno passes on), no temporary file or
// partial body is left, the server is not marked unreachable, every body
// cached before reads back exactly, and once space is freed the metadata
// database still works (a relist and a restart) and the body is fetched.
func TestBodyFetchOnFullDisk(t *testing.T) {
	disk := tmpfs.Mount(t, "2m")
	e := &env{t: t, dir: filepath.Join(disk, "cache"), clock: newClock(), log: &logRecorder{}, store: newFakeStore()}
	e.opts = Options{Now: e.clock.Now}
	e.open()
	e.store.create("INBOX")
	var small []uint32
	for _, s := range []string{"one", "two", "three"} {
		small = append(small, e.store.add("INBOX", s))
	}
	l := e.list("INBOX", 0)
	want := map[uint32][]byte{}
	for _, uid := range small {
		want[uid] = e.read("INBOX", l.UIDValidity, uid)
		if !bytes.Equal(want[uid], e.store.body("INBOX", uid)) {
			t.Fatalf("body %d: got %q, want %q", uid, want[uid], e.store.body("INBOX", uid))
		}
	}

	// Added after the first reads, so that their read-ahead did not fetch it.
	big := e.store.add("INBOX", "big")
	setBody(e.store, "INBOX", big, bytes.Repeat([]byte("0123456789abcdef\r\n"), 64<<10)) // 1.1 MiB
	e.clock.Advance(time.Hour)
	l = e.list("INBOX", 0)
	wantUIDs(t, l, append(small, big)...)

	filler := tmpfs.Fill(t, disk, 0)
	f, err := e.a.Open(context.Background(), "INBOX", l.UIDValidity, big)
	if err == nil {
		f.Close()
		t.Fatal("Open of a body on a full disk succeeded")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Open on a full disk: got %v, want an error wrapping ENOSPC", err)
	}
	if down, _ := e.a.down(); down {
		t.Error("a full disk marked the server unreachable")
	}
	if tmp := tempFiles(t, e.dir); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if e.bodyExists("INBOX", l.UIDValidity, big) {
		t.Error("a partial body was committed")
	}
	for _, uid := range small {
		if got := e.read("INBOX", l.UIDValidity, uid); !bytes.Equal(got, want[uid]) {
			t.Errorf("body %d cached before the disk filled: got %q, want %q", uid, got, want[uid])
		}
	}
	// Much new mail while the disk is full: the database must grow, so the
	// listing may fail, but must not damage it.
	var late []uint32
	for range 3000 {
		late = append(late, e.store.add("INBOX", "late"))
	}
	e.clock.Advance(time.Hour)
	_, lerr := e.a.List(context.Background(), "INBOX", 0)
	t.Logf("List on a full disk: %v", lerr)
	if err := lerr; err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("List on a full disk: got %v, want nil or ENOSPC", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	l = e.list("INBOX", 0)
	all := append(append(small, big), late...)
	wantUIDs(t, l, all...)
	if got := e.read("INBOX", l.UIDValidity, big); !bytes.Equal(got, e.store.body("INBOX", big)) {
		t.Errorf("big body after freeing space: got %d bytes, want %d", len(got), len(e.store.body("INBOX", big)))
	}
	e.reopen()
	l = e.list("INBOX", time.Hour)
	wantUIDs(t, l, all...)
	for _, uid := range append(append(small, big), late[:10]...) {
		if got := e.read("INBOX", l.UIDValidity, uid); !bytes.Equal(got, e.store.body("INBOX", uid)) {
			t.Errorf("body %d after restart: got %d bytes, want %d", uid, len(got), len(e.store.body("INBOX", uid)))
		}
	}
}

// setBody replaces the body of message uid of the fake store.
func setBody(f *fakeStore, mbox string, uid uint32, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.boxes[mbox].msgs {
		if m.info.UID == uid {
			m.body = body
			m.info.Size = int64(len(body))
		}
	}
}
