package cache

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// testClock is an injected clock: tests advance it instead of sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logRecorder is a slog.Handler that keeps the records.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns the number of records at level with message msg.
func (h *logRecorder) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

// env is a cache over a fake store with an injected clock and a log.
type env struct {
	t     *testing.T
	dir   string
	clock *testClock
	log   *logRecorder
	store *fakeStore
	opts  Options
	c     *Cache
	a     *Account
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir() + "/cache", clock: newClock(), log: &logRecorder{}, store: newFakeStore()}
	e.opts = Options{Logger: slog.New(e.log), Now: e.clock.Now}
	e.open()
	return e
}

// open opens the cache (again) with e.opts.
func (e *env) open() {
	e.t.Helper()
	c, err := Open(e.dir, &e.opts)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	e.c = c
	e.a = c.Account("acct", e.store, nil)
}

// reopen closes the cache and opens it again.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.c.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

func (e *env) list(mbox string, maxAge time.Duration) *remote.Listing {
	e.t.Helper()
	l, err := e.a.List(context.Background(), mbox, maxAge)
	if err != nil {
		e.t.Fatalf("List(%s): %v", mbox, err)
	}
	return l
}

func (e *env) read(mbox string, uidValidity, uid uint32) []byte {
	e.t.Helper()
	f, err := e.a.Open(context.Background(), mbox, uidValidity, uid)
	if err != nil {
		e.t.Fatalf("Open(%s, %d, %d): %v", mbox, uidValidity, uid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		e.t.Fatalf("read %s/%d: %v", mbox, uid, err)
	}
	return b
}

func (e *env) bodyExists(mbox string, uidValidity, uid uint32) bool {
	_, err := os.Stat(e.c.bodyPath("acct", mbox, uidValidity, uid))
	return err == nil
}

func uidsOf(l *remote.Listing) []uint32 {
	var out []uint32
	for _, m := range l.Messages {
		out = append(out, m.UID)
	}
	return out
}

func wantUIDs(t *testing.T, l *remote.Listing, want ...uint32) {
	t.Helper()
	if got := uidsOf(l); !slices.Equal(got, want) {
		t.Fatalf("listing UIDs: got %v, want %v", got, want)
	}
}

func wantCalls(t *testing.T, f *fakeStore, method string, want int) {
	t.Helper()
	if got := f.count(method); got != want {
		t.Errorf("%s calls: got %d, want %d", method, got, want)
	}
}

const slogWarn = slog.LevelWarn
