package pop3store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestCrashBetweenRenameAndRecord builds on disk what a crash leaves and
// reopens the store.
func TestCrashBetweenRenameAndRecord(t *testing.T) {
	e := newEnv(t, false, msg("a", sample("one")), msg("b", sample("two")), msg("c", sample("three")))
	e.drop.failAfter["c"] = 0 // stop the session before c
	e.poll()
	e.s.Close()
	e.s = nil

	msgs := filepath.Join(e.dir, msgsDir)
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(msgs, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(fileKey("c")+emlExt, sample("three"))      // renamed, not recorded
	write(tempPrefix+"123", "From: half")            // download in progress
	write("a0123456789abcdef01234567.eml", "x: y\n") // unfinished append
	e.reopen()

	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two"), "c": sample("three")})
	if got := e.files(); len(got) != 3 {
		t.Errorf("files after recovery: got %q, want 3 messages", got)
	}
	delete(e.drop.failAfter, "c")
	e.mustPoll()
	if got := e.drop.retrCount("c"); got != 1 {
		t.Errorf("RETR of c: got %d, want 1 (the one cut off; the recovered file is not downloaded again)", got)
	}
	if got := e.drop.uids(); len(got) != 0 {
		t.Errorf("server still has %q: recovered messages are deleted as stored", got)
	}
	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two"), "c": sample("three")})
	// Recovery is idempotent.
	e.reopen()
	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two"), "c": sample("three")})
}

func TestCrashAfterRemoveRecord(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	e.mustPoll()
	// rm deletes the record, then the file: put the file back as if the
	// unlink never happened.
	body := e.read(Inbox, 1)
	if err := e.s.Remove(t.Context(), Inbox, 1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.s.path(fileKey("a")+emlExt), body, 0o600); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if got := e.files(); len(got) != 0 {
		t.Errorf("files: got %q, want none", got)
	}
	if got := len(e.list(Inbox).Messages); got != 0 {
		t.Errorf("INBOX: %d messages, want 0", got)
	}
}

func TestRecordWithoutFileDropped(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.mustPoll()
	os.Remove(e.s.path(fileKey("a") + emlExt))
	e.reopen()
	if got := subjects(e.list(Inbox)); !slices.Equal(got, []string{"two"}) {
		t.Errorf("got %q, want [two]", got)
	}
}

func TestAdoptFileFoundDuringPoll(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	if err := os.WriteFile(e.s.path(fileKey("a")+emlExt), []byte(sample("one")), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustPoll()
	if got := e.drop.retrCount("a"); got != 0 {
		t.Errorf("RETR: got %d, want 0", got)
	}
	e.checkInbox(map[string]string{"a": sample("one")})
}

func TestLongUIDLHashed(t *testing.T) {
	long := string(make([]byte, 300))
	e := newEnv(t, true, msg(long, sample("one")))
	e.mustPoll()
	e.s.Close()
	e.s = nil
	// Lose the record: the hashed name is still recognized.
	os.Remove(filepath.Join(e.dir, dbName))
	e.reopen()
	if got := len(e.list(Inbox).Messages); got != 1 {
		t.Fatalf("INBOX: %d messages, want 1", got)
	}
	e.mustPoll()
	if got := e.drop.retrCount(long); got != 1 {
		t.Errorf("RETR: got %d, want 1", got)
	}
}

func TestOpenRefusesSecondProcess(t *testing.T) {
	e := newEnv(t, true)
	_, err := Open(&Options{Dir: e.dir, Downloader: e.drop})
	if err == nil {
		t.Fatal("second Open of the same store succeeded")
	}
	fi, _ := os.Stat(e.dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode: got %v, want 0700", fi.Mode().Perm())
	}
}
