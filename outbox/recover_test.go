package outbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// mkMessage writes a message directory into the spool, as a crashed
// mailfs would have left it.
func mkMessage(t *testing.T, spool, sub, id string, rec *record, msg string) {
	t.Helper()
	dir := filepath.Join(spool, sub, id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, messageFile), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		if err := writeRecord(dir, rec); err != nil {
			t.Fatal(err)
		}
	}
}

func queuedRec(name, state, account string, seq uint64) *record {
	return &record{Name: name, State: state, Seq: seq, Created: time.Now(), Prepared: true, Account: account,
		From: "me@work.example", To: []string{"a@x.example"}, NextAttempt: time.Now()}
}

func TestRecoverSpool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spool := t.TempDir() + "/spool"
		msg := func(s string) string {
			return "From: me@work.example\r\nTo: a@x.example\r\nSubject: " + s + "\r\n\r\nbody\r\n"
		}
		sending := queuedRec("sending.eml", StateSending, "work", 2)
		sending.Attempts = 1
		failedInQueue := queuedRec("halfway-failed.eml", StateFailed, "work", 4)
		failedInQueue.Error = "rejected: 550 no (2026-11-26 10:00 UTC)"
		moved := queuedRec("gone-account.eml", StateQueued, "old", 6)
		moved.From = "ME@home.example"
		mkMessage(t, spool, queueDir, "q1", queuedRec("queued.eml", StateQueued, "work", 1), msg("queued"))
		mkMessage(t, spool, queueDir, "s1", sending, msg("sending"))
		mkMessage(t, spool, queueDir, "c1", queuedRec("copy.eml", StateSent, "work", 3), msg("copy"))
		mkMessage(t, spool, queueDir, "f1", failedInQueue, msg("halfway-failed"))
		mkMessage(t, spool, failedDir, "r1", queuedRec("halfway-retried.eml", StateQueued, "work", 5), msg("halfway-retried"))
		mkMessage(t, spool, queueDir, "g1", moved, msg("gone-account"))
		mkMessage(t, spool, queueDir, "bad", nil, msg("bad-state"))
		os.WriteFile(filepath.Join(spool, queueDir, "bad", stateFile), []byte("{truncated"), 0o600)
		mkMessage(t, spool, queueDir, "nomsg", queuedRec("nomsg.eml", StateQueued, "work", 7), "")
		os.Remove(filepath.Join(spool, queueDir, "nomsg", messageFile))
		os.MkdirAll(filepath.Join(spool, tmpDir, "d1"), 0o700)
		os.WriteFile(filepath.Join(spool, tmpDir, "d1", draftFile), []byte(msg("draft")), 0o600)
		mkMessage(t, spool, tmpDir, "gone-x", queuedRec("removed.eml", StateQueued, "work", 8), msg("removed"))

		c := &fakeCopier{}
		e := newEnv(t, func(o *Options) {
			o.Dir = spool
			o.Accounts[0].SentCopy = c.copy
		})
		if q := names(e.ob.Queued()); !slices.Equal(q, []string{"queued.eml", "sending.eml", "halfway-retried.eml", "gone-account.eml"}) {
			t.Errorf("Queued() after Open = %q", q)
		}
		if q := e.ob.Queued(); q[1].State != StateQueued || !strings.Contains(q[1].LastError, "stopped while sending") {
			t.Errorf("sending.eml after Open: %+v, want queued with a reason", q[1])
		}
		if f := names(e.ob.Failed()); !slices.Equal(f, []string{"bad.eml", "halfway-failed.eml"}) {
			t.Errorf("Failed() after Open = %q", f)
		}
		if text, _ := e.ob.FailedError("bad.eml"); !strings.Contains(text, "could not read this message's state") {
			t.Errorf("bad.eml.error = %q", text)
		}
		if left := e.spoolEntries(tmpDir); len(left) != 0 {
			t.Errorf("tmp/ holds %v after Open", left)
		}

		e.start()
		synctest.Wait()
		subjects := func(ms []sentMsg) []string {
			var s []string
			for _, m := range ms {
				i := strings.Index(m.data, "Subject: ")
				s = append(s, strings.TrimSpace(strings.SplitN(m.data[i+9:], "\r\n", 2)[0]))
			}
			return s
		}
		if got := subjects(e.work.got()); !slices.Equal(got, []string{"queued", "sending", "halfway-retried"}) {
			t.Errorf("work sent %q, want queued, sending, halfway-retried once each", got)
		}
		if got := subjects(e.home.got()); !slices.Equal(got, []string{"gone-account"}) {
			t.Errorf("home sent %q, want gone-account (rerouted by its envelope sender)", got)
		}
		c.mu.Lock()
		n := 0
		for _, cp := range c.copies {
			if strings.Contains(cp, "Subject: copy\r\n") {
				n++
			}
		}
		if len(c.copies) != 4 || n != 1 {
			t.Errorf("Sent copies: %d (%d of copy.eml), want copy.eml's once and the three sent by work", len(c.copies), n)
		}
		c.mu.Unlock()
		e.stop()
		e.reopen()
		if q := e.ob.Queued(); len(q) != 0 {
			t.Errorf("Queued() after second Open = %v", names(q))
		}
		if left := e.spoolEntries(queueDir); len(left) != 0 {
			t.Errorf("queue/ holds %v", left)
		}
		if left := e.spoolEntries(failedDir); len(left) != 2 {
			t.Errorf("failed/ holds %v, want 2", left)
		}
	})
}

func TestRecoverGoneAccountWithoutDefault(t *testing.T) {
	spool := t.TempDir() + "/spool"
	rec := queuedRec("lost.eml", StateQueued, "old", 1)
	rec.From = "me@old.example"
	mkMessage(t, spool, queueDir, "l1", rec, "To: a@x.example\r\n\r\nhi\r\n")
	e := newEnv(t, func(o *Options) {
		o.Dir = spool
		o.Accounts[0].Default = false
	})
	checkFailed(t, e, "lost.eml", "account old is no longer configured")
}
