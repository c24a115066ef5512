package cache

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

func TestRelistFetchesOnlyNewUIDs(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.store.add("INBOX", "old")
	}
	wantUIDs(t, e.list("INBOX", 0), 1, 2, 3)

	// Nothing changed: one STATUS, no listing.
	e.store.resetCounts()
	wantUIDs(t, e.list("INBOX", 0), 1, 2, 3)
	wantCalls(t, e.store, "Status", 1)
	wantCalls(t, e.store, "Messages", 0)
	wantCalls(t, e.store, "Flags", 0)

	e.store.add("INBOX", "new")
	e.store.add("INBOX", "newer")
	e.store.resetCounts()
	wantUIDs(t, e.list("INBOX", 0), 1, 2, 3, 4, 5)
	if !slices.Equal(e.store.minUIDs, []uint32{4}) {
		t.Errorf("Messages minUID: got %v, want [4]", e.store.minUIDs)
	}

	// A fresh listing is served without contacting the server.
	e.store.resetCounts()
	e.clock.Advance(30 * time.Second)
	wantUIDs(t, e.list("INBOX", time.Minute), 1, 2, 3, 4, 5)
	wantCalls(t, e.store, "Status", 0)

	// The new messages were stored too.
	e.reopen()
	wantUIDs(t, e.list("INBOX", time.Minute), 1, 2, 3, 4, 5)
}

func TestVanishedMessagesRemoved(t *testing.T) {
	e := newEnv(t)
	for range 4 {
		e.store.add("INBOX", "m")
	}
	l := e.list("INBOX", 0)
	e.read("INBOX", l.UIDValidity, 2)
	e.read("INBOX", l.UIDValidity, 3)

	e.store.expunge("INBOX", 2)
	e.store.add("INBOX", "new") // UID 5: counts add up only with Flags
	e.store.resetCounts()
	wantUIDs(t, e.list("INBOX", 0), 1, 3, 4, 5)
	wantCalls(t, e.store, "Flags", 1)
	if e.bodyExists("INBOX", l.UIDValidity, 2) {
		t.Error("body of vanished UID 2 still cached")
	}
	if !e.bodyExists("INBOX", l.UIDValidity, 3) {
		t.Error("body of UID 3 was deleted")
	}
	if _, err := e.a.Open(context.Background(), "INBOX", l.UIDValidity, 2); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Open of vanished UID: got %v, want ErrNotFound", err)
	}

	e.reopen()
	e.store.setDown(true)
	wantUIDs(t, e.list("INBOX", 0), 1, 3, 4, 5)
}

func TestFlagChanges(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	e.store.add("INBOX", "b", `\Seen`)
	e.list("INBOX", 0)

	e.store.setFlags("INBOX", 1, `\Seen`, `\Flagged`)
	e.store.setFlags("INBOX", 2)
	e.store.resetCounts()
	l := e.list("INBOX", 0)
	wantCalls(t, e.store, "Messages", 0)
	wantCalls(t, e.store, "Flags", 1)
	if got := l.Messages[0].Flags; !slices.Equal(got, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("UID 1 flags: got %q, want [\\Flagged \\Seen]", got)
	}
	if got := l.Messages[1].Flags; len(got) != 0 {
		t.Errorf("UID 2 flags: got %q, want none", got)
	}
	e.reopen()
	l = e.list("INBOX", time.Minute)
	if got := l.Messages[0].Flags; !slices.Equal(got, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("UID 1 flags after reopen: got %q", got)
	}
}

// Without CONDSTORE a flag change leaves the counters alone; Invalidate
// (called by a watcher) makes the next List read flags.
func TestInvalidateReadsFlags(t *testing.T) {
	e := newEnv(t)
	e.store.condstore = false
	e.store.add("INBOX", "a")
	e.list("INBOX", time.Minute)
	e.store.setFlags("INBOX", 1, `\Answered`)

	e.store.resetCounts()
	e.list("INBOX", time.Minute)
	wantCalls(t, e.store, "Status", 0)

	e.a.Invalidate("INBOX")
	l := e.list("INBOX", time.Minute)
	wantCalls(t, e.store, "Flags", 1)
	if got := l.Messages[0].Flags; !slices.Equal(got, []string{`\Answered`}) {
		t.Errorf("flags: got %q, want [\\Answered]", got)
	}
}

func TestUIDValidityChangeDropsFolder(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	e.store.add("INBOX", "b")
	old := e.list("INBOX", 0)
	e.read("INBOX", old.UIDValidity, 1)

	e.store.expunge("INBOX", 1)
	e.store.renumber("INBOX") // b becomes UID 1 under a new UIDVALIDITY
	e.store.resetCounts()
	l := e.list("INBOX", 0)
	if l.UIDValidity == old.UIDValidity {
		t.Fatalf("UIDVALIDITY: got %d, want a new one", l.UIDValidity)
	}
	wantUIDs(t, l, 1)
	if !slices.Equal(e.store.minUIDs, []uint32{1}) {
		t.Errorf("Messages minUID: got %v, want a full relist [1]", e.store.minUIDs)
	}
	if e.bodyExists("INBOX", old.UIDValidity, 1) {
		t.Error("body under the old UIDVALIDITY still cached")
	}
	if _, err := e.a.Open(context.Background(), "INBOX", old.UIDValidity, 1); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Open under the old UIDVALIDITY: got %v, want ErrNotFound", err)
	}
	if got := e.read("INBOX", l.UIDValidity, 1); string(got) != string(e.store.body("INBOX", 1)) {
		t.Errorf("body under the new UIDVALIDITY: got %q", got)
	}
	if e.log.count(slogWarn, "UIDVALIDITY changed; dropping the mailbox's cache") != 1 {
		t.Error("UIDVALIDITY change not logged")
	}
}

// A UIDVALIDITY change between STATUS and the listing restarts the sync
// once, from scratch.
func TestUIDValidityChangeMidSync(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	e.store.add("INBOX", "b")
	old := e.list("INBOX", 0)

	e.store.add("INBOX", "c")
	var once sync.Once
	e.store.onMessage = func(string) { once.Do(func() { e.store.renumber("INBOX") }) }
	e.store.resetCounts()
	l := e.list("INBOX", 0)
	if l.UIDValidity == old.UIDValidity {
		t.Fatalf("UIDVALIDITY: got %d, want the new one", l.UIDValidity)
	}
	wantUIDs(t, l, 1, 2, 3)
	wantCalls(t, e.store, "Status", 2)
	if !slices.Equal(e.store.minUIDs, []uint32{3, 1}) {
		t.Errorf("Messages minUID: got %v, want [3 1]", e.store.minUIDs)
	}
}

func TestConcurrentListsShareOneSync(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	gate := make(chan struct{})
	e.store.gate = gate
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := e.a.List(context.Background(), "INBOX", 0)
			errs <- err
		})
	}
	waitWaiters(t, &e.a.syncs, "INBOX", n)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("List: %v", err)
		}
	}
	wantCalls(t, e.store, "Status", 1)
	wantCalls(t, e.store, "Messages", 1)
}

// A caller that gives up does not fail the others sharing its sync.
func TestCancelledWaiterLeavesSyncRunning(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	gate := make(chan struct{})
	e.store.gate = gate
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := e.a.List(ctx, "INBOX", 0)
		first <- err
	}()
	waitWaiters(t, &e.a.syncs, "INBOX", 1)
	second := make(chan error, 1)
	go func() {
		_, err := e.a.List(context.Background(), "INBOX", 0)
		second <- err
	}()
	waitWaiters(t, &e.a.syncs, "INBOX", 2)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled List: got %v, want context.Canceled", err)
	}
	close(gate)
	if err := <-second; err != nil {
		t.Errorf("second List: %v", err)
	}
}

// waitWaiters waits until n callers wait for the flight key.
func waitWaiters[K comparable, V any](t *testing.T, g *flightGroup[K, V], key K, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		got := 0
		if f := g.flights[key]; f != nil {
			got = f.waiters
		}
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiters: got %d, want %d", got, n)
		}
		runtime.Gosched()
	}
}

// A sync whose every waiter gave up goes on in the background; a List
// after that starts another sync. The abandoned one must not publish its
// older view of the mailbox over the newer one: that hid a message that
// is on the server (taken for expunged since the old flag list lacks it).
func TestAbandonedSyncDoesNotUndoNewerOne(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	ctx := context.Background()
	if _, err := e.a.List(ctx, "INBOX", 0); err != nil {
		t.Fatal(err)
	}
	e.store.setFlags("INBOX", 1, `\Seen`) // the next sync reads the flags

	inFlags := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	e.store.afterFlags = func() {
		first := false
		once.Do(func() { first = true })
		if first {
			close(inFlags)
			<-release
		}
	}
	ctxA, cancelA := context.WithCancel(ctx)
	doneA := make(chan error, 1)
	go func() {
		_, err := e.a.List(ctxA, "INBOX", 0)
		doneA <- err
	}()
	<-inFlags // sync A has the flags of message 1 only
	cancelA()
	if err := <-doneA; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned List: got %v, want context.Canceled", err)
	}

	uid := e.store.add("INBOX", "b")
	doneB := make(chan error, 1)
	go func() {
		_, err := e.a.List(ctx, "INBOX", 0)
		doneB <- err
	}()
	select {
	case err := <-doneB:
		doneB <- err
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-doneB; err != nil {
		t.Fatalf("List: %v", err)
	}
	waitFlights(t, &e.a.syncs)
	l, err := e.a.List(ctx, "INBOX", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Find(uid); !ok {
		t.Errorf("message %d, on the server, is missing from the listing %v", uid, l.Messages)
	}
}

// waitFlights waits until the flight group runs nothing.
func waitFlights[K comparable, V any](t *testing.T, g *flightGroup[K, V]) {
	t.Helper()
	g.c.wg.Wait()
}

// listingStore is the fake store with the lister extension: a whole
// listing with its status in one call.
type listingStore struct{ *fakeStore }

func (s listingStore) Listing(ctx context.Context, mbox string, fn func(remote.MessageInfo) error) (remote.MailboxStatus, error) {
	st, err := s.Status(ctx, mbox)
	if err != nil {
		return st, err
	}
	s.mu.Lock()
	s.calls["Status"]-- // counted as part of Listing
	s.calls["Listing"]++
	s.mu.Unlock()
	return st, s.Messages(ctx, mbox, st.UIDValidity, 1, fn)
}

// A first listing through a store that lists with its status costs no
// STATUS; later syncs use STATUS as before.
func TestFirstListingWithoutStatus(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	e.store.add("INBOX", "b")
	e.a = e.c.Account("lister", listingStore{e.store}, nil)
	wantUIDs(t, e.list("INBOX", 0), 1, 2)
	wantCalls(t, e.store, "Listing", 1)
	wantCalls(t, e.store, "Status", 0)
	e.store.add("INBOX", "c")
	wantUIDs(t, e.list("INBOX", 0), 1, 2, 3)
	wantCalls(t, e.store, "Listing", 1)
	wantCalls(t, e.store, "Status", 1)
}
