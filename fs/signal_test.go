package fs

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailfs/internal/sigstorm"
	"mailfs/remote"
)

// TestSignalsNeverFail reads a cold account behind a slow server (150 ms
// per mailbox list, listing and body) with raw system calls from a thread
// that gets SIGALRM, SIGCHLD and SIGURG every millisecond: every LOOKUP,
// READDIR, OPEN and READ is interrupted by the kernel many times over, and
// each must still succeed with every byte. Programs do not retry EINTR.
func TestSignalsNeverFail(t *testing.T) {
	const delay = 150 * time.Millisecond
	src := newFakeSource(t,
		remote.Mailbox{Name: "INBOX", Delim: '/'},
		remote.Mailbox{Name: "Archive", Delim: '/', Attrs: []string{`\Noselect`}},
		remote.Mailbox{Name: "Archive/2024", Delim: '/'},
	)
	want := make(map[string]string)
	add := func(mailbox string, uid uint32, size int) {
		body := fmt.Sprintf("Subject: message %d\r\n\r\n", uid)
		body += strings.Repeat(fmt.Sprintf("line %d of %s\r\n", uid, mailbox), size/20)
		info := src.add(mailbox, uid, fmt.Sprintf("message %d", uid), date1, body, -1)
		want[path.Join(mailbox, FileName(info, StyleDescriptive))] = body
	}
	for uid := uint32(1); uid <= 4; uid++ {
		add("INBOX", uid, int(uid)*30_000) // several READs each
	}
	for uid := uint32(10); uid <= 12; uid++ {
		add("Archive/2024", uid, 500)
	}
	src.setDelay(delay)
	mnt := mountTest(t, []Account{{Name: "work", Source: src}}, nil)

	// A folder never listed: the walk to it is a LOOKUP of INBOX, then a
	// READDIR, LOOKUPs, OPENs and READs, all while signals arrive.
	start := time.Now()
	got, err := sigstorm.ReadTree(filepath.Join(mnt, "work/INBOX"), time.Millisecond)
	if err != nil {
		t.Fatalf("ReadTree(work/INBOX): %v", err)
	}
	checkTree(t, got, want, "INBOX/")
	// The rest of the account, also never listed: READDIR of the account
	// and of Archive, LOOKUP of Archive and 2024.
	got, err = sigstorm.ReadTree(filepath.Join(mnt, "work"), time.Millisecond)
	if err != nil {
		t.Fatalf("ReadTree(work): %v", err)
	}
	checkTree(t, got, want, "")
	if elapsed := time.Since(start); elapsed < 10*delay {
		t.Errorf("the walks took %v, want at least %v: the Source was not slow", elapsed, 10*delay)
	}
}

// checkTree compares files read under a directory with want, whose keys
// are below it by prefix.
func checkTree(t *testing.T, got map[string][]byte, want map[string]string, prefix string) {
	t.Helper()
	n := 0
	for name, body := range want {
		rel, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		n++
		if b, ok := got[rel]; !ok {
			t.Errorf("%s: not read", name)
		} else if string(b) != body {
			t.Errorf("%s: read %d bytes, want %d, exact", name, len(b), len(body))
		}
	}
	if len(got) != n {
		t.Errorf("read %d files, want %d", len(got), n)
	}
}
