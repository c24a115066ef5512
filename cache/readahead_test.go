package cache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// The window grows while a reader goes through the listing in order and
// starts over after a jump; batches start before the reader gets there.
func TestReadAheadWindow(t *testing.T) {
	const n = 10000
	r := newReadAhead()
	if got, want := r.onMiss(100, n), (span{100, 100 + raInitial}); got != want {
		t.Fatalf("first miss: got %v, want %v", got, want)
	}
	// Opening the same message again changes nothing.
	if s, ok := r.onHit(100, n); ok {
		t.Fatalf("reopen of 100 started %v", s)
	}
	// In sequence, the next batch starts at once, larger; the one after it
	// too, since the reader is within two windows of the frontier; a
	// third may not run beside them.
	s, ok := r.onHit(101, n)
	if want := (span{108, 108 + 4*raInitial}); !ok || s != want {
		t.Fatalf("hit at 101: got %v %v, want %v", s, ok, want)
	}
	s, ok = r.onHit(102, n)
	if want := (span{140, 140 + 8*raInitial}); !ok || s != want {
		t.Fatalf("hit at 102: got %v %v, want %v", s, ok, want)
	}
	for p := 103; p < 200; p++ {
		if s, ok := r.onHit(p, n); ok {
			t.Fatalf("hit at %d with %d batches running: started %v", p, raInFlight, s)
		}
	}
	r.done()
	s, ok = r.onHit(200, n)
	if want := (span{204, 204 + 16*raInitial}); !ok || s != want {
		t.Fatalf("after a batch ended: got %v %v, want %v", s, ok, want)
	}
	// Far behind the frontier, nothing starts.
	r.done()
	r.last, r.frontier = 10, 1000
	if s, ok := r.onHit(11, n); ok {
		t.Errorf("hit far behind the frontier started %v", s)
	}
	// A jump starts over with a small window, and so does a reader out of
	// sequence.
	if got, want := r.onMiss(5000, n), (span{5000, 5000 + raInitial}); got != want {
		t.Errorf("miss after a jump: got %v, want %v", got, want)
	}
	if s, ok := r.onHit(20, n); ok {
		t.Errorf("hit out of sequence started %v", s)
	}
	// The first message of a folder starts a scan with a larger window.
	if got, want := newReadAhead().onMiss(0, n), (span{0, 4 * raInitial}); got != want {
		t.Errorf("miss at the first message: got %v, want %v", got, want)
	}
	// Windows stop at the end of the listing and at raMax.
	if got, want := r.onMiss(n-3, n), (span{n - 3, n}); got != want {
		t.Errorf("miss near the end: got %v, want %v", got, want)
	}
	r = newReadAhead()
	var last span
	for p := 0; p < n; p++ {
		if p == 0 {
			last = r.onMiss(0, n)
			continue
		}
		if s, ok := r.onHit(p, n); ok {
			last = s
			r.done()
		}
	}
	if got := last.to - last.from; got > raMax {
		t.Errorf("window after %d reads in sequence: %d messages, want at most %d", n, got, raMax)
	}
}

// addMany adds n messages to mbox of the fake store.
func addMany(e *env, mbox string, n int) {
	for i := range n {
		e.store.add(mbox, fmt.Sprintf("message %d", i))
	}
}

// Reading a cold 500-message mailbox in listing order costs a handful of
// FETCH commands, and every byte is right.
func TestSequentialReadFetchesInBatches(t *testing.T) {
	e := newEnv(t)
	addMany(e, "INBOX", 500)
	l := e.list("INBOX", 0)
	for _, m := range l.Messages {
		if got, want := e.read("INBOX", l.UIDValidity, m.UID), e.store.body("INBOX", m.UID); !bytes.Equal(got, want) {
			t.Fatalf("body %d: got %q, want %q", m.UID, got, want)
		}
	}
	e.c.wg.Wait() // the fake records a body after the cache has it
	if got := e.store.count("Fetch"); got > 12 {
		t.Errorf("FETCH commands for 500 messages read in order: got %d, want at most 12", got)
	}
	if got := len(e.store.fetchedUIDs()); got != 500 {
		t.Errorf("bodies fetched: got %d, want each of the 500 once", got)
	}
}

// One open in a cold mailbox fetches that body and a few after it, not
// the mailbox.
func TestLoneOpenFetchesLittle(t *testing.T) {
	e := newEnv(t)
	addMany(e, "INBOX", 500)
	l := e.list("INBOX", 0)
	uid := l.Messages[250].UID
	if got, want := e.read("INBOX", l.UIDValidity, uid), e.store.body("INBOX", uid); !bytes.Equal(got, want) {
		t.Fatalf("body: got %q, want %q", got, want)
	}
	e.c.wg.Wait() // let any read-ahead finish before counting
	if got := len(e.store.fetchedUIDs()); got < 1 || got > raInitial {
		t.Errorf("bodies fetched for one open: got %d, want 1 to %d", got, raInitial)
	}
	wantCalls(t, e.store, "Fetch", 1)
}

// A connection cut in the middle of a batch leaves the complete bodies
// cached, fetches the rest again, and never commits the body it cut.
func TestBatchCutMidway(t *testing.T) {
	e := newEnv(t)
	addMany(e, "INBOX", 20)
	l := e.list("INBOX", 0)
	e.store.mu.Lock()
	e.store.cutAfter = 4 // 3 whole bodies, then half of the 4th
	e.store.mu.Unlock()
	first := l.Messages[0].UID
	if got, want := e.read("INBOX", l.UIDValidity, first), e.store.body("INBOX", first); !bytes.Equal(got, want) {
		t.Fatalf("body %d: got %q, want %q", first, got, want)
	}
	e.c.wg.Wait() // the batch, with its second try
	for _, m := range l.Messages[:raInitial] {
		got, err := os.ReadFile(e.c.bodyPath("acct", "INBOX", l.UIDValidity, m.UID))
		if want := e.store.body("INBOX", m.UID); err != nil || !bytes.Equal(got, want) {
			t.Errorf("cached body %d after the cut: got %q, %v; want %q", m.UID, got, err, want)
		}
	}
	if got := e.store.count("Fetch"); got < 2 {
		t.Errorf("FETCH commands: got %d, want the cut one and one for the rest", got)
	}
	seen := map[uint32]int{}
	for _, uid := range e.store.fetchedUIDs() {
		seen[uid]++
	}
	for uid, n := range seen {
		if n != 1 {
			t.Errorf("body %d delivered whole %d times, want once", uid, n)
		}
	}
}

// A reader that scans a mailbox in order goes on to the next (the fake
// lists mailboxes by name): once it has had all of the first requested,
// the next mailbox's listing is synced and its first window fetched in the
// background. A lone open does not.
func TestScanAheadIntoNextMailbox(t *testing.T) {
	e := newEnv(t)
	e.store.create("Jnext")
	e.store.create("Klast")
	addMany(e, "INBOX", 20)
	addMany(e, "Jnext", 50)
	addMany(e, "Klast", 5)
	if _, err := e.a.Mailboxes(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	l := e.list("INBOX", 0)
	e.read("INBOX", l.UIDValidity, l.Messages[3].UID) // a lone open
	e.c.wg.Wait()
	if e.store.count("Status")+e.store.count("Messages") > 2 {
		t.Fatalf("a lone open synced another mailbox: %d STATUS, %d listings", e.store.count("Status"), e.store.count("Messages"))
	}
	for _, m := range l.Messages {
		e.read("INBOX", l.UIDValidity, m.UID)
	}
	e.c.wg.Wait()
	next := e.list("Jnext", time.Hour) // no sync: the scan-ahead did it
	listings := e.store.count("Messages")
	got := 0
	for _, m := range next.Messages {
		if e.bodyExists("Jnext", next.UIDValidity, m.UID) {
			got++
		}
	}
	if got != 4*raInitial {
		t.Errorf("bodies of the next mailbox fetched ahead: %d, want %d", got, 4*raInitial)
	}
	if l := e.list("Jnext", 5*time.Second); len(l.Messages) != 50 || e.store.count("Messages") != listings {
		t.Errorf("listing the next mailbox after the scan-ahead: %d messages, %d more listings; want 50 and none", len(l.Messages), e.store.count("Messages")-listings)
	}
	wantCalls(t, e.store, "Fetch", 3) // INBOX's lone open and its scan, and the next mailbox's first window
	if last := e.list("Klast", 0); e.bodyExists("Klast", last.UIDValidity, last.Messages[0].UID) {
		t.Error("the mailbox after the next one was read ahead too")
	}
}
