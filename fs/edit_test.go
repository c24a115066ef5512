package fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"mailfs/cache/pop3store"
	"mailfs/remote"
)

// fakeDrop is a POP3 maildrop for a pop3store.Store: a fixed list of
// messages, never deleted.
type fakeDrop struct {
	msgs []remote.DropMessage
	body map[string]string // by UID
}

func newFakeDrop(bodies ...string) *fakeDrop {
	d := &fakeDrop{body: make(map[string]string)}
	for i, b := range bodies {
		uid := fmt.Sprintf("uidl-%d", i+1)
		d.msgs = append(d.msgs, remote.DropMessage{Number: i + 1, UID: uid, Size: int64(len(b))})
		d.body[uid] = b
	}
	return d
}

func (d *fakeDrop) Connect(ctx context.Context) (remote.DropSession, error) {
	return fakeDropSession{d}, nil
}

type fakeDropSession struct{ d *fakeDrop }

func (s fakeDropSession) List(ctx context.Context) ([]remote.DropMessage, error) {
	return slices.Clone(s.d.msgs), nil
}

func (s fakeDropSession) Retrieve(ctx context.Context, n int, w io.Writer) (int64, error) {
	if n < 1 || n > len(s.d.msgs) {
		return 0, fmt.Errorf("no message %d: %w", n, remote.ErrRefused)
	}
	k, err := io.Copy(w, strings.NewReader(s.d.body[s.d.msgs[n-1].UID]))
	return k, err
}

func (s fakeDropSession) Delete(ctx context.Context, n int) error { return nil }
func (s fakeDropSession) Quit(ctx context.Context) error          { return nil }
func (s fakeDropSession) Close() error                            { return nil }

// pop3Test opens a POP3 store over a fake maildrop with two messages,
// downloads them, and mounts it as account "pop".
func pop3Test(t *testing.T) (string, *pop3store.Store) {
	t.Helper()
	store := twoMessageStore(t)
	mnt := mountTest(t, []Account{{Name: "pop", Source: store}}, &Options{TempDir: t.TempDir()})
	return mnt, store
}

// twoMessageStore opens a POP3 store over a fake maildrop with two messages and
// downloads them.
func twoMessageStore(t *testing.T) *pop3store.Store {
	t.Helper()
	drop := newFakeDrop(
		"From: a@example.org\r\nSubject: first\r\nDate: Fri, 20 Nov 2026 09:15:00 +0900\r\nMessage-ID: <one@example.org>\r\n\r\nOne.\r\n",
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
	return store
}

// only returns the single entry of dir.
func only(t *testing.T, dir string) string {
	t.Helper()
	names := readDirNames(t, dir)
	if len(names) != 1 {
		t.Fatalf("ReadDir(%s) = %q, want one entry", dir, names)
	}
	return names[0]
}

func TestWritableAccount(t *testing.T) {
	mnt, store := pop3Test(t)
	acct := filepath.Join(mnt, "pop")
	inbox := filepath.Join(acct, "INBOX")
	names := readDirNames(t, inbox)
	if len(names) != 2 {
		t.Fatalf("ReadDir(INBOX) = %q, want 2 messages", names)
	}
	for _, d := range []string{"pop", "pop/INBOX"} {
		if fi, err := os.Stat(filepath.Join(mnt, d)); err != nil || fi.Mode() != fs.ModeDir|0o700 {
			t.Errorf("Stat(%s) = %v, %v, want mode %v", d, fi.Mode(), err, fs.ModeDir|0o700)
		}
	}
	first, second := filepath.Join(inbox, names[0]), filepath.Join(inbox, names[1]) // sorted by date

	// Flags.
	if out, err := run(t, "setfattr", "-n", "user.mail.flags", "-v", `\Seen \Flagged`, first); err != nil {
		t.Fatalf("setfattr: %v: %s", err, out)
	}
	out, err := run(t, "getfattr", "-d", "--absolute-names", first)
	if err != nil {
		t.Fatalf("getfattr: %v: %s", err, out)
	}
	for _, want := range []string{`user.mail.flags="\\Flagged \\Seen"`, `user.mail.uid="`, `user.mail.message-id="one@example.org"`} {
		if !strings.Contains(out, want) {
			t.Errorf("getfattr -d = %q, want it to contain %q", out, want)
		}
	}
	if out, err := run(t, "setfattr", "-n", "user.mail.uid", "-v", "7", first); err == nil || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("setfattr user.mail.uid = %q, %v, want EPERM", out, err)
	}

	// mkdir, nested too.
	for _, d := range []string{"Archive", "Archive/2024"} {
		if err := os.Mkdir(filepath.Join(acct, d), 0o700); err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	if err := os.Mkdir(filepath.Join(acct, "Archive"), 0o700); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("second mkdir error = %v, want EEXIST", err)
	}
	if got := readDirNames(t, acct); !slices.Equal(got, []string{"Archive/", "INBOX/"}) {
		t.Errorf("ReadDir(pop) = %q", got)
	}

	// mv a message into another folder: it takes its new number's name.
	if out, err := run(t, "mv", first, filepath.Join(acct, "Archive")+"/"); err != nil {
		t.Fatalf("mv: %v: %s", err, out)
	}
	if got := readDirNames(t, inbox); !slices.Equal(got, []string{filepath.Base(second)}) {
		t.Errorf("ReadDir(INBOX) after mv = %q", got)
	}
	got := readDirNames(t, filepath.Join(acct, "Archive"))
	if len(got) != 2 || got[0] != "2024/" {
		t.Fatalf("ReadDir(Archive) = %q, want 2024/ and the message", got)
	}
	moved := got[1]
	if want := "2026-11-20_0915_first_1.eml"; moved != want {
		t.Errorf("moved message is %q, want %q", moved, want)
	}
	if flags, err := store.Flags("Archive", 1); err != nil || !slices.Equal(flags, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("flags after mv = %q, %v", flags, err)
	}
	if err := os.Rename(second, filepath.Join(inbox, "renamed.eml")); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rename within a folder error = %v, want EPERM", err)
	}

	// rmdir of a folder that is not empty.
	if err := os.Remove(filepath.Join(acct, "Archive")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir Archive error = %v, want ENOTEMPTY", err)
	}
	if err := os.Remove(filepath.Join(acct, "Archive/2024")); err != nil {
		t.Errorf("rmdir Archive/2024: %v", err)
	}

	// mv DIR: the moved directory works at once under its new name.
	archive := filepath.Join(acct, "Archive")
	if _, err := os.ReadFile(filepath.Join(archive, moved)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(archive, filepath.Join(acct, "Old")); err != nil {
		t.Fatalf("rename Archive Old: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(acct, "Old", moved))
	if err != nil || !strings.Contains(string(b), "One.") {
		t.Errorf("ReadFile(Old/%s) = %q, %v", moved, b, err)
	}
	if got := readDirNames(t, acct); !slices.Equal(got, []string{"INBOX/", "Old/"}) {
		t.Errorf("ReadDir(pop) after rename = %q", got)
	}

	// cp into a folder: a valid message is appended, an invalid one is
	// refused at close.
	old := filepath.Join(acct, "Old")
	src := writeTemp(t, "new.eml", "From: c@example.org\r\nSubject: copied\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n\r\nThree.\r\n")
	if out, err := run(t, "cp", src, old+"/"); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	got = readDirNames(t, old)
	if !slices.Contains(got, "2026-11-22_0800_copied_2.eml") || len(got) != 2 {
		t.Errorf("ReadDir(Old) after cp = %q", got)
	}
	bad := writeTemp(t, "bad.eml", "this is not a message\x00\n")
	if out, err := run(t, "cp", bad, old+"/"); err == nil || !strings.Contains(out, "Invalid argument") {
		t.Errorf("cp of an invalid message = %q, %v, want Invalid argument", out, err)
	}
	if got := readDirNames(t, old); len(got) != 2 {
		t.Errorf("ReadDir(Old) after invalid cp = %q, want 2 messages", got)
	}

	// rm, then ls at once.
	if err := os.Remove(filepath.Join(old, moved)); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if got := readDirNames(t, old); !slices.Equal(got, []string{"2026-11-22_0800_copied_2.eml"}) {
		t.Errorf("ReadDir(Old) after rm = %q", got)
	}
	if l, err := store.List(context.Background(), "Old", 0); err != nil || len(l.Messages) != 1 {
		t.Errorf("store listing after rm = %v, %v, want 1 message", l, err)
	}
	// A folder that is not there.
	if err := os.Remove(filepath.Join(acct, "Empty")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rmdir of a missing folder error = %v, want ENOENT", err)
	}
}

// TestCopyBetweenAccounts checks that mv to another account answers EXDEV,
// so that mv copies (an append) and removes.
func TestCopyBetweenAccounts(t *testing.T) {
	drop := newFakeDrop("From: a@example.org\r\nSubject: travels\r\n\r\nBody.\r\n")
	store, err := pop3store.Open(&pop3store.Options{Dir: t.TempDir(), Account: "pop", Downloader: drop, LeaveOnServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	store2, err := pop3store.Open(&pop3store.Options{Dir: t.TempDir(), Account: "pop2", Downloader: newFakeDrop(), LeaveOnServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store2.Close() })
	mnt := mountTest(t, []Account{{Name: "pop", Source: store}, {Name: "pop2", Source: store2}}, nil)
	name := only(t, filepath.Join(mnt, "pop/INBOX"))
	if err := os.Rename(filepath.Join(mnt, "pop/INBOX", name), filepath.Join(mnt, "pop2/INBOX", name)); !errors.Is(err, syscall.EXDEV) {
		t.Errorf("rename across accounts error = %v, want EXDEV", err)
	}
	if out, err := run(t, "mv", filepath.Join(mnt, "pop/INBOX", name), filepath.Join(mnt, "pop2/INBOX")+"/"); err != nil {
		t.Fatalf("mv across accounts: %v: %s", err, out)
	}
	if got := readDirNames(t, filepath.Join(mnt, "pop/INBOX")); len(got) != 0 {
		t.Errorf("ReadDir(pop/INBOX) after mv = %q, want nothing", got)
	}
	b, err := os.ReadFile(filepath.Join(mnt, "pop2/INBOX", only(t, filepath.Join(mnt, "pop2/INBOX"))))
	if err != nil || !bytes.Contains(b, []byte("Subject: travels")) {
		t.Errorf("ReadFile(moved) = %q, %v", b, err)
	}
}

func TestReadOnlyAccount(t *testing.T) {
	work := workAccount(t)
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, nil)
	p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
	if err := os.Remove(p); !errors.Is(err, syscall.EACCES) {
		t.Errorf("rm error = %v, want EACCES", err)
	}
	if err := os.Rename(p, filepath.Join(mnt, "work/Archive/2024/x.eml")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("mv error = %v, want EACCES", err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "work/New"), 0o700); !errors.Is(err, syscall.EACCES) {
		t.Errorf("mkdir error = %v, want EACCES", err)
	}
	if err := os.Remove(filepath.Join(mnt, "work/보관함")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("rmdir error = %v, want EACCES", err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "work/INBOX/new.eml"), []byte("Subject: x\r\n\r\n"), 0o600); !errors.Is(err, syscall.EACCES) {
		t.Errorf("create error = %v, want EACCES", err)
	}
	if out, err := run(t, "setfattr", "-n", "user.mail.flags", "-v", `\Seen`, p); err == nil || !strings.Contains(out, "Operation not supported") {
		t.Errorf("setfattr = %q, %v, want ENOTSUP", out, err)
	}
	out, err := run(t, "getfattr", "-d", "--absolute-names", p)
	if err != nil || !strings.Contains(out, `user.mail.flags=""`) || !strings.Contains(out, `user.mail.uid="4711"`) {
		t.Errorf("getfattr -d = %q, %v", out, err)
	}
	// The root and the account directories stay.
	if err := os.Remove(filepath.Join(mnt, "work")); !errors.Is(err, syscall.EPERM) {
		t.Errorf("rmdir of an account error = %v, want EPERM", err)
	}
	if fi, err := os.Stat(filepath.Join(mnt, "work/INBOX")); err != nil || fi.Mode() != fs.ModeDir|0o500 {
		t.Errorf("Stat(INBOX) = %v, %v, want mode dr-x------", fi.Mode(), err)
	}
	if got := readDirNames(t, mnt); !slices.Equal(got, []string{"work/"}) {
		t.Errorf("ReadDir(root) = %q", got)
	}
}
