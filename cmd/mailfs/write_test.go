package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/remote/remotetest"
)

// serverView reads an account's state over a connection of its own, not
// through mailfs: the truth the mount is checked against.
type serverView interface {
	Mailboxes() ([]string, error)
	UIDs(mailbox string) ([]uint32, error)
	Body(mailbox string, uid uint32) ([]byte, error)
	Flags(mailbox string) (map[uint32][]string, error)
}

// testMail is a test message in CRLF, as it travels: its Date: is
// 2026-11-16 09:MM +0900 with MM = i.
func testMail(i int, subject string) []byte {
	return fmt.Appendf(nil, "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"+
		"Subject: %s\r\nDate: Mon, 16 Nov 2026 09:%02d:00 +0900\r\nMessage-ID: <w%d@example.org>\r\n\r\nBody of message %d.\r\n",
		subject, i, i, i)
}

// writeDate is the Date: of testMail(i, …).
func writeDate(i int) time.Time {
	return time.Date(2026, 11, 16, 9, i, 0, 0, time.FixedZone("", 9*3600))
}

// writableConfig is a config for one IMAP account "test" on srv with the
// extra [accounts.imap] lines extra.
func writableConfig(t *testing.T, srv *remotetest.IMAP, extra string) string {
	return imapConfigWith(t, srv, srv.Port(), t.TempDir(), extra)
}

// fileOf returns the name of the message file with UID uid in dir.
func fileOf(t *testing.T, dir string, uid uint32) string {
	t.Helper()
	suffix := "_" + strconv.FormatUint(uint64(uid), 10) + ".eml"
	for _, n := range dirNames(t, dir) {
		if strings.HasSuffix(n, suffix) {
			return n
		}
	}
	t.Fatalf("%s lists %v: no file for UID %d", dir, dirNames(t, dir), uid)
	return ""
}

// serverUIDs returns the UIDs of mailbox on the server.
func serverUIDs(t *testing.T, v serverView, mailbox string) []uint32 {
	t.Helper()
	uids, err := v.UIDs(mailbox)
	if err != nil {
		t.Fatalf("server UIDs of %s: %v", mailbox, err)
	}
	return uids
}

// onlyNew returns the UIDs in after but not in before; it fails the test
// unless there is exactly one.
func onlyNew(t *testing.T, before, after []uint32) uint32 {
	t.Helper()
	var added []uint32
	for _, u := range after {
		if !slices.Contains(before, u) {
			added = append(added, u)
		}
	}
	if len(added) != 1 {
		t.Fatalf("UIDs before %v, after %v: want exactly one new", before, after)
	}
	return added[0]
}

// wantBody checks that the server's message uid in mailbox is want, byte
// for byte.
func wantBody(t *testing.T, v serverView, mailbox string, uid uint32, want []byte) {
	t.Helper()
	got, err := v.Body(mailbox, uid)
	if err != nil {
		t.Fatalf("server body %s/%d: %v", mailbox, uid, err)
	}
	if string(got) != string(want) {
		t.Errorf("server body %s/%d:\ngot  %q\nwant %q", mailbox, uid, got, want)
	}
}

// wantErrno checks that err carries errno.
func wantErrno(t *testing.T, what string, err error, errno syscall.Errno) {
	t.Helper()
	if !errors.Is(err, errno) {
		t.Errorf("%s: got %v, want %v", what, err, errno)
	}
}

// allFlags returns the flags of every message of every mailbox.
func allFlags(t *testing.T, v serverView) map[string]map[uint32][]string {
	t.Helper()
	mbs, err := v.Mailboxes()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[uint32][]string{}
	for _, mb := range mbs {
		f, err := v.Flags(mb)
		if err != nil {
			continue // \Noselect
		}
		out[mb] = f
	}
	return out
}

// readEverything reads every file under dir, as grep -r does.
func readEverything(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if _, err := os.ReadFile(p); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading everything under %s: %v", dir, err)
	}
	return n
}

// exerciseWrites runs every command that changes mail through the mount
// at acct (an IMAP account with INBOX holding testMail 1, 2 and 3 as
// UIDs uids, and empty mailboxes Archive and trash) and checks each effect
// on the server through v.
func exerciseWrites(t *testing.T, acct string, v serverView, uids []uint32, trash string) {
	inbox, archive := filepath.Join(acct, "INBOX"), filepath.Join(acct, "Archive")

	t.Run("rm moves to Trash", func(t *testing.T) {
		trashBefore := serverUIDs(t, v, trash)
		name := fileOf(t, inbox, uids[0])
		if err := os.Remove(filepath.Join(inbox, name)); err != nil {
			t.Fatalf("rm: %v", err)
		}
		if slices.Contains(dirNames(t, inbox), name) {
			t.Errorf("ls INBOX after rm still shows %s", name)
		}
		if slices.Contains(serverUIDs(t, v, "INBOX"), uids[0]) {
			t.Errorf("server INBOX still has UID %d", uids[0])
		}
		moved := onlyNew(t, trashBefore, serverUIDs(t, v, trash))
		wantBody(t, v, trash, moved, testMail(1, "Quarterly report"))
		got := mustRead(t, filepath.Join(acct, trash, fileOf(t, filepath.Join(acct, trash), moved)))
		if string(got) != string(testMail(1, "Quarterly report")) {
			t.Errorf("the message read back from Trash differs: %q", got)
		}
	})

	t.Run("mv to a folder", func(t *testing.T) {
		archBefore := serverUIDs(t, v, "Archive")
		name := fileOf(t, inbox, uids[1])
		if err := os.Rename(filepath.Join(inbox, name), filepath.Join(archive, name)); err != nil {
			t.Fatalf("mv: %v", err)
		}
		if slices.Contains(dirNames(t, inbox), name) {
			t.Errorf("ls INBOX after mv still shows %s", name)
		}
		moved := onlyNew(t, archBefore, serverUIDs(t, v, "Archive"))
		if slices.Contains(serverUIDs(t, v, "INBOX"), uids[1]) {
			t.Errorf("server INBOX still has UID %d", uids[1])
		}
		wantBody(t, v, "Archive", moved, testMail(2, "Lunch"))
		got := mustRead(t, filepath.Join(archive, fileOf(t, archive, moved)))
		if string(got) != string(testMail(2, "Lunch")) {
			t.Errorf("the moved message read back differs: %q", got)
		}
	})

	t.Run("cp appends", func(t *testing.T) {
		before := serverUIDs(t, v, "Archive")
		msg := testMail(5, "Uploaded notes")
		if err := os.WriteFile(filepath.Join(archive, "notes.eml"), msg, 0o644); err != nil {
			t.Fatalf("cp: %v", err)
		}
		uid := onlyNew(t, before, serverUIDs(t, v, "Archive"))
		wantBody(t, v, "Archive", uid, msg)
		name := fileOf(t, archive, uid)
		if !strings.Contains(name, "Uploaded-notes") {
			t.Errorf("the uploaded message is called %s, want its canonical name", name)
		}
		st, err := os.Stat(filepath.Join(archive, name))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(writeDate(5)) {
			t.Errorf("mtime (INTERNALDATE) %v, want the Date: %v", st.ModTime(), writeDate(5))
		}
		if got := mustRead(t, filepath.Join(archive, name)); string(got) != string(msg) {
			t.Errorf("the uploaded message read back differs: %q", got)
		}
		if slices.Contains(dirNames(t, archive), "notes.eml") {
			t.Errorf("ls Archive still shows the writer's name notes.eml")
		}

		err = os.WriteFile(filepath.Join(archive, "junk.eml"), []byte("just some words\n"), 0o644)
		wantErrno(t, "cp of a file that is not a message", err, syscall.EINVAL)
		if after := serverUIDs(t, v, "Archive"); len(after) != len(before)+1 {
			t.Errorf("server Archive has %d messages after the refused copy, want %d", len(after), len(before)+1)
		}
	})

	t.Run("flags", func(t *testing.T) {
		p := filepath.Join(inbox, fileOf(t, inbox, uids[2]))
		if err := syscall.Setxattr(p, "user.mail.flags", []byte(`\Seen \Flagged $Label1`), 0); err != nil {
			t.Fatalf("setfattr: %v", err)
		}
		flags, err := v.Flags("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		// Keywords are case-insensitive: the in-process server keeps them
		// in lower case.
		got := slices.Sorted(slices.Values(flags[uids[2]]))
		if want := []string{`$Label1`, `\Flagged`, `\Seen`}; !slices.EqualFunc(got, want, strings.EqualFold) {
			t.Errorf("server flags after setfattr: got %q, want %q", got, want)
		}
		buf := make([]byte, 256)
		n, err := syscall.Getxattr(p, "user.mail.flags", buf)
		if err != nil || !strings.EqualFold(string(buf[:n]), `$Label1 \Flagged \Seen`) {
			t.Errorf("getfattr after setfattr: got %q, %v", buf[:max(n, 0)], err)
		}
		if err := syscall.Removexattr(p, "user.mail.flags"); err != nil {
			t.Fatalf("setfattr -x: %v", err)
		}
		if flags, _ := v.Flags("INBOX"); len(flags[uids[2]]) != 0 {
			t.Errorf("server flags after setfattr -x: got %q, want none", flags[uids[2]])
		}
		err = syscall.Setxattr(p, "user.mail.flags", []byte(`\Recent`), 0)
		wantErrno(t, `setfattr \Recent`, err, syscall.EINVAL)
	})

	t.Run("folders", func(t *testing.T) {
		for _, d := range []string{"New Folder", "보관함", "Archive/2026", "Archive/2026/Q1"} {
			if err := os.Mkdir(filepath.Join(acct, d), 0o755); err != nil {
				t.Fatalf("mkdir %s: %v", d, err)
			}
		}
		mbs, err := v.Mailboxes()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"New Folder", "보관함", "Archive/2026", "Archive/2026/Q1"} {
			if !slices.Contains(mbs, want) {
				t.Errorf("server mailboxes %q lack %q after mkdir", mbs, want)
			}
		}
		if err := os.Rename(filepath.Join(acct, "New Folder"), filepath.Join(acct, "Projects 2027")); err != nil {
			t.Fatalf("mv DIR: %v", err)
		}
		if err := os.Rename(filepath.Join(archive, "2026"), filepath.Join(archive, "2027")); err != nil {
			t.Fatalf("mv nested DIR: %v", err)
		}
		mbs, _ = v.Mailboxes()
		for _, want := range []string{"Projects 2027", "Archive/2027", "Archive/2027/Q1"} {
			if !slices.Contains(mbs, want) {
				t.Errorf("server mailboxes %q lack %q after mv DIR", mbs, want)
			}
		}
		for _, gone := range []string{"New Folder", "Archive/2026", "Archive/2026/Q1"} {
			if slices.Contains(mbs, gone) {
				t.Errorf("server still has %q after mv DIR", gone)
			}
		}
		if names := dirNames(t, filepath.Join(archive, "2027")); !slices.Equal(names, []string{"Q1"}) {
			t.Errorf("ls Archive/2027: got %v, want [Q1]", names)
		}
		wantErrno(t, "rmdir of a folder with messages", syscall.Rmdir(archive), syscall.ENOTEMPTY)
		wantErrno(t, "rmdir of a folder with a sub-folder", syscall.Rmdir(filepath.Join(archive, "2027")), syscall.ENOTEMPTY)
		for _, d := range []string{"Archive/2027/Q1", "Archive/2027", "보관함"} {
			if err := syscall.Rmdir(filepath.Join(acct, d)); err != nil {
				t.Errorf("rmdir %s: %v", d, err)
			}
		}
		mbs, _ = v.Mailboxes()
		for _, gone := range []string{"Archive/2027/Q1", "Archive/2027", "보관함"} {
			if slices.Contains(mbs, gone) {
				t.Errorf("server still has %q after rmdir", gone)
			}
		}
		err = os.Rename(inbox, filepath.Join(acct, "Old INBOX"))
		wantErrno(t, "mv INBOX", err, syscall.EPERM)
		if mbs, _ := v.Mailboxes(); !slices.Contains(mbs, "INBOX") || slices.Contains(mbs, "Old INBOX") {
			t.Errorf("server mailboxes after mv INBOX: %q", mbs)
		}
	})
}

// TestIMAPWrites runs every command that changes mail through the mount
// against the in-process server and checks the server's state over a
// connection of its own; then reading everything leaves every flag as it
// was, with no FETCH on a mailbox selected read-write.
func TestIMAPWrites(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	uids := seedWritable(t, srv)
	mnt := t.TempDir()
	runMount(t, "mount", "-config", writableConfig(t, srv, `  trash_folder = "Trash"`), mnt)
	acct := filepath.Join(mnt, "test")
	exerciseWrites(t, acct, srv, uids, "Trash")

	before := allFlags(t, srv)
	if n := readEverything(t, acct); n < 4 {
		t.Errorf("read %d files, want at least 4", n)
	}
	if after := allFlags(t, srv); !equalAllFlags(before, after) {
		t.Errorf("flags changed by reading:\nbefore %v\nafter  %v", before, after)
	}
	if n := srv.ReadWriteFetches(); n != 0 {
		t.Errorf("%d FETCH commands on a mailbox selected read-write, want 0", n)
	}
	if n := srv.Count("EXPUNGE"); n != 0 {
		t.Errorf("%d plain EXPUNGE commands, want 0", n)
	}
}

// seedWritable gives srv the mailboxes Archive and Trash and INBOX the
// messages testMail 1, 2 and 3, and returns their UIDs.
func seedWritable(t *testing.T, srv *remotetest.IMAP) []uint32 {
	t.Helper()
	for _, mb := range []string{"Archive", "Trash"} {
		if err := srv.CreateMailbox(mb); err != nil {
			t.Fatal(err)
		}
	}
	var uids []uint32
	for i, subject := range []string{"Quarterly report", "Lunch", "Invoice"} {
		uid, err := srv.Append("INBOX", testMail(i+1, subject), nil, writeDate(i+1))
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, uid)
	}
	return uids
}

func equalAllFlags(a, b map[string]map[uint32][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for mb, fa := range a {
		if !equalFlags(fa, b[mb]) {
			return false
		}
	}
	return true
}

// TestIMAPWritesWithoutMove runs rm and mv on a server without MOVE:
// COPY, STORE \Deleted and UID EXPUNGE, never a plain EXPUNGE.
func TestIMAPWritesWithoutMove(t *testing.T) {
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{NoMove: true})
	uids := seedWritable(t, srv)
	mnt := t.TempDir()
	runMount(t, "mount", "-config", writableConfig(t, srv, `  trash_folder = "Trash"`), mnt)
	inbox := filepath.Join(mnt, "test", "INBOX")

	if err := os.Remove(filepath.Join(inbox, fileOf(t, inbox, uids[0]))); err != nil {
		t.Fatalf("rm: %v", err)
	}
	name := fileOf(t, inbox, uids[1])
	if err := os.Rename(filepath.Join(inbox, name), filepath.Join(mnt, "test", "Archive", name)); err != nil {
		t.Fatalf("mv: %v", err)
	}
	if got := serverUIDs(t, srv, "INBOX"); !slices.Equal(got, uids[2:]) {
		t.Errorf("server INBOX: got UIDs %v, want %v", got, uids[2:])
	}
	for mb, want := range map[string][]byte{"Trash": testMail(1, "Quarterly report"), "Archive": testMail(2, "Lunch")} {
		got := serverUIDs(t, srv, mb)
		if len(got) != 1 {
			t.Fatalf("server %s: UIDs %v, want one", mb, got)
		}
		wantBody(t, srv, mb, got[0], want)
	}
	if n := srv.Count("MOVE") + srv.Count("UID MOVE"); n != 0 {
		t.Errorf("%d MOVE commands to a server without MOVE", n)
	}
	if n := srv.Count("EXPUNGE"); n != 0 {
		t.Errorf("%d plain EXPUNGE commands, want 0", n)
	}
	if n := srv.Count("UID EXPUNGE"); n != 2 {
		t.Errorf("%d UID EXPUNGE commands, want 2", n)
	}
}

// TestIMAPWritesWithoutUIDPlus: with MOVE but no UIDPLUS rm still moves to
// Trash, but in Trash (which would need an expunge of one message) and on a
// server with neither MOVE nor UIDPLUS rm and mv fail with ENOTSUP and
// change nothing.
func TestIMAPWritesWithoutUIDPlus(t *testing.T) {
	t.Run("MOVE without UIDPLUS", func(t *testing.T) {
		srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{NoUIDPlus: true})
		uids := seedWritable(t, srv)
		mnt := t.TempDir()
		logs := runMount(t, "mount", "-config", writableConfig(t, srv, `  trash_folder = "Trash"`), mnt)
		inbox, trash := filepath.Join(mnt, "test", "INBOX"), filepath.Join(mnt, "test", "Trash")
		if err := os.Remove(filepath.Join(inbox, fileOf(t, inbox, uids[0]))); err != nil {
			t.Fatalf("rm: %v", err)
		}
		// Without COPYUID the Trash listing is synced at the next ls.
		trashed := serverUIDs(t, srv, "Trash")
		if len(trashed) != 1 {
			t.Fatalf("server Trash: UIDs %v, want one", trashed)
		}
		err := os.Remove(filepath.Join(trash, fileOf(t, trash, trashed[0])))
		wantErrno(t, "rm in Trash without UIDPLUS", err, syscall.ENOTSUP)
		if got := serverUIDs(t, srv, "Trash"); !slices.Equal(got, trashed) {
			t.Errorf("server Trash after the refused rm: %v, want %v", got, trashed)
		}
		if !strings.Contains(logs.String(), "UIDPLUS") {
			t.Errorf("no log line says UIDPLUS is missing:\n%s", logs)
		}
		if n := srv.Count("EXPUNGE"); n != 0 {
			t.Errorf("%d plain EXPUNGE commands, want 0", n)
		}
	})
	t.Run("neither MOVE nor UIDPLUS", func(t *testing.T) {
		srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{Rev1: true})
		uids := seedWritable(t, srv)
		mnt := t.TempDir()
		runMount(t, "mount", "-config", writableConfig(t, srv, `  trash_folder = "Trash"`), mnt)
		inbox := filepath.Join(mnt, "test", "INBOX")
		name := fileOf(t, inbox, uids[0])
		wantErrno(t, "rm", os.Remove(filepath.Join(inbox, name)), syscall.ENOTSUP)
		wantErrno(t, "mv", os.Rename(filepath.Join(inbox, name), filepath.Join(mnt, "test", "Archive", name)), syscall.ENOTSUP)
		if got := serverUIDs(t, srv, "INBOX"); !slices.Equal(got, uids) {
			t.Errorf("server INBOX: got %v, want %v unchanged", got, uids)
		}
		if flags, _ := srv.Flags("INBOX"); len(flags[uids[0]]) != 0 {
			t.Errorf("flags of the message after refused rm/mv: %q, want none", flags[uids[0]])
		}
		for _, cmd := range []string{"EXPUNGE", "UID EXPUNGE", "COPY", "UID COPY", "STORE", "UID STORE"} {
			if n := srv.Count(cmd); n != 0 {
				t.Errorf("%d %s commands, want 0", n, cmd)
			}
		}
		if !slices.Contains(dirNames(t, inbox), name) {
			t.Errorf("ls INBOX lost %s after refused rm/mv", name)
		}
	})
}

// TestIMAPRefusals: a server's NO reaches the command as the errno of its
// kind, and the tree still shows what the server has.
func TestIMAPRefusals(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	uids := seedWritable(t, srv)
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", writableConfig(t, srv, `  trash_folder = "Trash"`), mnt)
	acct := filepath.Join(mnt, "test")
	inbox := filepath.Join(acct, "INBOX")
	name := fileOf(t, inbox, uids[0])

	srv.Refuse("MOVE", "OVERQUOTA", "Quota exceeded (mailbox for user is full)")
	wantErrno(t, "rm over quota", os.Remove(filepath.Join(inbox, name)), syscall.EDQUOT)
	wantErrno(t, "mv over quota", os.Rename(filepath.Join(inbox, name), filepath.Join(acct, "Archive", name)), syscall.EDQUOT)
	srv.Allow("MOVE")
	if !slices.Contains(dirNames(t, inbox), name) {
		t.Errorf("ls INBOX lost %s after a refused rm", name)
	}
	if got := serverUIDs(t, srv, "INBOX"); !slices.Equal(got, uids) {
		t.Errorf("server INBOX: got %v, want %v", got, uids)
	}
	if !strings.Contains(logs.String(), "Quota exceeded") {
		t.Errorf("the log lacks the server's words:\n%s", logs)
	}

	srv.Refuse("CREATE", "NOPERM", "Permission denied")
	wantErrno(t, "mkdir refused", os.Mkdir(filepath.Join(acct, "Nope"), 0o755), syscall.EACCES)
	srv.Allow("CREATE")
	if slices.Contains(dirNames(t, acct), "Nope") {
		t.Errorf("ls shows a folder the server refused to create")
	}

	srv.Refuse("APPEND", "TOOBIG", "Message too large")
	err := os.WriteFile(filepath.Join(acct, "Archive", "big.eml"), testMail(9, "Big"), 0o644)
	wantErrno(t, "cp refused as too big", err, syscall.EFBIG)
	srv.Allow("APPEND")

	srv.Refuse("RENAME", "ALREADYEXISTS", "Mailbox already exists")
	err = os.Rename(filepath.Join(acct, "Archive"), filepath.Join(acct, "Elsewhere"))
	wantErrno(t, "mv DIR refused", err, syscall.EEXIST)
	srv.Allow("RENAME")

	srv.Refuse("STORE", "CANNOT", "Flags cannot be changed here")
	err = syscall.Setxattr(filepath.Join(inbox, name), "user.mail.flags", []byte(`\Flagged`), 0)
	wantErrno(t, "setfattr refused", err, syscall.EACCES)
	srv.Allow("STORE")

	if mbs, _ := srv.Mailboxes(); !slices.Equal(slices.Sorted(slices.Values(mbs)), []string{"Archive", "INBOX", "Trash"}) {
		t.Errorf("server mailboxes after refusals: %q", mbs)
	}
	if got := serverUIDs(t, srv, "Archive"); len(got) != 0 {
		t.Errorf("server Archive after refusals: %v, want empty", got)
	}
}

// TestIMAPMassDeletionGuard: rm -rf over a folder with more messages than
// max_deletes removes max_deletes of them and leaves the rest on the
// server, with one log line naming the key.
func TestIMAPMassDeletionGuard(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seedWritable(t, srv)
	if err := srv.CreateMailbox("Bulk"); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		if _, err := srv.Append("Bulk", testMail(10+i, "Bulk "+strconv.Itoa(i)), nil, writeDate(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", writableConfig(t, srv, "  trash_folder = \"Trash\"\n  max_deletes = 5"), mnt)
	out, err := exec.Command("rm", "-rf", filepath.Join(mnt, "test", "Bulk")).CombinedOutput()
	if err == nil {
		t.Errorf("rm -rf over 12 messages with max_deletes = 5 succeeded; output: %s", out)
	}
	if got := serverUIDs(t, srv, "Bulk"); len(got) != 7 {
		t.Errorf("server Bulk keeps %d messages, want 7", len(got))
	}
	if got := serverUIDs(t, srv, "Trash"); len(got) != 5 {
		t.Errorf("server Trash has %d messages, want 5", len(got))
	}
	if n := countLines(logs.String(), "max_deletes"); n != 1 {
		t.Errorf("%d log lines name max_deletes, want 1:\n%s", n, logs)
	}
	if mbs, _ := srv.Mailboxes(); !slices.Contains(mbs, "Bulk") {
		t.Errorf("rm -rf deleted the folder Bulk, which still holds messages")
	}
}

// TestIMAPRemoveWithoutTrash: with delete = "trash" and no Trash folder, rm
// is refused with EPERM and a log line naming trash_folder; nothing is
// expunged.
func TestIMAPRemoveWithoutTrash(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	uids := seedWritable(t, srv)
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", writableConfig(t, srv, ""), mnt)
	inbox := filepath.Join(mnt, "test", "INBOX")
	wantErrno(t, "rm without Trash", os.Remove(filepath.Join(inbox, fileOf(t, inbox, uids[0]))), syscall.EPERM)
	if got := serverUIDs(t, srv, "INBOX"); !slices.Equal(got, uids) {
		t.Errorf("server INBOX: got %v, want %v", got, uids)
	}
	if !strings.Contains(logs.String(), "trash_folder") {
		t.Errorf("no log line names trash_folder:\n%s", logs)
	}
	if n := srv.Count("UID EXPUNGE") + srv.Count("EXPUNGE"); n != 0 {
		t.Errorf("%d EXPUNGE commands, want 0", n)
	}
}

// TestIMAPRemoveExpunge: with delete = "expunge" rm expunges the one
// message by UID; a message another client marked \Deleted survives.
func TestIMAPRemoveExpunge(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	uids := seedWritable(t, srv)
	if err := srv.SetFlags("INBOX", uids[1], []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	runMount(t, "mount", "-config", writableConfig(t, srv, `  delete = "expunge"`), mnt)
	inbox := filepath.Join(mnt, "test", "INBOX")
	if err := os.Remove(filepath.Join(inbox, fileOf(t, inbox, uids[0]))); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if got := serverUIDs(t, srv, "INBOX"); !slices.Equal(got, uids[1:]) {
		t.Errorf("server INBOX: got %v, want %v (the other \\Deleted message kept)", got, uids[1:])
	}
	if got := serverUIDs(t, srv, "Trash"); len(got) != 0 {
		t.Errorf("server Trash: %v, want empty", got)
	}
	if n := srv.Count("EXPUNGE"); n != 0 {
		t.Errorf("%d plain EXPUNGE commands, want 0", n)
	}
}

// countLines returns the number of lines of s that contain sub.
func countLines(s, sub string) int {
	n := 0
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}
