package fs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// namesSource is a fakeSource that records the mailbox names it is asked
// for, to prove that the filesystem passes on the server's spelling.
type namesSource struct {
	*fakeSource
	mu    sync.Mutex
	asked []string
}

func (s *namesSource) ask(mailbox string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, mailbox)
}

func (s *namesSource) askedFor() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}

func (s *namesSource) List(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, error) {
	s.ask(mailbox)
	return s.fakeSource.List(ctx, mailbox, maxAge)
}

func (s *namesSource) Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error) {
	s.ask(mailbox)
	return s.fakeSource.Open(ctx, mailbox, uidValidity, uid)
}

// TestOddFolderNames mounts folders whose names are not UTF-8 or hold
// control characters, and one that collides with another's look-alike: ls
// shows look-alikes, every folder lists its own messages and cat reads their
// bytes, and the Source is asked only for the server's exact names.
func TestOddFolderNames(t *testing.T) {
	folders := []struct {
		server, shown string
	}{
		{"caf\xe9", "caf\uFFFD"},
		{"tab\there", "tab\u2409here"},
		{"new\nline", "new\u240Aline"},
		{"esc\x1b[2Jdel\x7f", "esc\u241B[2Jdel\u2421"},
		{"a\tb", "a\u2409b" + hashSuffix("a\tb")}, // collides with the next one
		{"a\u2409b", "a\u2409b"},
		{"Lists/dev\x00", "Lists/dev\u2400"},
	}
	var mboxes []remote.Mailbox
	for _, f := range folders {
		mboxes = append(mboxes, remote.Mailbox{Name: f.server, Delim: '/'})
	}
	src := &namesSource{fakeSource: newFakeSource(t, mboxes...)}
	for i, f := range folders {
		src.add(f.server, uint32(i+1), "in "+f.shown, date1, "Subject: x\r\n\r\nbody of "+f.server+"\r\n", -1)
	}
	mnt := mountTest(t, []Account{{Name: "odd", Source: src}}, nil)

	got := readDirNames(t, filepath.Join(mnt, "odd"))
	want := []string{"Lists/"}
	for _, f := range folders[:len(folders)-1] {
		want = append(want, f.shown+"/")
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ls odd = %q, want %q", got, want)
	}
	for i, f := range folders {
		dir := filepath.Join(mnt, "odd", f.shown)
		entries := readDirNames(t, dir)
		name := FileName(remote.MessageInfo{UID: uint32(i + 1), Subject: "in " + f.shown, InternalDate: date1}, StyleDescriptive)
		if !slices.Equal(entries, []string{name}) {
			t.Errorf("ls %q = %q, want [%q]", f.shown, entries, name)
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, name))
		if want := "Subject: x\r\n\r\nbody of " + f.server + "\r\n"; err != nil || string(body) != want {
			t.Errorf("cat %q/%s = %q, %v; want %q", f.shown, name, body, err, want)
		}
	}
	var servers []string
	for _, f := range folders {
		servers = append(servers, f.server)
	}
	asked := src.askedFor()
	for _, name := range asked {
		if !slices.Contains(servers, name) {
			t.Errorf("the Source was asked for %q, which is not a server name", name)
		}
	}
	for _, s := range servers {
		if !slices.Contains(asked, s) {
			t.Errorf("the Source was never asked for %q", s)
		}
	}
}
