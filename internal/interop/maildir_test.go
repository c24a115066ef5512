package interop

import (
	"bytes"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// seedMessage is message i of the seeding tests: CRLF line ends, one line
// naming i.
func seedMessage(i int) []byte {
	return fmt.Appendf(nil, "From: a@example.org\r\nTo: b@example.org\r\nSubject: seeded %d\r\n"+
		"Message-ID: <seed.%d@example.org>\r\n\r\nbody of message %d\r\n", i, i, i)
}

// TestDovecotSeed seeds 10,000 messages into three folders (one nested,
// one new) in a few seconds, and finds them counted by Dovecot, byte-exact
// over doveadm, in date order by UID, owned by the mail user.
func TestDovecotSeed(t *testing.T) {
	d := StartDovecot(t, nil)
	const n = 10000
	folders := []string{"", "Archive", "Lists/dev"}
	base := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	msgs := func(yield func(MaildirMessage) bool) {
		for i := range n {
			m := MaildirMessage{Mailbox: folders[i%len(folders)], Text: seedMessage(i), Date: base.Add(time.Duration(i) * time.Minute)}
			if !yield(m) {
				return
			}
		}
	}
	start := time.Now()
	got, err := d.Seed("alice", msgs)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d messages in %v", got, elapsed)
	if got != n {
		t.Errorf("Seed: got %d written, want %d", got, n)
	}
	if elapsed > 30*time.Second {
		t.Errorf("Seed of %d messages: took %v, want seconds", n, elapsed)
	}
	for i, f := range []string{"INBOX", "Archive", "Lists/dev"} {
		want := n / 3
		if i < n%3 {
			want++
		}
		if c, err := d.Count("alice", f); err != nil || c != want {
			t.Errorf("Count(alice, %s): got %d, %v; want %d", f, c, err, want)
		}
	}

	// Lists/dev holds messages 2, 5, 8…: in that order by UID, with the
	// seeded dates and bytes (served with CRLF).
	rows := d.fetchTab(t, "alice", "Lists/dev", "uid", "date.received")
	for k, r := range rows[:5] {
		i := 2 + 3*k
		if want := base.Add(time.Duration(i) * time.Minute).Format("2006-01-02 15:04:05"); r[1] != want {
			t.Errorf("Lists/dev UID %s: got received date %s, want %s (message %d)", r[0], r[1], want, i)
		}
	}
	uids := d.uids(t, "alice", "Lists/dev")
	if !slices.IsSorted(uids) {
		t.Errorf("Lists/dev UIDs: got %v…, want ascending", uids[:5])
	}
	text, err := d.doveadm(nil, "-f", "pager", "fetch", "-u", "alice", "text", "mailbox", "Lists/dev", "uid", fmt.Sprint(uids[1]))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := crlf(bytes.TrimPrefix(text, []byte("text:\n"))), seedMessage(5); !bytes.Equal(got, want) {
		t.Errorf("Lists/dev UID %d: got %q, want %q", uids[1], got, want)
	}

	// The files belong to the mail user (Dovecot would refuse others).
	files, _ := filepath.Glob(filepath.Join(d.Dir, "mail", "alice", ".Lists.dev", "cur", "*"))
	if len(files) != n/3 {
		t.Fatalf("files in .Lists.dev/cur: got %d, want %d", len(files), n/3)
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != d.mailUID || int(st.Gid) != d.mailGID {
		t.Errorf("owner of %s: got %d:%d, want %d:%d", files[0], st.Uid, st.Gid, d.mailUID, d.mailGID)
	}

	// Seeding again adds to what is there.
	more := func(yield func(MaildirMessage) bool) { yield(MaildirMessage{Text: seedMessage(n)}) }
	if _, err := d.Seed("alice", more); err != nil {
		t.Fatal(err)
	}
	if c, err := d.Count("alice", "INBOX"); err != nil || c != n/3+2 {
		t.Errorf("Count(alice, INBOX) after a second Seed: got %d, %v; want %d", c, err, n/3+2)
	}
}

func TestDovecotSeedErrors(t *testing.T) {
	d := StartDovecot(t, nil)
	none := iter.Seq[MaildirMessage](func(func(MaildirMessage) bool) {})
	if _, err := d.Seed("nobody", none); err == nil {
		t.Error("Seed for an unknown user: got no error")
	}
	if _, err := d.Count("alice", "Nonexistent"); err == nil {
		t.Error("Count of a missing mailbox: got no error")
	}
}

// TestLaunchDovecotClose starts an instance without a test's help and
// stops it: no process, no directory left; Close again is harmless.
func TestLaunchDovecotClose(t *testing.T) {
	RequireDovecot(t)
	d, err := LaunchDovecot(&DovecotOptions{Users: map[string]string{"a": "pa", "b": "pb"}})
	if err != nil {
		t.Fatal(err)
	}
	pgid, dir, base := d.proc.cmd.Process.Pid, d.Dir, d.baseDir
	if _, err := d.Seed("b", func(yield func(MaildirMessage) bool) { yield(MaildirMessage{Mailbox: "Big", Text: seedMessage(1)}) }); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if left := groupMembers(pgid); len(left) != 0 {
		t.Errorf("after Close: got processes %v, want none", left)
	}
	for _, p := range []string{dir, base} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("after Close: %s still there (%v)", p, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := LaunchDovecot(&DovecotOptions{Separator: "::"}); err == nil {
		t.Error("LaunchDovecot with a two-character separator: got no error")
	}
}
