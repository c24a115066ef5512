package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mfs "mailfs/fs"
	"mailfs/remote/remotetest"
)

// seedFolder appends n sample messages to INBOX, in INTERNALDATE order,
// and returns them by UID.
func seedFolder(t *testing.T, srv *remotetest.IMAP, n int) map[uint32][]byte {
	t.Helper()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	msgs := make(map[uint32][]byte, n)
	for i := range n {
		msg := remotetest.SampleMessage(i)
		uid, err := srv.Append("INBOX", msg, nil, base.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		msgs[uid] = msg
	}
	return msgs
}

// cachedBodies counts the message bodies in the cache directory.
func cachedBodies(t *testing.T, cacheDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(cacheDir, "bodies"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".eml") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk the cache: %v", err)
	}
	return n
}

// TestColdReadsAreBatched reads a cold 500-message folder through the
// mount: one cat fetches that message and a few after it, not the folder;
// grep -r, which reads in readdir order, costs a handful of FETCH
// commands, not one per message; and every file holds the server's bytes.
func TestColdReadsAreBatched(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	msgs := seedFolder(t, srv, 500)
	cacheDir, mnt := t.TempDir(), t.TempDir()
	// No IDLE: its sync at connection would add FETCH commands to the count.
	runMount(t, "mount", "-config", imapConfigWith(t, srv, srv.Port(), cacheDir, "  idle_folders = []"), mnt)
	dir := filepath.Join(mnt, "test", "INBOX")

	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := d.Readdirnames(-1) // the kernel's order, as grep -r sees it
	d.Close()
	if err != nil || len(names) != len(msgs) {
		t.Fatalf("readdir: %d names, %v; want %d", len(names), err, len(msgs))
	}

	// A lone cat.
	fetches := srv.Fetches()
	if _, err := os.ReadFile(filepath.Join(dir, names[250])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // room for read-ahead it should not do
	if got := cachedBodies(t, cacheDir); got < 1 || got > 8 {
		t.Errorf("bodies fetched for one cat in a cold 500-message folder: %d, want 1 to 8", got)
	}
	if got := srv.Fetches() - fetches; got != 1 {
		t.Errorf("FETCH commands for one cat: %d, want 1", got)
	}

	// grep -r over the folder.
	fetches = srv.Fetches()
	out, err := exec.Command("grep", "-r", "-l", "-e", "Subject:", dir).Output()
	if err != nil {
		t.Fatalf("grep -r: %v", err)
	}
	if got := strings.Count(string(out), "\n"); got != len(msgs) {
		t.Errorf("grep -rl found %d files, want %d", got, len(msgs))
	}
	t.Logf("grep -r over %d cold messages: %d FETCH commands", len(msgs), srv.Fetches()-fetches)
	if got := srv.Fetches() - fetches; got > 24 {
		t.Errorf("FETCH commands for grep -r over 500 cold messages: %d, want a few (at most 24)", got)
	}

	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		uid, ok := mfs.ParseUID(name)
		if !ok {
			t.Fatalf("%s: no UID in the name", name)
		}
		if !bytes.Equal(got, msgs[uid]) {
			t.Errorf("%s: %d bytes differ from the server's %d", name, len(got), len(msgs[uid]))
		}
	}
}
