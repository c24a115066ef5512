package fs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/cache/pop3store"
	"mailfs/remote"
)

func TestMaildirName(t *testing.T) {
	date := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	for _, tt := range []struct {
		flags []string
		want  string
	}{
		{nil, "1795166100.U4711V77.mailfs:2,"},
		{[]string{`\Seen`}, "1795166100.U4711V77.mailfs:2,S"},
		// ASCII order whatever the order and case of the flags; keywords
		// and \Recent have no letter.
		{[]string{`\seen`, `\Deleted`, `$forwarded`, `\Answered`, `\Flagged`, `\Draft`, `$Junk`, `\Recent`}, "1795166100.U4711V77.mailfs:2,DFPRST"},
	} {
		info := remote.MessageInfo{UID: 4711, InternalDate: date, Flags: tt.flags}
		got := maildirName(77, info)
		if got != tt.want {
			t.Errorf("maildirName(%q) = %q, want %q", tt.flags, got, tt.want)
		}
		unique, _, hasInfo := splitMaildirName(got)
		uid, uidValidity, ok := parseMaildirUnique(unique)
		if !hasInfo || !ok || uid != 4711 || uidValidity != 77 {
			t.Errorf("parse %q = %d, %d, %v, %v", got, uid, uidValidity, ok, hasInfo)
		}
	}
	for _, bad := range []string{
		"", "1795166100.U4711V77", "1795166100.U4711V77.other", "1795166100.U04711V77.mailfs",
		"1795166100.U4711.mailfs", "1795166100.UV77.mailfs", "1795166100.U4711V4294967296.mailfs",
		"1795166100.U-1V7.mailfs", "2026-11-20_0915_x_4711.eml", "..U0V0.mailfs", "x.U1V1.mailfs",
	} {
		if uid, v, ok := parseMaildirUnique(bad); ok {
			t.Errorf("parseMaildirUnique(%q) = %d, %d, true, want false", bad, uid, v)
		}
	}
}

func TestMaildirTargetFlags(t *testing.T) {
	cur := []string{`\Seen`, `\Flagged`, `$Label1`, `\Recent`}
	for _, tt := range []struct {
		name    string
		inCur   bool
		info    string
		hasInfo bool
		strict  bool
		want    []string
		wantErr bool
	}{
		{"letters replace the six flags, keywords stay", true, "2,RS", true, true, []string{`$Label1`, `\Answered`, `\Seen`}, false},
		{"no letters clears them", true, "2,", true, true, []string{`$Label1`}, false},
		{"letters in any order, twice", false, "2,SFDS", true, true, []string{`$Label1`, `\Seen`, `\Flagged`, `\Draft`}, false},
		{"P and T", true, "2,PT", true, true, []string{`$Label1`, `$Forwarded`, `\Deleted`}, false},
		{"no info into cur adds \\Seen", true, "", false, true, []string{`$Label1`, `\Flagged`, `\Seen`}, false},
		{"no info into new drops \\Seen", false, "", false, true, []string{`$Label1`, `\Flagged`}, false},
		{"unknown letter refused", true, "2,Sa", true, true, nil, true},
		{"unknown letter ignored for a new file", true, "2,Sa", true, false, []string{`$Label1`, `\Seen`}, false},
		{"experimental info refused", true, "1,xyz", true, true, nil, true},
		{"experimental info ignored for a new file", true, "1,xyz", true, false, []string{`$Label1`}, false},
	} {
		got, err := maildirTargetFlags(cur, tt.inCur, tt.info, tt.hasInfo, tt.strict)
		if (err != nil) != tt.wantErr || !sameFlags(got, tt.want) || len(got) != len(tt.want) {
			t.Errorf("%s: maildirTargetFlags(%q) = %q, %v, want %q (error %v)", tt.name, tt.info, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzMaildirName checks that any name either parses to the UID and
// UIDVALIDITY that give it back, or does not parse, and that flags from
// any info never hold an unknown flag.
func FuzzMaildirName(f *testing.F) {
	f.Add("1795166100.U4711V77.mailfs:2,FS")
	f.Add("1.U1V1.mailfs")
	f.Add(":2,DFPRSTa")
	f.Fuzz(func(t *testing.T, name string) {
		unique, info, hasInfo := splitMaildirName(name)
		if uid, v, ok := parseMaildirUnique(unique); ok {
			prefix, _, _ := strings.Cut(unique, ".")
			again := maildirUnique(v, remote.MessageInfo{UID: uid})
			_, rest, _ := strings.Cut(again, ".")
			if prefix+"."+rest != unique {
				t.Fatalf("unique %q parses to %d, %d, which give %q", unique, uid, v, again)
			}
		}
		flags, err := maildirTargetFlags([]string{`$kw`}, true, info, hasInfo, true)
		if err != nil {
			return
		}
		if _, err := remote.NormalizeFlags(flags); err != nil {
			t.Fatalf("flags %q from info %q: %v", flags, info, err)
		}
	})
}

// maildirTest mounts a POP3 store with two unread messages as "pop" and
// returns the mount, the store and the view's INBOX directory.
func maildirTest(t *testing.T) (string, *pop3store.Store, string) {
	t.Helper()
	mnt, store := pop3Test(t)
	return mnt, store, filepath.Join(mnt, maildirDirName, "pop", "INBOX")
}

// storeFlags returns the store's flags of every message of mailbox, by UID.
func storeFlags(t *testing.T, store *pop3store.Store, mailbox string) map[uint32][]string {
	t.Helper()
	l, err := store.List(context.Background(), mailbox, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[uint32][]string)
	for _, m := range l.Messages {
		out[m.UID] = m.Flags
	}
	return out
}

// uidOf returns the UID a Maildir name carries.
func uidOf(t *testing.T, name string) uint32 {
	t.Helper()
	unique, _, _ := splitMaildirName(filepath.Base(name))
	uid, _, ok := parseMaildirUnique(unique)
	if !ok {
		t.Fatalf("%q is not a name of the view", name)
	}
	return uid
}

func TestMaildirLayout(t *testing.T) {
	mnt, _, inbox := maildirTest(t)
	if got := readDirNames(t, mnt); slices.Contains(got, maildirDirName+"/") {
		t.Errorf("ReadDir(root) = %q: the Maildir view must not be listed", got)
	}
	if got := readDirNames(t, filepath.Join(mnt, maildirDirName)); !slices.Equal(got, []string{"pop/"}) {
		t.Errorf("ReadDir(.maildir) = %q, want [pop/]", got)
	}
	if got := readDirNames(t, inbox); !slices.Equal(got, []string{"cur/", "new/", "tmp/"}) {
		t.Errorf("ReadDir(INBOX) = %q", got)
	}
	if got := readDirNames(t, filepath.Join(inbox, "cur")); len(got) != 0 {
		t.Errorf("cur/ = %q, want empty: nothing is read", got)
	}
	names := readDirNames(t, filepath.Join(inbox, "new"))
	emls := readDirNames(t, filepath.Join(mnt, "pop", "INBOX"))
	if len(names) != 2 || len(emls) != 2 {
		t.Fatalf("new/ = %q, .eml tree = %q, want 2 each", names, emls)
	}
	for i, name := range names {
		if !strings.HasSuffix(name, ".mailfs:2,") {
			t.Errorf("name %q, want UNIQUE.mailfs:2, (no flags)", name)
		}
		md, eml := filepath.Join(inbox, "new", name), filepath.Join(mnt, "pop", "INBOX", emls[i])
		a, errA := os.Stat(md)
		b, errB := os.Stat(eml)
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		sa, sb := a.Sys().(*syscall.Stat_t), b.Sys().(*syscall.Stat_t)
		if sa.Ino != sb.Ino || a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime()) || sa.Nlink != 2 {
			t.Errorf("%s: ino %d size %d mtime %v nlink %d; %s: ino %d size %d mtime %v: want one file with two names",
				name, sa.Ino, a.Size(), a.ModTime(), sa.Nlink, emls[i], sb.Ino, b.Size(), b.ModTime())
		}
		ba, bb := mustReadFile(t, md), mustReadFile(t, eml)
		if !bytes.Equal(ba, bb) {
			t.Errorf("%s and %s differ", name, emls[i])
		}
	}
	// Nothing but messages and tmp/ files can be removed (without its own
	// Unlink and Rmdir, go-fuse would answer success).
	for _, p := range []string{filepath.Join(mnt, maildirDirName, "pop"), filepath.Join(inbox, "cur")} {
		if err := os.Remove(p); !errors.Is(err, syscall.EPERM) {
			t.Errorf("rm/rmdir %s = %v, want EPERM", p, err)
		}
	}
	// Lookups of names the view does not give fail.
	for _, bad := range []string{"x", strings.TrimSuffix(names[0], ",") + ",S", "1.U9V9.mailfs:2,"} {
		if _, err := os.Stat(filepath.Join(inbox, "new", bad)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(new/%s) = %v, want ENOENT", bad, err)
		}
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMaildirFlagRenames renames messages as mail clients do and checks
// the store's flags and where the view shows them.
func TestMaildirFlagRenames(t *testing.T) {
	mnt, store, inbox := maildirTest(t)
	cur, newDir := filepath.Join(inbox, "cur"), filepath.Join(inbox, "new")
	names := readDirNames(t, newDir)
	first, second := names[0], names[1]
	uid1, uid2 := uidOf(t, first), uidOf(t, second)
	unique1, _, _ := splitMaildirName(first)
	unique2, _, _ := splitMaildirName(second)

	// mutt marks read: new/X:2, → cur/X:2,S.
	if err := os.Rename(filepath.Join(newDir, first), filepath.Join(cur, unique1+":2,S")); err != nil {
		t.Fatal(err)
	}
	if got := storeFlags(t, store, "INBOX")[uid1]; !slices.Equal(got, []string{`\Seen`}) {
		t.Errorf("flags after read = %q, want [\\Seen]", got)
	}
	// Flagged, then answered, in place.
	if err := os.Rename(filepath.Join(cur, unique1+":2,S"), filepath.Join(cur, unique1+":2,FS")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(cur, unique1+":2,FS"), filepath.Join(cur, unique1+":2,FRS")); err != nil {
		t.Fatal(err)
	}
	if got := storeFlags(t, store, "INBOX")[uid1]; !sameFlags(got, []string{`\Seen`, `\Flagged`, `\Answered`}) {
		t.Errorf("flags = %q, want \\Answered \\Flagged \\Seen", got)
	}
	// The .eml name reports them, and changing them there renames the
	// Maildir file at once (the kernel had the old name for an hour).
	eml := filepath.Join(mnt, "pop", "INBOX", readDirNames(t, filepath.Join(mnt, "pop", "INBOX"))[0])
	if out, err := run(t, "setfattr", "-n", "user.mail.flags", "-v", `\Flagged`, eml); err != nil {
		t.Fatalf("setfattr: %v: %s", err, out)
	}
	soon(t, "old name gone after setfattr", func() bool {
		_, err := os.Stat(filepath.Join(cur, unique1+":2,FRS"))
		return errors.Is(err, fs.ErrNotExist)
	})
	if _, err := os.Stat(filepath.Join(newDir, unique1+":2,F")); err != nil {
		t.Errorf("Stat of the new name in new/: %v", err)
	}

	// mutt's "old" mail: unread, moved to cur/ with no flags: it stays
	// there, unread on the server.
	if err := os.Rename(filepath.Join(newDir, second), filepath.Join(cur, unique2+":2,")); err != nil {
		t.Fatal(err)
	}
	if got := storeFlags(t, store, "INBOX")[uid2]; len(got) != 0 {
		t.Errorf("flags of the old message = %q, want none", got)
	}
	if got := readDirNames(t, cur); !slices.Contains(got, unique2+":2,") {
		t.Errorf("cur/ = %q, want the old message there", got)
	}
	if got := readDirNames(t, newDir); slices.Contains(got, second) {
		t.Errorf("new/ = %q still lists the old message", got)
	}
	// A name without info moved to cur/ is read (the Maildir convention).
	if err := os.Rename(filepath.Join(cur, unique2+":2,"), filepath.Join(newDir, unique2)); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, newDir); !slices.Contains(got, unique2+":2,") {
		t.Errorf("new/ = %q, want the message back in new/", got)
	}
	if err := os.Rename(filepath.Join(newDir, unique2+":2,"), filepath.Join(cur, unique2)); err != nil {
		t.Fatal(err)
	}
	if got := storeFlags(t, store, "INBOX")[uid2]; !slices.Equal(got, []string{`\Seen`}) {
		t.Errorf("flags after new/X → cur/X = %q, want [\\Seen]", got)
	}

	// Refused: another unique part (EPERM), an unknown letter (EINVAL),
	// into tmp/ (EPERM), out of the view (EXDEV); nothing changes.
	before := storeFlags(t, store, "INBOX")
	from := filepath.Join(cur, unique2+":2,S")
	for _, tt := range []struct {
		to   string
		want error
	}{
		{filepath.Join(cur, "1.U1V1.mailfs:2,S"), syscall.EPERM},
		{filepath.Join(cur, "mine:2,S"), syscall.EPERM},
		{filepath.Join(cur, unique2+":2,Sa"), syscall.EINVAL},
		{filepath.Join(inbox, "tmp", "x"), syscall.EPERM},
		{filepath.Join(inbox, "x"), syscall.EPERM},
		{filepath.Join(mnt, "pop", "INBOX", "x.eml"), syscall.EXDEV},
	} {
		if err := os.Rename(from, tt.to); !errors.Is(err, tt.want) {
			t.Errorf("rename to %s: %v, want %v", tt.to, err, tt.want)
		}
	}
	if after := storeFlags(t, store, "INBOX"); !equalFlagMaps(before, after) {
		t.Errorf("refused renames changed flags: %v → %v", before, after)
	}
}

func equalFlagMaps(a, b map[uint32][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !sameFlags(v, b[k]) {
			return false
		}
	}
	return true
}

// TestMaildirDelivery writes files in tmp/ and delivers them into new/ and
// cur/, by rename and by link, as delivery agents and mail clients do.
func TestMaildirDelivery(t *testing.T) {
	mnt, store, inbox := maildirTest(t)
	tmp := filepath.Join(inbox, "tmp")
	msg := func(subject string) []byte {
		return []byte("From: c@example.org\r\nSubject: " + subject + "\r\nDate: Sun, 22 Nov 2026 08:00:00 +0000\r\n\r\nDelivered.\r\n")
	}
	count := func() int { return len(storeFlags(t, store, "INBOX")) }

	// Written, listed in tmp/, not on the "server".
	if err := os.WriteFile(filepath.Join(tmp, "1.a.host"), msg("by rename"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, tmp); !slices.Equal(got, []string{"1.a.host"}) {
		t.Errorf("tmp/ = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(tmp, "1.a.host")); err != nil || fi.Size() != int64(len(msg("by rename"))) {
		t.Errorf("Stat(tmp file) = %v, %v", fi, err)
	}
	if n := count(); n != 2 {
		t.Fatalf("store holds %d messages before the rename, want 2", n)
	}
	// Renamed into new/: appended, unread, and tmp/ is empty.
	if err := os.Rename(filepath.Join(tmp, "1.a.host"), filepath.Join(inbox, "new", "1.a.host")); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, tmp); len(got) != 0 {
		t.Errorf("tmp/ after delivery = %q, want empty", got)
	}
	if n := count(); n != 3 {
		t.Errorf("store holds %d messages after delivery, want 3", n)
	}
	// Into cur/ with flags.
	if err := os.WriteFile(filepath.Join(tmp, "2.b.host"), msg("read one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "2.b.host"), filepath.Join(inbox, "cur", "2.b.host:2,RS")); err != nil {
		t.Fatal(err)
	}
	// The name the client gave keeps naming what it delivered for a while
	// (mutt sets its time after link and unlink), though listings show
	// the message under its own name.
	given := filepath.Join(inbox, "cur", "2.b.host:2,RS")
	if err := os.Chtimes(given, time.Now(), date1); err != nil {
		t.Errorf("utime of the delivered name: %v", err)
	}
	if b := mustReadFile(t, given); !bytes.Equal(b, msg("read one")) {
		t.Errorf("the delivered name reads %q", b)
	}
	if got := readDirNames(t, filepath.Join(inbox, "cur")); slices.Contains(got, "2.b.host:2,RS") || len(got) != 1 {
		t.Errorf("cur/ = %q, want only the message under the view's name", got)
	}
	// By link, then unlink of the tmp/ name.
	if err := os.WriteFile(filepath.Join(tmp, "3.c.host"), msg("by link"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(tmp, "3.c.host"), filepath.Join(inbox, "new", "3.c.host")); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, tmp); !slices.Equal(got, []string{"3.c.host"}) {
		t.Errorf("tmp/ after link = %q, want the file still there", got)
	}
	if err := os.Remove(filepath.Join(tmp, "3.c.host")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(inbox, "new", "3.c.host"), time.Now(), date1); err != nil {
		t.Errorf("utime of the linked name after unlink of tmp/: %v", err)
	}
	if b := mustReadFile(t, filepath.Join(inbox, "new", "3.c.host")); !bytes.Equal(b, msg("by link")) {
		t.Errorf("the linked name reads %q", b)
	}
	flags := storeFlags(t, store, "INBOX")
	if len(flags) != 5 {
		t.Fatalf("store holds %d messages, want 5", len(flags))
	}
	var seenAnswered, unread int
	for _, f := range flags {
		switch {
		case sameFlags(f, []string{`\Seen`, `\Answered`}):
			seenAnswered++
		case len(f) == 0:
			unread++
		}
	}
	if seenAnswered != 1 || unread != 4 {
		t.Errorf("flags = %v, want one \\Answered \\Seen and four unread", flags)
	}
	// The .eml tree and the view show them.
	if got := readDirNames(t, filepath.Join(mnt, "pop", "INBOX")); len(got) != 5 {
		t.Errorf(".eml tree = %q, want 5", got)
	}
	if got := readDirNames(t, filepath.Join(inbox, "new")); len(got) != 4 {
		t.Errorf("new/ = %q, want 4", got)
	}

	// Removing the delivered name removes what was delivered.
	if err := os.WriteFile(filepath.Join(tmp, "7.e.host"), msg("taken back"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "7.e.host"), filepath.Join(inbox, "new", "7.e.host")); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 6 {
		t.Fatalf("store holds %d messages, want 6", n)
	}
	if err := os.Remove(filepath.Join(inbox, "new", "7.e.host")); err != nil {
		t.Fatalf("unlink of the delivered name: %v", err)
	}
	if n := count(); n != 5 {
		t.Errorf("store holds %d messages after the delivered name was removed, want 5", n)
	}
	// What is not a message is refused and stays in tmp/; a file removed
	// from tmp/ appends nothing.
	if err := os.WriteFile(filepath.Join(tmp, "4.d.host"), []byte("not a message\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "4.d.host"), filepath.Join(inbox, "new", "4.d.host")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("delivering a non-message: %v, want EINVAL", err)
	}
	if got := readDirNames(t, tmp); !slices.Equal(got, []string{"4.d.host"}) {
		t.Errorf("tmp/ after a refused delivery = %q", got)
	}
	if err := os.Remove(filepath.Join(tmp, "4.d.host")); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 5 {
		t.Errorf("store holds %d messages, want 5", n)
	}
	// Renames within tmp/ stay local.
	if err := os.WriteFile(filepath.Join(tmp, "5"), msg("five"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "5"), filepath.Join(tmp, "6")); err != nil {
		t.Fatal(err)
	}
	if got := readDirNames(t, tmp); !slices.Equal(got, []string{"6"}) {
		t.Errorf("tmp/ after rename = %q", got)
	}
	if b := mustReadFile(t, filepath.Join(tmp, "6")); !bytes.Equal(b, msg("five")) {
		t.Errorf("tmp/6 = %q", b)
	}
	if n := count(); n != 5 {
		t.Errorf("store holds %d messages, want 5", n)
	}
}

// TestMaildirMoveAndRemove moves a message into another folder's cur/ and
// removes one, and checks that the .eml tree follows at once.
func TestMaildirMoveAndRemove(t *testing.T) {
	mnt, store, inbox := maildirTest(t)
	view := filepath.Join(mnt, maildirDirName, "pop")
	if err := os.MkdirAll(filepath.Join(view, "Archive", "cur"), 0o700); err != nil {
		t.Fatalf("mkdir -p Archive/cur: %v", err)
	}
	if got := readDirNames(t, filepath.Join(view, "Archive")); !slices.Equal(got, []string{"cur/", "new/", "tmp/"}) {
		t.Errorf("new folder = %q", got)
	}
	emlInbox := filepath.Join(mnt, "pop", "INBOX")
	emls := readDirNames(t, emlInbox)
	names := readDirNames(t, filepath.Join(inbox, "new"))
	for _, e := range emls { // the kernel knows them
		if _, err := os.Stat(filepath.Join(emlInbox, e)); err != nil {
			t.Fatal(err)
		}
	}
	unique, _, _ := splitMaildirName(names[0])
	if err := os.Rename(filepath.Join(inbox, "new", names[0]), filepath.Join(view, "Archive", "cur", unique+":2,FS")); err != nil {
		t.Fatal(err)
	}
	archived := storeFlags(t, store, "Archive")
	if len(archived) != 1 {
		t.Fatalf("Archive holds %v, want one message", archived)
	}
	for _, f := range archived {
		if !sameFlags(f, []string{`\Flagged`, `\Seen`}) {
			t.Errorf("moved message's flags = %q, want \\Flagged \\Seen", f)
		}
	}
	if got := readDirNames(t, filepath.Join(view, "Archive", "cur")); len(got) != 1 || !strings.HasSuffix(got[0], ":2,FS") {
		t.Errorf("Archive/cur = %q", got)
	}
	gone := func(what, path string) {
		t.Helper()
		soon(t, what, func() bool { _, err := os.Stat(path); return errors.Is(err, fs.ErrNotExist) })
	}
	gone("the moved message's .eml name", filepath.Join(emlInbox, emls[0]))
	// rm in the view removes it from the store, and from the .eml tree
	// at once.
	if err := os.Remove(filepath.Join(inbox, "new", names[1])); err != nil {
		t.Fatal(err)
	}
	if n := len(storeFlags(t, store, "INBOX")); n != 0 {
		t.Errorf("INBOX holds %d messages, want 0", n)
	}
	gone("the removed message's .eml name", filepath.Join(emlInbox, emls[1]))
	// rm through the .eml tree: the view's name goes at once.
	archEml := filepath.Join(mnt, "pop", "Archive")
	e := readDirNames(t, archEml)
	md := readDirNames(t, filepath.Join(view, "Archive", "cur"))
	if _, err := os.Stat(filepath.Join(view, "Archive", "cur", md[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(archEml, e[0])); err != nil {
		t.Fatal(err)
	}
	gone("the Maildir name after rm of the .eml", filepath.Join(view, "Archive", "cur", md[0]))
	// cur, new and tmp are not folders of their own.
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.Remove(filepath.Join(view, "Archive", d)); !errors.Is(err, syscall.EPERM) {
			t.Errorf("rmdir Archive/%s = %v, want EPERM", d, err)
		}
	}
	if err := os.Remove(filepath.Join(view, "Archive")); err != nil {
		t.Errorf("rmdir Archive: %v", err)
	}
}

// TestMaildirLive checks that the view follows the server: a flag set
// elsewhere renames the file (the old name goes at once), an expunged
// message goes, new mail appears in new/.
func TestMaildirLive(t *testing.T) {
	src := newWatchedFake(workAccount(t))
	mnt := mountTest(t, []Account{{Name: "work", Source: src}}, nil)
	newDir := filepath.Join(mnt, maildirDirName, "work", "INBOX", "new")
	curDir := filepath.Join(mnt, maildirDirName, "work", "INBOX", "cur")
	names := readDirNames(t, newDir)
	if len(names) != 2 || uidOf(t, names[0]) != 4712 || uidOf(t, names[1]) != 4711 {
		t.Fatalf("new/ = %q, want 4712 (the older) and 4711", names)
	}
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(newDir, n)); err != nil {
			t.Fatal(err)
		}
	}
	info := src.setServerFlags(t, "INBOX", 4711, `\Seen`)
	src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Flagged: []remote.MessageInfo{info}})
	soon(t, "old name gone", func() bool {
		_, err := os.Stat(filepath.Join(newDir, names[1]))
		return errors.Is(err, fs.ErrNotExist)
	})
	if _, err := os.Stat(filepath.Join(curDir, maildirName(fakeUIDValidity, info))); err != nil {
		t.Errorf("Stat of the new name: %v", err)
	}
	gone := src.expunge(t, "INBOX", 4712)
	src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Removed: []remote.MessageInfo{gone}})
	soon(t, "expunged message gone", func() bool {
		_, err := os.Stat(filepath.Join(newDir, names[0]))
		return errors.Is(err, fs.ErrNotExist)
	})
	before, err := os.Stat(newDir)
	if err != nil {
		t.Fatal(err)
	}
	added := src.add("INBOX", 4800, "new", date2, "Subject: new\r\n\r\nnew\r\n", -1)
	newName := maildirName(fakeUIDValidity, added)
	if _, err := os.Stat(filepath.Join(newDir, newName)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat before delivery = %v", err)
	}
	src.publish(t, remote.Change{Mailbox: "INBOX", UIDValidity: fakeUIDValidity, Added: []remote.MessageInfo{added}})
	soon(t, "new mail in new/", func() bool {
		_, err := os.Stat(filepath.Join(newDir, newName))
		return err == nil
	})
	if b := mustReadFile(t, filepath.Join(newDir, newName)); string(b) != "Subject: new\r\n\r\nnew\r\n" {
		t.Errorf("new mail reads %q", b)
	}
	// new/'s mtime moves (mutt rescans a Maildir when it does), within
	// the second the kernel keeps a directory's attributes.
	soon2 := time.Now().Add(2 * time.Second)
	for {
		after, err := os.Stat(newDir)
		if err != nil {
			t.Fatal(err)
		}
		if after.ModTime().After(before.ModTime()) {
			break
		}
		if time.Now().After(soon2) {
			t.Fatalf("new/ mtime %v after new mail, want later than %v", after.ModTime(), before.ModTime())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
