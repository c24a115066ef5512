package fs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/cache/pop3store"
	"mailfs/outbox"
)

// TestReadOnlyRaw calls every change of the read-only filesystem
// directly (the kernel refuses most of them itself on an "ro" mount):
// each answers EROFS, and a read-only open reaches the filesystem below.
func TestReadOnlyRaw(t *testing.T) {
	ro := readOnly{fuse.NewDefaultRawFileSystem()}
	c := make(chan struct{})
	write := func(_ uint32, s fuse.Status) fuse.Status { return s }
	for name, got := range map[string]fuse.Status{
		"open O_WRONLY":   ro.Open(c, &fuse.OpenIn{Flags: syscall.O_WRONLY}, &fuse.OpenOut{}),
		"open O_RDWR":     ro.Open(c, &fuse.OpenIn{Flags: syscall.O_RDWR}, &fuse.OpenOut{}),
		"open O_TRUNC":    ro.Open(c, &fuse.OpenIn{Flags: syscall.O_TRUNC}, &fuse.OpenOut{}),
		"setattr":         ro.SetAttr(c, &fuse.SetAttrIn{}, &fuse.AttrOut{}),
		"mknod":           ro.Mknod(c, &fuse.MknodIn{}, "x", &fuse.EntryOut{}),
		"mkdir":           ro.Mkdir(c, &fuse.MkdirIn{}, "x", &fuse.EntryOut{}),
		"unlink":          ro.Unlink(c, &fuse.InHeader{}, "x"),
		"rmdir":           ro.Rmdir(c, &fuse.InHeader{}, "x"),
		"rename":          ro.Rename(c, &fuse.RenameIn{}, "x", "y"),
		"link":            ro.Link(c, &fuse.LinkIn{}, "x", &fuse.EntryOut{}),
		"symlink":         ro.Symlink(c, &fuse.InHeader{}, "x", "y", &fuse.EntryOut{}),
		"setxattr":        ro.SetXAttr(c, &fuse.SetXAttrIn{}, "user.mail.flags", nil),
		"removexattr":     ro.RemoveXAttr(c, &fuse.InHeader{}, "user.mail.flags"),
		"create":          ro.Create(c, &fuse.CreateIn{}, "x", &fuse.CreateOut{}),
		"write":           write(ro.Write(c, &fuse.WriteIn{}, []byte("x"))),
		"copy_file_range": write(ro.CopyFileRange(c, &fuse.CopyFileRangeIn{})),
		"fallocate":       ro.Fallocate(c, &fuse.FallocateIn{}),
	} {
		if got != fuse.EROFS {
			t.Errorf("%s: got %v, want EROFS", name, got)
		}
	}
	if got := ro.Open(c, &fuse.OpenIn{Flags: syscall.O_RDONLY}, &fuse.OpenOut{}); got == fuse.EROFS {
		t.Errorf("open O_RDONLY: got EROFS, want the filesystem below to answer")
	}
}

// TestReadOnlyMount mounts a writable POP3 store and an outbox with
// ReadOnly: the mail reads, every change fails with EROFS and changes
// nothing, directories are 0500 and there is no outbox/.
func TestReadOnlyMount(t *testing.T) {
	drop := newFakeDrop(
		"From: a@example.org\r\nSubject: first\r\nDate: Fri, 20 Nov 2026 09:15:00 +0900\r\n\r\nOne.\r\n",
		"From: b@example.org\r\nSubject: second\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\n\r\nTwo.\r\n",
	)
	store, err := pop3store.Open(&pop3store.Options{Dir: t.TempDir(), Account: "pop", Downloader: drop, LeaveOnServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // after the unmount
	if err := store.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(&outbox.Options{Dir: t.TempDir(), Accounts: []outbox.Account{{
		Name: "pop", Addresses: []string{"me@example.org"}, Default: true, Sender: &fakeSender{},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	mnt := mountTest(t, []Account{{Name: "pop", Source: store}}, &Options{ReadOnly: true, Outbox: ob, TempDir: t.TempDir()})

	if names := readDirNames(t, mnt); !slices.Equal(names, []string{"pop/"}) {
		t.Errorf("root lists %q, want only [pop/] (no outbox/)", names)
	}
	for _, d := range []string{".", "pop", "pop/INBOX", ".maildir/pop/INBOX", ".maildir/pop/INBOX/new", ".maildir/pop/INBOX/tmp"} {
		fi, err := os.Stat(filepath.Join(mnt, d))
		if err != nil || fi.Mode() != fs.ModeDir|0o500 {
			t.Errorf("stat %s: got %v, %v, want %v", d, fi.Mode(), err, fs.ModeDir|0o500)
		}
	}
	inbox := filepath.Join(mnt, "pop", "INBOX")
	names := readDirNames(t, inbox)
	if len(names) != 2 {
		t.Fatalf("INBOX lists %q, want 2 messages", names)
	}
	first := filepath.Join(inbox, names[0])
	if data, err := os.ReadFile(first); err != nil || len(data) == 0 {
		t.Errorf("read %s: got %d bytes, %v, want the message", names[0], len(data), err)
	}

	mdNew := filepath.Join(mnt, ".maildir/pop/INBOX/new")
	mdNames := readDirNames(t, mdNew)
	if len(mdNames) != 2 {
		t.Fatalf("the Maildir view's new/ lists %q, want 2 messages", mdNames)
	}
	msg := filepath.Join(t.TempDir(), "new.eml")
	if err := os.WriteFile(msg, []byte("Subject: new\r\n\r\nNew.\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func() error{
		"rm":       func() error { return os.Remove(first) },
		"mv":       func() error { return os.Rename(first, filepath.Join(mnt, "pop", "INBOX", "x.eml")) },
		"mkdir":    func() error { return os.Mkdir(filepath.Join(mnt, "pop", "Archive"), 0o700) },
		"rmdir":    func() error { return os.Remove(inbox) },
		"create":   func() error { return os.WriteFile(filepath.Join(inbox, "new.eml"), []byte("x"), 0o600) },
		"write":    func() error { f, err := os.OpenFile(first, os.O_WRONLY, 0); f.Close(); return err },
		"truncate": func() error { return os.Truncate(first, 0) },
		"chmod":    func() error { return os.Chmod(first, 0o600) },
		"setxattr": func() error { return syscall.Setxattr(first, "user.mail.flags", []byte(`\Seen`), 0) },
		"maildir flag rename": func() error {
			return os.Rename(filepath.Join(mdNew, mdNames[0]), filepath.Join(mnt, ".maildir/pop/INBOX/cur", mdNames[0]+"S"))
		},
		"maildir rm":       func() error { return os.Remove(filepath.Join(mdNew, mdNames[0])) },
		"maildir delivery": func() error { return os.WriteFile(filepath.Join(mnt, ".maildir/pop/INBOX/tmp/x"), []byte("x"), 0o600) },
	} {
		if err := change(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s: got %v, want EROFS", name, err)
		}
	}
	if got := readDirNames(t, inbox); !slices.Equal(got, names) {
		t.Errorf("INBOX after the refused changes lists %q, want %q", got, names)
	}
	// Searches and parts only read: they work, but no search can be saved.
	if got := readDirNames(t, filepath.Join(mnt, "pop", ".search", "unread")); len(got) != 2 {
		t.Errorf(".search/unread lists %q, want the 2 messages", got)
	}
	if err := os.Mkdir(filepath.Join(mnt, "pop", ".search", "from:a"), 0o700); !errors.Is(err, syscall.EROFS) {
		t.Errorf("mkdir in .search: %v, want EROFS", err)
	}
	if got := readDirNames(t, first+".d"); !slices.Equal(got, []string{"headers", "text"}) {
		t.Errorf("%s.d lists %q", names[0], got)
	}
	if got := readDirNames(t, mdNew); !slices.Equal(got, mdNames) {
		t.Errorf("new/ after the refused changes lists %q, want %q", got, mdNames)
	}
}
