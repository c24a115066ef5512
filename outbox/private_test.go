package outbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A spool another local user could write to is never used as is: one left
// 0777 is made private, and used only while everything in it is the
// user's; a file of someone else's in it, or a spool owned by someone
// else, makes Open refuse, and nothing is sent.
func TestSpoolOthersCouldWrite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to give files to another user")
	}
	e := newEnv(t)
	e.mustCommit("ours.eml", "From: me@work.example\r\nTo: bob@example.org\r\nSubject: ours\r\n\r\nhi\r\n")
	if err := e.ob.Close(); err != nil {
		t.Fatal(err)
	}

	// 0777 everywhere, but every file ours: made private, and used.
	for _, d := range []string{e.dir, filepath.Join(e.dir, queueDir)} {
		os.Chmod(d, 0o777)
	}
	e.open()
	for _, d := range []string{e.dir, filepath.Join(e.dir, queueDir)} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s after Open: %v, %v; want 0700", d, fi.Mode().Perm(), err)
		}
	}
	if err := e.ob.Close(); err != nil {
		t.Fatal(err)
	}

	// A message planted by another user in the queue: refused, nothing sent.
	queued, _ := filepath.Glob(filepath.Join(e.dir, queueDir, "*"))
	if len(queued) == 0 {
		t.Fatal("test setup: nothing queued")
	}
	planted := queued[0]
	if err := os.Chown(planted, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Open(&e.opts)
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534") || !strings.Contains(err.Error(), "nothing in it was sent") {
		t.Fatalf("Open of a spool with another user's file: %v, want a refusal naming it", err)
	}
	os.Chown(planted, 0, 0)

	// The spool itself owned by someone else: refused.
	if err := os.Chown(e.dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(&e.opts); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("Open of another user's spool: %v, want a refusal", err)
	}
	if n := e.work.nCalls() + e.home.nCalls(); n != 0 {
		t.Errorf("sends: %d, want none", n)
	}
}
