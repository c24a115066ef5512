package cache

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"mailfs/remote"
)

// Tests of progress.go: long first listings and body fetches log how far
// they are, at most once per progressEvery of the injected clock
// (clockStore moves it while the fake server works).

// progressLine is one logged progress line's attributes.
type progressLine struct {
	level   slog.Level
	attrs   map[string]slog.Value
	elapsed time.Duration
}

// progressLines returns the records with message msg.
func (h *logRecorder) progressLines(msg string) []progressLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []progressLine
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		l := progressLine{level: r.Level, attrs: map[string]slog.Value{}}
		r.Attrs(func(a slog.Attr) bool {
			l.attrs[a.Key] = a.Value.Resolve()
			return true
		})
		if v, ok := l.attrs["elapsed"]; ok && v.Kind() == slog.KindDuration {
			l.elapsed = v.Duration()
		}
		out = append(out, l)
	}
	return out
}

func (l progressLine) int(key string) (int64, bool) {
	v, ok := l.attrs[key]
	if !ok || v.Kind() != slog.KindInt64 {
		return 0, false
	}
	return v.Int64(), true
}

func (l progressLine) String() string { return fmt.Sprint(l.attrs) }

func newClockEnv(t *testing.T, step time.Duration, withLister bool) *env {
	t.Helper()
	return newStoreEnv(t, func(e *env) remote.Store {
		cs := &clockStore{fakeStore: e.store, clock: e.clock, step: step}
		if withLister {
			return listerStore{cs}
		}
		return cs
	})
}

// A listing that takes less than progressEvery logs nothing.
func TestProgressShortListing(t *testing.T) {
	for _, withLister := range []bool{false, true} {
		t.Run(fmt.Sprintf("lister=%v", withLister), func(t *testing.T) {
			e := newClockEnv(t, 10*time.Millisecond, withLister)
			for i := range 400 { // 4 s in all
				e.store.add("INBOX", fmt.Sprint(i))
			}
			e.list("INBOX", 0)
			for _, msg := range []string{"listing mailbox", "listing mailbox done"} {
				if got := e.log.progressLines(msg); len(got) != 0 {
					t.Errorf("%q lines: got %v, want none", msg, got)
				}
			}
		})
	}
}

// A long first listing logs "listing mailbox" at info with how far it is
// (done of total), at most once per progressEvery, and then "listing
// mailbox done".
func TestProgressLongListing(t *testing.T) {
	e := newClockEnv(t, time.Second, false)
	const n = 23
	for i := range n {
		e.store.add("INBOX", fmt.Sprint(i))
	}
	e.list("INBOX", 0)

	lines := e.log.progressLines("listing mailbox")
	// One message a second: lines at 5, 10, 15 and 20 s.
	if len(lines) != 4 {
		t.Fatalf("%q lines: got %d (%v), want 4", "listing mailbox", len(lines), lines)
	}
	var last time.Duration
	for i, l := range lines {
		done, _ := l.int("done")
		total, _ := l.int("total")
		if l.level != slog.LevelInfo || done != int64(5*(i+1)) || total != n {
			t.Errorf("line %d: got level %v, done %d, total %d; want INFO, done %d, total %d", i, l.level, done, total, 5*(i+1), n)
		}
		if rate, ok := l.int("per_second"); !ok || rate != 1 {
			t.Errorf("line %d: got per_second %d (present %v), want 1", i, rate, ok)
		}
		if i > 0 && l.elapsed-last < progressEvery {
			t.Errorf("line %d: got %v after the one before, want at least %v", i, l.elapsed-last, progressEvery)
		}
		last = l.elapsed
	}
	done := e.log.progressLines("listing mailbox done")
	if len(done) != 1 {
		t.Fatalf("%q lines: got %d, want 1", "listing mailbox done", len(done))
	}
	if got, _ := done[0].int("done"); got != n || done[0].elapsed != n*time.Second || done[0].level != slog.LevelInfo {
		t.Errorf("done line: got done %d, elapsed %v, level %v; want %d, %v, INFO", got, done[0].elapsed, done[0].level, n, n*time.Second)
	}

	// A sync that lists only the new messages is no long listing.
	for i := range 10 {
		e.store.add("INBOX", fmt.Sprint("new", i))
	}
	e.list("INBOX", 0)
	if got := len(e.log.progressLines("listing mailbox")); got != 4 {
		t.Errorf("%q lines after an incremental sync: got %d, want still 4", "listing mailbox", got)
	}
}

// The one-round-trip first listing (remote/imap's Listing) logs its
// progress too.
func TestProgressLongListingLister(t *testing.T) {
	e := newClockEnv(t, time.Second, true)
	for i := range 12 {
		e.store.add("INBOX", fmt.Sprint(i))
	}
	e.list("INBOX", 0)
	lines := e.log.progressLines("listing mailbox")
	if len(lines) != 2 {
		t.Fatalf("%q lines: got %d (%v), want 2 (at 5 and 10 s)", "listing mailbox", len(lines), lines)
	}
	if got, _ := lines[1].int("done"); got != 10 {
		t.Errorf("second line: got done %d, want 10", got)
	}
	if got := len(e.log.progressLines("listing mailbox done")); got != 1 {
		t.Errorf("%q lines: got %d, want 1", "listing mailbox done", got)
	}
}

// fetchBatch fetches the bodies uids of INBOX as one read-ahead batch and
// waits for it.
func fetchBatch(t *testing.T, e *env, uids ...uint32) {
	t.Helper()
	m, err := e.a.box("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	if _, err := e.a.startFetch(m, 1000, uids, 0, func() { close(done) }); err != nil {
		t.Fatalf("startFetch: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("batch: not done after 5s")
	}
}

// Bodies fetched in several batches that follow each other are one
// operation: "fetching message bodies" at most once per progressEvery, with
// done of the listing's total and a rate.
func TestProgressBodies(t *testing.T) {
	e := newClockEnv(t, time.Second, false)
	var uids []uint32
	for i := range 30 {
		uids = append(uids, e.store.addSized("INBOX", fmt.Sprint(i), 0))
	}
	e.list("INBOX", 0)

	fetchBatch(t, e, uids[0:3]...) // 3 s: nothing to say yet
	if got := e.log.progressLines("fetching message bodies"); len(got) != 0 {
		t.Errorf("lines after a short batch: got %v, want none", got)
	}
	fetchBatch(t, e, uids[3:9]...)   // lines at 5 s
	fetchBatch(t, e, uids[9:20]...)  // 10, 15, 20 s
	fetchBatch(t, e, uids[20:21]...) // 21 s: too soon after the last
	lines := e.log.progressLines("fetching message bodies")
	if len(lines) != 4 {
		t.Fatalf("lines: got %d (%v), want 4", len(lines), lines)
	}
	for i, l := range lines {
		done, _ := l.int("done")
		total, _ := l.int("total")
		if l.level != slog.LevelInfo || done != int64(5*(i+1)) || total != 30 {
			t.Errorf("line %d: got level %v, done %d, total %d; want INFO, done %d, total 30", i, l.level, done, total, 5*(i+1))
		}
		if rate, ok := l.int("per_second"); !ok || rate != 1 {
			t.Errorf("line %d: got per_second %d (present %v), want 1", i, rate, ok)
		}
		if _, ok := l.attrs["MB_per_second"]; !ok {
			t.Errorf("line %d: got no MB_per_second, want one", i)
		}
		if l.elapsed != time.Duration(5*(i+1))*time.Second {
			t.Errorf("line %d: got elapsed %v, want %v", i, l.elapsed, time.Duration(5*(i+1))*time.Second)
		}
	}
}

// A batch after a pause of progressEvery starts a new operation: the one
// before logs its end, with the time and rate of its work, not of the
// pause.
func TestProgressBodiesAfterPause(t *testing.T) {
	e := newClockEnv(t, time.Second, false)
	var uids []uint32
	for i := range 20 {
		uids = append(uids, e.store.add("INBOX", fmt.Sprint(i)))
	}
	e.list("INBOX", 0)
	fetchBatch(t, e, uids[0:10]...) // 10 s, lines at 5 and 10 s
	if got := len(e.log.progressLines("fetching message bodies")); got != 2 {
		t.Fatalf("lines of the first operation: got %d, want 2", got)
	}
	e.clock.Advance(time.Hour)
	fetchBatch(t, e, uids[10:12]...) // a new, short one
	done := e.log.progressLines("fetching message bodies done")
	if len(done) != 1 {
		t.Fatalf("%q lines: got %d, want 1", "fetching message bodies done", len(done))
	}
	if got, _ := done[0].int("done"); got != 10 {
		t.Errorf("done line: got done %d, want 10", got)
	}
	if done[0].elapsed != 10*time.Second {
		t.Errorf("done line: got elapsed %v, want 10s (the work, not the hour's pause after it)", done[0].elapsed)
	}
	if rate, _ := done[0].int("per_second"); rate != 1 {
		t.Errorf("done line: got per_second %d, want 1", rate)
	}
	if got := len(e.log.progressLines("fetching message bodies")); got != 2 {
		t.Errorf("lines after the short batch: got %d, want still 2", got)
	}
}
