package fs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/remote"
)

// soon polls cond every 10 ms until it holds, and fails the test when it
// does not within a second.
func soon(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s: not within 1s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatchAdded checks that a message the server reports as new shows at
// once under a name the kernel had cached as missing.
func TestWatchAdded(t *testing.T) {
	src := newWatchedFake(workAccount(t))
	mnt := mountTest(t, []Account{{Name: "work", Source: src}}, nil)
	if negativeTimeout < 500*time.Millisecond {
		t.Fatalf("negativeTimeout = %v: too short for this test to tell a notification from an expired entry", negativeTimeout)
	}
	dir := filepath.Join(mnt, "work/INBOX")
	readDirNames(t, dir)
	info := remote.MessageInfo{UID: 4800, Size: 5, InternalDate: date1, Subject: "new"}
	p := filepath.Join(dir, FileName(info, StyleDescriptive))
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat before delivery: %v, want ENOENT", err)
	}
	negative := time.Now() // the kernel keeps the negative entry from here

	info = src.add("INBOX", 4800, "new", date1, "hello", -1)
	src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Added: []remote.MessageInfo{info}})
	soon(t, "Stat of the new message", func() bool { _, err := os.Stat(p); return err == nil })
	if d := time.Since(negative); d >= negativeTimeout {
		t.Fatalf("new message seen %v after the failed lookup, want before the negative entry (%v) expired", d, negativeTimeout)
	}
	if names := readDirNames(t, dir); !slices.Contains(names, filepath.Base(p)) {
		t.Errorf("ReadDir = %q, want it to hold %q", names, filepath.Base(p))
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "hello" {
		t.Errorf("ReadFile = %q, %v, want %q", b, err, "hello")
	}
}

// TestWatchRemoved checks that a message the server expunged is gone at
// once (its entry was cached for an hour), while descriptors opened before
// still read all of it: one opened first, and one opened after the
// message had been opened once, without reading (no pages in the kernel).
func TestWatchRemoved(t *testing.T) {
	src := newWatchedFake(workAccount(t))
	big := strings.Repeat("0123456789abcdef", 300_000/16) // many READs
	bigInfo := src.add("INBOX", 4800, "big", date1, big, -1)
	mnt := mountTest(t, []Account{{Name: "work", Source: src}}, nil)
	dir := filepath.Join(mnt, "work/INBOX")
	pSmall := filepath.Join(dir, "2026-11-20_0915_Quarterly-report_4711.eml")
	pBig := filepath.Join(dir, FileName(bigInfo, StyleDescriptive))
	for _, p := range []string{pSmall, pBig} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
	small, err := os.Open(pSmall) // the first open: the body is opened
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	f, err := os.Open(pBig)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	later, err := os.Open(pBig) // a later open of the same message
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()

	removed := []remote.MessageInfo{src.expunge(t, "INBOX", 4711), src.expunge(t, "INBOX", 4800)}
	src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Removed: removed})
	for _, p := range []string{pSmall, pBig} {
		soon(t, "ENOENT for "+filepath.Base(p), func() bool {
			_, err := os.Stat(p)
			return errors.Is(err, fs.ErrNotExist)
		})
	}
	if names := readDirNames(t, dir); !slices.Equal(names, []string{"2025-01-02_2359_회의_4712.eml"}) {
		t.Errorf("ReadDir = %q, want only 4712", names)
	}
	for _, tt := range []struct {
		f    *os.File
		want string
	}{
		{small, "Subject: Quarterly report\r\n\r\nNumbers.\r\n"},
		{later, big},
	} {
		b, err := io.ReadAll(tt.f)
		if err != nil || string(b) != tt.want {
			t.Errorf("reading %s after the expunge: %d bytes, %v, want %d bytes", filepath.Base(tt.f.Name()), len(b), err, len(tt.want))
		}
	}
}

// TestReopenWithoutBody checks that a message read before opens even when
// the Source cannot open its body now (server down, body evicted): the
// kernel has its pages.
func TestReopenWithoutBody(t *testing.T) {
	src := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: src}}, nil)
	p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
	want := "Subject: Quarterly report\r\n\r\nNumbers.\r\n"
	if b, err := os.ReadFile(p); err != nil || string(b) != want {
		t.Fatalf("ReadFile = %q, %v, want %q", b, err, want)
	}
	src.setOpenErr(fmt.Errorf("fetch: %w", remote.ErrUnavailable))
	if b, err := os.ReadFile(p); err != nil || string(b) != want {
		t.Errorf("ReadFile with the Source failing = %q, %v, want %q", b, err, want)
	}
}

// TestWatchFlagged checks that flags changed on the server show in
// user.mail.flags at once.
func TestWatchFlagged(t *testing.T) {
	src := newWatchedFake(workAccount(t))
	mnt := mountTest(t, []Account{{Name: "work", Source: src}}, nil)
	p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
	getFlags := func() string {
		t.Helper()
		buf := make([]byte, 256)
		n, err := syscall.Getxattr(p, xattrFlags, buf)
		if err != nil {
			t.Fatalf("Getxattr: %v", err)
		}
		return string(buf[:n])
	}
	if got := getFlags(); got != "" {
		t.Fatalf("flags before = %q, want none", got)
	}
	info := src.setServerFlags(t, "INBOX", 4711, `\Seen`, `\Flagged`)
	src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Flagged: []remote.MessageInfo{info}})
	if got, want := getFlags(), `\Seen \Flagged`; got != want {
		t.Errorf("flags after = %q, want %q", got, want)
	}
}

// newMailCall is one call of Options.OnNewMail.
type newMailCall struct {
	account string
	paths   []string
}

// TestWatchOnNewMail checks the paths OnNewMail gets: the names the mount
// shows for a nested mailbox never looked up, a level with "/" under the
// delimiter ".", and a level whose name collides; and that a new
// UIDVALIDITY reports nothing.
func TestWatchOnNewMail(t *testing.T) {
	work := newWatchedFake(workAccount(t))
	other := newWatchedFake(newFakeSource(t,
		remote.Mailbox{Name: "INBOX", Delim: '.'},
		remote.Mailbox{Name: "INBOX.a/b", Delim: '.'},
		remote.Mailbox{Name: "x\ty", Delim: '.'},
		remote.Mailbox{Name: "x␉y", Delim: '.'},
	))
	calls := make(chan newMailCall, 16)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}, {Name: "other", Source: other}}, &Options{
		OnNewMail: func(account string, paths []string) { calls <- newMailCall{account, slices.Clone(paths)} },
	})
	next := func() newMailCall {
		t.Helper()
		select {
		case c := <-calls:
			return c
		case <-time.After(time.Second):
			t.Fatal("OnNewMail not called within 1s")
		}
		return newMailCall{}
	}
	check := func(want newMailCall) {
		t.Helper()
		got := next()
		if got.account != want.account || !slices.Equal(got.paths, want.paths) {
			t.Errorf("OnNewMail(%q, %q), want (%q, %q)", got.account, got.paths, want.account, want.paths)
		}
		for _, p := range got.paths {
			if _, err := os.Stat(filepath.Join(mnt, p)); err != nil {
				t.Errorf("Stat of a reported path: %v", err)
			}
		}
	}
	added := func(src *watchedFake, mailbox string, uids ...uint32) remote.Change {
		ch := remote.Change{Mailbox: mailbox, UIDValidity: fakeUIDValidity}
		for _, uid := range uids {
			ch.Added = append(ch.Added, src.add(mailbox, uid, "new", date1, "x", -1))
		}
		return ch
	}

	// A new UIDVALIDITY: nothing, so the first call is for what follows.
	reset := remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Reset: true}
	l, err := work.List(t.Context(), "INBOX", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	reset.Removed, reset.Added = l.Messages, l.Messages
	work.publish(t, reset)

	// Archive/2024: nobody looked at work/ yet.
	work.publish(t, added(work, "Archive/2024", 10, 11))
	check(newMailCall{"work", []string{
		"work/Archive/2024/2026-11-20_0915_new_10.eml",
		"work/Archive/2024/2026-11-20_0915_new_11.eml",
	}})
	other.publish(t, added(other, "INBOX.a/b", 7))
	check(newMailCall{"other", []string{"other/INBOX/a∕b/2026-11-20_0915_new_7.eml"}})
	other.publish(t, added(other, "x\ty", 8))
	check(newMailCall{"other", []string{"other/" + shownName("x\ty") + "/2026-11-20_0915_new_8.eml"}})
	if got := readDirNames(t, filepath.Join(mnt, "other")); !slices.Contains(got, shownName("x\ty")+"/") {
		t.Errorf("ReadDir(other) = %q, want it to hold %q", got, shownName("x\ty")+"/")
	}
	select {
	case c := <-calls:
		t.Errorf("unexpected OnNewMail(%q, %q)", c.account, c.paths)
	default:
	}
}

// TestWatchOrder checks that the Source's callback returns while
// OnNewMail is busy, and that the changes of an account are reported one
// at a time, in order.
func TestWatchOrder(t *testing.T) {
	src := newWatchedFake(workAccount(t))
	release := make(chan struct{})
	calls := make(chan []string, 16)
	var busy atomic.Int32
	mountTest(t, []Account{{Name: "work", Source: src}}, &Options{
		OnNewMail: func(account string, paths []string) {
			if busy.Add(1) != 1 {
				t.Errorf("OnNewMail called concurrently")
			}
			<-release
			busy.Add(-1)
			calls <- slices.Clone(paths)
		},
	})
	// Should publishing wait for OnNewMail, OnNewMail returns after 1s.
	unblock := time.AfterFunc(time.Second, func() { close(release) })
	for uid := uint32(20); uid < 25; uid++ {
		info := src.add("INBOX", uid, "new", date1, "x", -1)
		src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Added: []remote.MessageInfo{info}})
	}
	if !unblock.Stop() {
		t.Fatal("publishing waited for OnNewMail")
	}
	close(release)
	for uid := 20; uid < 25; uid++ {
		select {
		case got := <-calls:
			if want := fmt.Sprintf("work/INBOX/2026-11-20_0915_new_%d.eml", uid); !slices.Equal(got, []string{want}) {
				t.Errorf("OnNewMail paths = %q, want [%q]", got, want)
			}
		case <-time.After(time.Second):
			t.Fatalf("OnNewMail for UID %d not called within 1s", uid)
		}
	}
}

func TestNewMailPaths(t *testing.T) {
	msg := remote.MessageInfo{UID: 9, InternalDate: date1, Subject: "hi"}
	name := FileName(msg, StyleDescriptive)
	mboxes := []remote.Mailbox{
		{Name: "INBOX", Delim: '/'},
		{Name: "INBOX/" + name, Delim: '/'}, // a folder named like the message
		{Name: "Archive", Delim: '/', Attrs: []string{`\Noselect`}},
		{Name: "Archive/2024", Delim: '/'},
		{Name: "a//b", Delim: '/'},
		{Name: "x\ty", Delim: '/'},
		{Name: "x␉y", Delim: '/'},
		{Name: "flat", Delim: 0},
	}
	tests := []struct {
		mailbox string
		want    []string
	}{
		{"Archive/2024", []string{"work/Archive/2024/" + name}},
		{"x\ty", []string{"work/" + shownName("x\ty") + "/" + name}},
		{"x␉y", []string{"work/x␉y/" + name}},
		{"flat", []string{"work/flat/" + name}},
		{"INBOX", nil},   // shadowed by the folder of the same name
		{"Archive", nil}, // not selectable
		{"a//b", nil},    // an empty level: not shown
		{"gone", nil},    // not in the list
	}
	for _, tt := range tests {
		ch := remote.Change{Mailbox: tt.mailbox, UIDValidity: 1, Added: []remote.MessageInfo{msg}}
		if got := newMailPaths("work", mboxes, ch, StyleDescriptive); !slices.Equal(got, tt.want) {
			t.Errorf("newMailPaths(%q) = %q, want %q", tt.mailbox, got, tt.want)
		}
	}
}

// TestWatchFolders checks which directories a change is told to: those of
// the mailbox that the kernel looked up, none for one it never did, and
// that applying a change to a tree whose mount is gone does not panic.
func TestWatchFolders(t *testing.T) {
	src := workAccount(t)
	st, err := newMountState(nil)
	if err != nil {
		t.Fatal(err)
	}
	root := &rootNode{st: st, accounts: []*account{{name: "work", src: src, st: st, md: newMaildirState()}}}
	raw := gofs.NewNodeFS(root, &gofs.Options{})
	lookup := func(parent uint64, name string) uint64 {
		t.Helper()
		var out fuse.EntryOut
		if s := raw.Lookup(nil, &fuse.InHeader{NodeId: parent}, name, &out); !s.Ok() {
			t.Fatalf("Lookup(%q): %v", name, s)
		}
		return out.NodeId
	}
	acct := lookup(fuse.FUSE_ROOT_ID, "work")
	lookup(lookup(acct, "INBOX"), "2026-11-20_0915_Quarterly-report_4711.eml")
	lookup(lookup(acct, "a"), "b")
	w := &watcher{acct: root.accounts[0], dir: root.GetChild("work")}

	for _, tt := range []struct {
		mailbox string
		want    []string // mailbox paths of the directories found
	}{
		{"INBOX", []string{"INBOX"}},
		{"a/b", []string{"a/b"}},
		{"a/b/c", nil},
		{"Archive/2024", nil},
		{"nope", nil},
	} {
		var got []string
		for _, d := range w.folders('/', tt.mailbox) {
			got = append(got, strings.Join(d.Operations().(*folderNode).mailboxPath(), "/"))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("folders(%q) = %q, want %q", tt.mailbox, got, tt.want)
		}
	}
	// No server: every notification fails, quietly.
	info := remote.MessageInfo{UID: 4711, Size: 1, InternalDate: date1, Subject: "Quarterly report"}
	w.apply(remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Removed: []remote.MessageInfo{info}}, false)
	w.apply(remote.Change{Mailbox: "Archive/2024", UIDValidity: fakeUIDValidity, Added: []remote.MessageInfo{info}}, false)
}
