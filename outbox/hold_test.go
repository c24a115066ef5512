package outbox

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailfs/remote"
)

// These tests run the hold loop on the real clock with a short
// Options.SendDelay: every wait is bounded, and every "nothing was sent"
// is checked after a control message committed at the same time was sent
// (so the delay did expire while the loop ran) or well past the delay.

// holdDelay is the send delay of the tests below.
const holdDelay = 150 * time.Millisecond

// heldEnv returns a running env whose messages are held for delay.
func heldEnv(t *testing.T, delay time.Duration) *testEnv {
	t.Helper()
	e := newEnv(t, func(o *Options) { o.SendDelay = delay })
	e.start()
	return e
}

// heldMsg is a valid message whose subject is tag.
func heldMsg(tag string) string {
	return crlf("From: me@work.example\nTo: ann@example.org\nSubject: " + tag + "\n\nbody of " + tag + "\n")
}

// sentTags returns the subjects of the messages s sent, in order.
func sentTags(s *fakeSender) []string {
	var tags []string
	for _, m := range s.got() {
		_, rest, _ := strings.Cut(m.data, "\r\nSubject: ")
		tag, _, _ := strings.Cut(rest, "\r\n")
		tags = append(tags, tag)
	}
	return tags
}

// stampSends makes s record when each message reaches it; the returned
// function lists those times.
func stampSends(s *fakeSender) func() []time.Time {
	var mu sync.Mutex
	var at []time.Time
	s.mu.Lock()
	s.hook = func(context.Context, remote.Envelope, string) error {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(at)
	}
}

// writeFile creates (or truncates) the file name of area through OpenFile
// and writes data into it.
func writeFile(t *testing.T, e *testEnv, area Area, name, data string) {
	t.Helper()
	f, err := e.ob.OpenFile(area, name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatalf("OpenFile(%v, %q): %v", area, name, err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// checkSentOnly waits twice the delay more (so that a message wrongly
// held or taken would have gone out) and checks that the work account
// sent exactly the messages tagged want, in that order, and that nothing
// is left queued or failed.
func checkSentOnly(t *testing.T, e *testEnv, delay time.Duration, want ...string) {
	t.Helper()
	time.Sleep(2 * delay)
	if got := sentTags(e.work); !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	if n := e.work.nCalls() + e.home.nCalls(); n != len(want) {
		t.Errorf("%d send attempts, want %d", n, len(want))
	}
	if q := e.ob.Queued(); len(q) != 0 {
		t.Errorf("Queued() = %q, want none", names(q))
	}
	if f := e.ob.Failed(); len(f) != 0 {
		t.Errorf("Failed() = %q, want none", names(f))
	}
}

// checkFiles checks that area lists exactly the files want, each in
// state ("" checks the names only).
func checkFiles(t *testing.T, e *testEnv, area Area, state string, want ...string) {
	t.Helper()
	es, err := e.ob.Files(area)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(es); !slices.Equal(got, want) {
		t.Errorf("Files(%v) = %q, want %q", area, got, want)
	}
	for _, en := range es {
		if state != "" && en.State != state {
			t.Errorf("%v/%s: state %q, want %q", area, en.Name, en.State, state)
		}
	}
}

// TestHeldRewriteSendsOnce proves that an editor saving the same file
// three times within the delay sends one message, the last version, and
// that each save starts the delay again (it goes out no sooner than the
// delay after the last save).
func TestHeldRewriteSendsOnce(t *testing.T) {
	const delay = 300 * time.Millisecond
	e := heldEnv(t, delay)
	sentAt := stampSends(e.work)
	var last time.Time
	for i, tag := range []string{"first", "second", "third"} {
		if i > 0 {
			time.Sleep(delay / 3) // the saves span more than half the delay
		}
		last = time.Now()
		if n := e.mustCommit("x.eml", heldMsg(tag)); n != "x.eml" {
			t.Fatalf("save %d named %q, want x.eml (it replaces the held one)", i+1, n)
		}
		en, err := e.ob.StatFile(AreaOutbox, "x.eml")
		if err != nil {
			t.Fatalf("after save %d: %v", i+1, err)
		}
		if en.State != StateHeld || en.NextAttempt.Before(last.Add(delay)) {
			t.Errorf("after save %d: state %q, due %v; want held until at least %v", i+1, en.State, en.NextAttempt, last.Add(delay))
		}
	}
	if n := e.work.nCalls(); n != 0 {
		t.Fatalf("%d messages sent during the delay", n)
	}
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, delay, "third")
	if at := sentAt(); len(at) > 0 && at[0].Before(last.Add(delay)) {
		t.Errorf("sent %v after the last save, before the delay of %v", at[0].Sub(last), delay)
	}
	checkFiles(t, e, AreaOutbox, StateHeld)
}

// TestHeldRemoveCancels proves that removing a held message within the
// delay cancels it: a message committed with it is sent, it is not, and
// nothing of it is left queued, failed or in outbox/.
func TestHeldRemoveCancels(t *testing.T) {
	e := heldEnv(t, holdDelay)
	e.mustCommit("x.eml", heldMsg("cancelled"))
	e.mustCommit("control.eml", heldMsg("control"))
	if err := e.ob.RemoveFile(AreaOutbox, "x.eml"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ob.StatFile(AreaOutbox, "x.eml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StatFile after RemoveFile: %v, want ErrNotExist", err)
	}
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "control")
	checkFiles(t, e, AreaOutbox, StateHeld)
	if left := e.spoolEntries(queueDir); len(left) != 0 {
		t.Errorf("queue/ holds %v", left)
	}
}

// TestEditorSwapHolds proves that a message stays held past the delay
// while an editor's swap or lock file naming it is in outbox/ (StatFile
// says which one), and is sent at the next delay expiry once that file is
// removed. Each editor's file name is tried.
func TestEditorSwapHolds(t *testing.T) {
	for _, side := range editorFiles("x.eml") {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			e := heldEnv(t, holdDelay)
			writeFile(t, e, AreaOutbox, side, "editor state\n")
			e.mustCommit("x.eml", heldMsg("edited"))
			e.mustCommit("control.eml", heldMsg("control"))
			waitSent(t, e.work, 1)
			time.Sleep(3 * holdDelay)
			if got := sentTags(e.work); !slices.Equal(got, []string{"control"}) {
				t.Fatalf("sent %q while %s exists, want only control", got, side)
			}
			en, err := e.ob.StatFile(AreaOutbox, "x.eml")
			if err != nil {
				t.Fatal(err)
			}
			if en.State != StateHeld || en.HeldBy != side || en.NextAttempt.IsZero() {
				t.Errorf("StatFile(x.eml) = state %q, held by %q, next %v; want held by %s with a send time", en.State, en.HeldBy, en.NextAttempt, side)
			}
			if en, err := e.ob.StatFile(AreaOutbox, side); err != nil || en.State != StateScratch {
				t.Errorf("StatFile(%s) = %+v, %v; want a scratch file", side, en, err)
			}
			removed := time.Now()
			if err := e.ob.RemoveFile(AreaOutbox, side); err != nil {
				t.Fatal(err)
			}
			waitSent(t, e.work, 2)
			// Taken at the next expiry of the delay (at most one delay
			// away), with room for a slow machine.
			if took := time.Since(removed); took > holdDelay+5*time.Second {
				t.Errorf("sent %v after the editor closed, want about %v at most", took, holdDelay)
			}
			checkSentOnly(t, e, holdDelay, "control", "edited")
			checkFiles(t, e, AreaOutbox, StateHeld)
		})
	}
}

// TestVimSaveSequence replays what vim does on its second :w of x.eml
// (probe file 4913 created and removed, x.eml renamed to the backup
// x.eml~, the new x.eml written, the backup removed) and proves that one
// message goes out, the second version; neither the probe nor the backup
// is sent.
func TestVimSaveSequence(t *testing.T) {
	e := heldEnv(t, holdDelay)
	e.mustCommit("x.eml", heldMsg("v1"))

	writeFile(t, e, AreaOutbox, "4913", "")
	if err := e.ob.RemoveFile(AreaOutbox, "4913"); err != nil {
		t.Fatal(err)
	}
	if err := e.ob.RenameFile(AreaOutbox, "x.eml", AreaOutbox, "x.eml~", false); err != nil {
		t.Fatal(err)
	}
	if n := e.mustCommit("x.eml", heldMsg("v2")); n != "x.eml" {
		t.Fatalf("second save named %q, want x.eml", n)
	}
	checkFiles(t, e, AreaOutbox, "", "x.eml", "x.eml~")
	if en, _ := e.ob.StatFile(AreaOutbox, "x.eml~"); en.State != StateScratch {
		t.Errorf("backup x.eml~ is %q, want scratch", en.State)
	}
	if err := e.ob.RemoveFile(AreaOutbox, "x.eml~"); err != nil {
		t.Fatal(err)
	}
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "v2")
	checkFiles(t, e, AreaOutbox, StateHeld)
}

// TestSideFilesNeverSent proves that editors' side files in outbox/ are
// kept as scratch files and never sent, even when they hold a valid
// message, while a message committed with them is sent; and that
// OpenFile refuses to write a message name.
func TestSideFilesNeverSent(t *testing.T) {
	e := heldEnv(t, holdDelay)
	sides := []string{"#x.eml#", ".goutputstream-ABC", ".x.eml.swp", "4913", "x.eml~"} // sorted
	for _, side := range sides {
		writeFile(t, e, AreaOutbox, side, heldMsg(side))
	}
	if _, err := e.ob.OpenFile(AreaOutbox, "x.eml", os.O_CREATE|os.O_WRONLY, 0o600); !errors.Is(err, ErrMessageName) {
		t.Errorf("OpenFile(x.eml) for writing: %v, want ErrMessageName", err)
	}
	e.mustCommit("control.eml", heldMsg("control"))
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "control")
	checkFiles(t, e, AreaOutbox, StateScratch, sides...)
	for _, side := range sides {
		b, err := os.ReadFile(filepath.Join(e.dir, filesDir, side))
		if err != nil || string(b) != heldMsg(side) {
			t.Errorf("%s = %q, %v; want it as written", side, b, err)
		}
	}
}

// TestIsSideFile checks which names are side files and which are
// messages.
func TestIsSideFile(t *testing.T) {
	for name, want := range map[string]bool{
		"x.eml~":             true,
		".x.eml.swp":         true,
		".x.eml.swo":         true,
		".#x.eml":            true,
		"#x.eml#":            true,
		"##":                 true,
		".goutputstream-ABC": true,
		".x.eml.tmp":         true,
		"x.swp":              true,
		"x.swn":              true,
		"x.swx":              true,
		"4913":               true,
		"5036":               true, // 4913 + 123
		"99869":              true, // the last probe below 100000
		"x.eml":              false,
		"notes.txt":          false,
		"4914":               false,
		"12345":              false,
		"100115":             false, // 4913 + 123k, but not below 100000
		"04913":              false,
		"+4913":              false,
		"#":                  false,
		"#x.eml":             false,
		"x.swp.eml":          false,
	} {
		if got := IsSideFile(name); got != want {
			t.Errorf("IsSideFile(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestAtomicSaveRename proves that an atomic save (write .x.eml.tmp,
// rename it to x.eml) holds the message and sends it once after the
// delay, and that renaming an invalid file to a message name fails with
// ErrInvalid, leaves the side file where it was, and sends or fails
// nothing.
func TestAtomicSaveRename(t *testing.T) {
	e := heldEnv(t, holdDelay)
	sentAt := stampSends(e.work)

	writeFile(t, e, AreaOutbox, ".y.eml.tmp", crlf("Subject: no recipients\n\nbody\n"))
	if err := e.ob.RenameFile(AreaOutbox, ".y.eml.tmp", AreaOutbox, "y.eml", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("rename of an invalid message: %v, want ErrInvalid", err)
	}
	if en, err := e.ob.StatFile(AreaOutbox, ".y.eml.tmp"); err != nil || en.State != StateScratch {
		t.Errorf("StatFile(.y.eml.tmp) = %+v, %v; want the side file still there", en, err)
	}
	if _, err := e.ob.StatFile(AreaOutbox, "y.eml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StatFile(y.eml) after a refused rename: %v, want ErrNotExist", err)
	}

	writeFile(t, e, AreaOutbox, ".x.eml.tmp", heldMsg("atomic"))
	renamed := time.Now()
	if err := e.ob.RenameFile(AreaOutbox, ".x.eml.tmp", AreaOutbox, "x.eml", false); err != nil {
		t.Fatal(err)
	}
	if en, err := e.ob.StatFile(AreaOutbox, "x.eml"); err != nil || en.State != StateHeld {
		t.Errorf("StatFile(x.eml) = %+v, %v; want held", en, err)
	}
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "atomic")
	if at := sentAt(); len(at) > 0 && at[0].Sub(renamed) < holdDelay {
		t.Errorf("sent %v after the rename, before the delay of %v", at[0].Sub(renamed), holdDelay)
	}
	checkFiles(t, e, AreaOutbox, StateScratch, ".y.eml.tmp")
}

// TestDraftsNeverSentUntilMoved proves that a file in drafts/ is never
// sent, that moving it into outbox/ holds it and sends it after the delay,
// and that moving an invalid one fails with ErrInvalid and leaves it in
// drafts/.
func TestDraftsNeverSentUntilMoved(t *testing.T) {
	e := heldEnv(t, holdDelay)
	sentAt := stampSends(e.work)
	writeFile(t, e, AreaDrafts, "d.eml", heldMsg("draft"))
	writeFile(t, e, AreaDrafts, "bad.eml", crlf("Subject: no recipients\n\nbody\n"))
	e.mustCommit("control.eml", heldMsg("control"))
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "control")
	checkFiles(t, e, AreaDrafts, StateDraft, "bad.eml", "d.eml")

	moved := time.Now()
	if err := e.ob.RenameFile(AreaDrafts, "d.eml", AreaOutbox, "d.eml", false); err != nil {
		t.Fatal(err)
	}
	if en, err := e.ob.StatFile(AreaOutbox, "d.eml"); err != nil || en.State != StateHeld {
		t.Errorf("StatFile(d.eml) = %+v, %v; want held", en, err)
	}
	if err := e.ob.RenameFile(AreaDrafts, "bad.eml", AreaOutbox, "bad.eml", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("moving an invalid draft: %v, want ErrInvalid", err)
	}
	waitSent(t, e.work, 2)
	checkSentOnly(t, e, holdDelay, "control", "draft")
	if at := sentAt(); len(at) == 2 && at[1].Sub(moved) < holdDelay {
		t.Errorf("moved draft sent %v after the move, before the delay of %v", at[1].Sub(moved), holdDelay)
	}
	checkFiles(t, e, AreaDrafts, StateDraft, "bad.eml")
	checkFiles(t, e, AreaOutbox, StateHeld)
}

// TestHeldSurvivesRestart proves that a message held when mailfs stops is
// held again by the next start and sent once its delay is over, exactly
// once.
func TestHeldSurvivesRestart(t *testing.T) {
	e := heldEnv(t, time.Hour)
	e.mustCommit("x.eml", heldMsg("restarted"))
	e.opts.SendDelay = holdDelay
	e.reopen()
	if en, err := e.ob.StatFile(AreaOutbox, "x.eml"); err != nil || en.State != StateHeld || en.NextAttempt.After(time.Now().Add(holdDelay)) {
		t.Fatalf("after restart StatFile(x.eml) = %+v, %v; want held for the new delay", en, err)
	}
	e.start()
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "restarted")
	checkFiles(t, e, AreaOutbox, StateHeld)
}

// TestInterruptedTakeRecovered proves that a take cut short before its
// rename (a queue directory with state.json but no message.eml, the
// message still in outbox/) is undone by Open: the directory is deleted,
// the message stays held and is sent exactly once.
func TestInterruptedTakeRecovered(t *testing.T) {
	e := heldEnv(t, time.Hour)
	e.mustCommit("x.eml", heldMsg("taken once"))
	e.stop()
	if err := e.ob.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, queueDir, newID())
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := writeRecord(dir, &record{Name: "x.eml", State: StateQueued, Seq: 1, Created: now, NextAttempt: now}); err != nil {
		t.Fatal(err)
	}
	e.opts.SendDelay = holdDelay
	e.open()
	if left := e.spoolEntries(queueDir); len(left) != 0 {
		t.Errorf("queue/ holds %v after Open, want the half-made directory deleted", left)
	}
	if q := e.ob.Queued(); len(q) != 0 {
		t.Errorf("Queued() = %q after Open, want none", names(q))
	}
	if en, err := e.ob.StatFile(AreaOutbox, "x.eml"); err != nil || en.State != StateHeld {
		t.Fatalf("StatFile(x.eml) = %+v, %v; want it held", en, err)
	}
	e.start()
	waitSent(t, e.work, 1)
	checkSentOnly(t, e, holdDelay, "taken once")
	checkFiles(t, e, AreaOutbox, StateHeld)
	if left := e.spoolEntries(queueDir); len(left) != 0 {
		t.Errorf("queue/ holds %v", left)
	}
}

// TestInterruptedPrepareRecovered proves that Open completes a
// preparation its record committed (prepared.eml replaces message.eml and
// those bytes are sent) and undoes one it did not (prepared.eml is
// deleted and the message prepared again from message.eml).
func TestInterruptedPrepareRecovered(t *testing.T) {
	spool := t.TempDir() + "/spool"
	raw := func(tag string) string {
		return crlf("From: me@work.example\nTo: a@x.example\nBcc: hidden@x.example\nSubject: " + tag + "\n\nbody\n")
	}
	done := crlf("From: me@work.example\nTo: a@x.example\nSubject: prepared\nMessage-ID: <kept@work.example>\n\nbody\n")
	mkMessage(t, spool, queueDir, "p1", queuedRec("done.eml", StateQueued, "work", 1), raw("raw of done"))
	os.WriteFile(filepath.Join(spool, queueDir, "p1", preparedFile), []byte(done), 0o600)
	mkMessage(t, spool, queueDir, "p2", &record{Name: "half.eml", State: StateQueued, Seq: 2, Created: time.Now()}, raw("half"))
	os.WriteFile(filepath.Join(spool, queueDir, "p2", preparedFile), []byte("Subject: stale prepared copy\r\n\r\n"), 0o600)

	e := newEnv(t, func(o *Options) { o.Dir = spool })
	for _, id := range []string{"p1", "p2"} {
		if _, err := os.Lstat(filepath.Join(spool, queueDir, id, preparedFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: prepared.eml left after Open (%v)", id, err)
		}
	}
	e.start()
	waitSent(t, e.work, 2)
	checkSentOnly(t, e, holdDelay, "prepared", "half")
	got := e.work.got()
	if got[0].data != done {
		t.Errorf("done.eml sent as %q, want the prepared bytes %q", got[0].data, done)
	}
	half := got[1]
	if strings.Contains(half.data, "Bcc:") || !strings.Contains(half.data, "\r\nMessage-ID: <") || !strings.Contains(half.data, "Date: ") {
		t.Errorf("half.eml sent as %q, want it prepared again (Date, Message-ID, no Bcc)", half.data)
	}
	if !slices.Equal(half.env.To, []string{"a@x.example", "hidden@x.example"}) {
		t.Errorf("half.eml sent to %q, want both recipients", half.env.To)
	}
}

// TestEditorHoldsWithoutDelay proves that with SendDelay 0 a message an
// editor has open waits for the editor without the hold loop spinning,
// and is sent once the editor's swap file is removed.
func TestEditorHoldsWithoutDelay(t *testing.T) {
	var reads atomic.Int64
	e := newEnv(t, func(o *Options) {
		o.Now = func() time.Time { reads.Add(1); return time.Now() }
	})
	writeFile(t, e, AreaOutbox, ".x.eml.swp", "editor state\n")
	e.start()
	e.mustCommit("x.eml", heldMsg("edited"))
	before := reads.Load()
	time.Sleep(300 * time.Millisecond)
	if n := reads.Load() - before; n > 1000 {
		t.Errorf("clock read %d times in 300ms while x.eml waited for its editor: the hold loop spins", n)
	}
	if n := e.work.nCalls(); n != 0 {
		t.Errorf("%d messages sent while the editor had x.eml open", n)
	}
	if err := e.ob.RemoveFile(AreaOutbox, ".x.eml.swp"); err != nil {
		t.Fatal(err)
	}
	waitSent(t, e.work, 1)
}
