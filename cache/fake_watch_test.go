package cache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// Fakes for the tests of Run, Subscribe and progress (watch_test.go,
// progress_test.go): fakeStore as a remote.Watcher, fakeStore with a clock
// that moves while it lists or fetches, and a subscriber that records.

// watchStore is fakeStore as a remote.Watcher that plays IMAP IDLE: Watch
// records the call, keeps changed until ctx is done, and returns an error
// wrapping remote.ErrUnsupported at once for the mailboxes in unsupported.
// The test calls trigger to play the server's word of a change.
type watchStore struct {
	*fakeStore

	wmu         sync.Mutex
	unsupported map[string]bool   // mailbox -> no IDLE there
	changed     map[string]func() // mailbox -> changed of the Watch running for it
	watched     []string          // mailbox of every Watch call
	running     int               // Watch calls not returned yet
	// linger is how long Watch takes to return once ctx is done (a
	// connection's LOGOUT).
	linger time.Duration
}

var _ remote.Watcher = (*watchStore)(nil)

func newWatchStore(f *fakeStore, unsupported ...string) *watchStore {
	w := &watchStore{fakeStore: f, unsupported: map[string]bool{}, changed: map[string]func(){}}
	for _, mb := range unsupported {
		w.unsupported[mb] = true
	}
	return w
}

func (w *watchStore) Watch(ctx context.Context, mailbox string, changed func()) error {
	w.wmu.Lock()
	w.watched = append(w.watched, mailbox)
	if w.unsupported[mailbox] {
		w.wmu.Unlock()
		return fmt.Errorf("watch %s: the server has no IDLE: %w", mailbox, remote.ErrUnsupported)
	}
	w.changed[mailbox] = changed
	w.running++
	w.wmu.Unlock()
	<-ctx.Done()
	w.wmu.Lock()
	linger := w.linger
	w.wmu.Unlock()
	time.Sleep(linger)
	w.wmu.Lock()
	delete(w.changed, mailbox)
	w.running--
	w.wmu.Unlock()
	return ctx.Err()
}

// watchCalls returns the mailboxes Watch was called for, sorted.
func (w *watchStore) watchCalls() []string {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return slices.Sorted(slices.Values(w.watched))
}

// watching returns the number of Watch calls still running.
func (w *watchStore) watching() int {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.running
}

// waitWatch waits until a Watch of mailbox runs.
func (w *watchStore) waitWatch(t *testing.T, mailbox string) {
	t.Helper()
	waitFor(t, time.Second, "Watch("+mailbox+") running", func() bool {
		w.wmu.Lock()
		defer w.wmu.Unlock()
		return w.changed[mailbox] != nil
	})
}

// trigger plays the server reporting a change in mailbox to its Watch.
func (w *watchStore) trigger(t *testing.T, mailbox string) {
	t.Helper()
	w.wmu.Lock()
	fn := w.changed[mailbox]
	w.wmu.Unlock()
	if fn == nil {
		t.Fatalf("trigger %s: no Watch runs for it", mailbox)
	}
	fn()
}

// clockStore is fakeStore whose clock (the cache's injected one) moves
// forward by step before each message it lists and each body it
// delivers: a slow server, without sleeping.
type clockStore struct {
	*fakeStore
	clock *testClock
	step  time.Duration
}

func (s *clockStore) Messages(ctx context.Context, mbox string, uidValidity, minUID uint32, fn func(remote.MessageInfo) error) error {
	return s.fakeStore.Messages(ctx, mbox, uidValidity, minUID, func(mi remote.MessageInfo) error {
		s.clock.Advance(s.step)
		return fn(mi)
	})
}

func (s *clockStore) Fetch(ctx context.Context, mbox string, uidValidity uint32, uids []uint32, fn func(uint32, io.Reader) error) error {
	return s.fakeStore.Fetch(ctx, mbox, uidValidity, uids, func(uid uint32, r io.Reader) error {
		s.clock.Advance(s.step)
		return fn(uid, r)
	})
}

// listerStore is clockStore with the lister's one-round-trip Listing, as
// remote/imap has: a first listing then asks no STATUS.
type listerStore struct{ *clockStore }

var _ lister = listerStore{}

func (s listerStore) Listing(ctx context.Context, mbox string, fn func(remote.MessageInfo) error) (remote.MailboxStatus, error) {
	st, err := s.Status(ctx, mbox)
	if err != nil {
		return st, err
	}
	return st, s.Messages(ctx, mbox, st.UIDValidity, 1, fn)
}

// newStoreEnv is newEnv with the account opened on store (which wraps
// e.store, the fakeStore it returns).
func newStoreEnv(t *testing.T, wrap func(e *env) remote.Store) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir() + "/cache", clock: newClock(), log: &logRecorder{}, store: newFakeStore()}
	e.opts = Options{Logger: slog.New(e.log), Now: e.clock.Now}
	c, err := Open(e.dir, &e.opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	e.c = c
	e.a = c.Account("acct", wrap(e), nil)
	return e
}

// changeLog records what an Account publishes to its subscribers.
type changeLog struct {
	mu      sync.Mutex
	changes []remote.Change
}

func subscribe(a *Account) *changeLog {
	l := &changeLog{}
	a.Subscribe(func(ch remote.Change) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.changes = append(l.changes, ch)
	})
	return l
}

// all returns every Change so far.
func (l *changeLog) all() []remote.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.changes)
}

// take returns the Changes so far and forgets them.
func (l *changeLog) take() []remote.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.changes
	l.changes = nil
	return out
}

// wait waits up to within for a Change of mailbox and returns the first
// (which it forgets; the others stay).
func (l *changeLog) wait(t *testing.T, mailbox string, within time.Duration) remote.Change {
	t.Helper()
	var got remote.Change
	waitFor(t, within, "a Change of "+mailbox, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, ch := range l.changes {
			if ch.Mailbox == mailbox {
				got = ch
				l.changes = slices.Delete(l.changes, i, i+1)
				return true
			}
		}
		return false
	})
	return got
}

// waitFor polls cond every few milliseconds until it holds, failing the
// test when it does not within d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: got nothing within %v, want it", what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// infoUIDs returns the UIDs of msgs.
func infoUIDs(msgs []remote.MessageInfo) []uint32 {
	var out []uint32
	for _, mi := range msgs {
		out = append(out, mi.UID)
	}
	return out
}
