package pop3store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailfs/remote"
)

func TestFirstDownload(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")), msg("c", sample("three")))
	e.mustPoll()
	l := e.list(Inbox)
	if got, want := subjects(l), []string{"one", "two", "three"}; !slices.Equal(got, want) {
		t.Fatalf("subjects: got %q, want %q", got, want)
	}
	for i, m := range l.Messages {
		if m.UID != uint32(i+1) {
			t.Errorf("message %d: UID %d, want %d", i, m.UID, i+1)
		}
		if want := time.Date(2026, 11, 20, 9, 15, 0, 0, time.FixedZone("", 3600)); !m.InternalDate.Equal(want) {
			t.Errorf("date: got %v, want %v", m.InternalDate, want)
		}
		if _, off := m.InternalDate.Zone(); off != 3600 {
			t.Errorf("date zone offset: got %d, want 3600 (the Date: field's zone)", off)
		}
	}
	if l.Messages[0].MessageID != "one@example.org" {
		t.Errorf("Message-ID: got %q", l.Messages[0].MessageID)
	}
	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two"), "c": sample("three")})
	if got := e.drop.totalRetr(); got != 3 {
		t.Errorf("RETR count: got %d, want 3", got)
	}
	if got := e.drop.totalDele(); got != 0 {
		t.Errorf("DELE count with leave_on_server: got %d, want 0", got)
	}
}

func TestRepollNoDuplicates(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.mustPoll()
	e.mustPoll()
	e.drop.add(msg("c", sample("three")))
	e.mustPoll()
	e.mustPoll()
	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two"), "c": sample("three")})
	for _, uid := range []string{"a", "b", "c"} {
		if got := e.drop.retrCount(uid); got != 1 {
			t.Errorf("RETR of %s: got %d, want 1", uid, got)
		}
	}
	if got := e.list(Inbox).Messages[2].UID; got != 3 {
		t.Errorf("new message UID: got %d, want 3", got)
	}
}

func TestLeaveOnServerFalse(t *testing.T) {
	e := newEnv(t, false, msg("a", sample("one")), msg("b", sample("two")))
	// Every DELE must come after the message is stored and recorded.
	e.drop.onDelete = func(uid string) {
		if !e.stored(uid) {
			t.Errorf("DELE of %s before it was stored", uid)
		}
	}
	e.mustPoll()
	if got := e.drop.uids(); len(got) != 0 {
		t.Errorf("server still has %q, want nothing", got)
	}
	if got := e.drop.totalDele(); got != 2 {
		t.Errorf("DELE count: got %d, want 2", got)
	}
	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two")})
	// The store is now the only copy; it survives a restart.
	e.reopen()
	e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two")})
}

func TestLeaveOnServerTrue(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.mustPoll()
	e.mustPoll()
	if got := e.drop.uids(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("server has %q, want [a b]", got)
	}
	if got := e.drop.totalDele(); got != 0 {
		t.Errorf("DELE count: got %d, want 0", got)
	}
}

func TestDroppedMidRETR(t *testing.T) {
	for _, leave := range []bool{true, false} {
		name := "leave"
		if !leave {
			name = "delete"
		}
		t.Run(name, func(t *testing.T) {
			body := sample("two") + string(make([]byte, 20000))
			e := newEnv(t, leave, msg("a", sample("one")), msg("b", body), msg("c", sample("three")))
			e.drop.failAfter["b"] = 10000
			err := e.poll()
			if !errors.Is(err, remote.ErrUnavailable) {
				t.Fatalf("Poll: got %v, want ErrUnavailable", err)
			}
			e.checkInbox(map[string]string{"a": sample("one")})
			if got := len(e.files()); got != 1 {
				t.Errorf("files in store: got %d, want 1", got)
			}
			// No QUIT: nothing was deleted on the server.
			if got := len(e.drop.uids()); got != 3 {
				t.Errorf("server has %d messages, want 3", got)
			}
			delete(e.drop.failAfter, "b")
			e.mustPoll()
			e.checkInbox(map[string]string{"a": sample("one"), "b": body, "c": sample("three")})
			if got := e.drop.retrCount("a"); got != 1 {
				t.Errorf("RETR of a: got %d, want 1", got)
			}
			if got := e.drop.retrCount("b"); got != 2 {
				t.Errorf("RETR of b: got %d, want 2", got)
			}
			if want := map[bool]int{true: 3, false: 0}[leave]; len(e.drop.uids()) != want {
				t.Errorf("server has %d messages, want %d", len(e.drop.uids()), want)
			}
		})
	}
}

func TestRemovePropagation(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.mustPoll()
	if err := e.s.Remove(context.Background(), Inbox, 1); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := subjects(e.list(Inbox)); !slices.Equal(got, []string{"two"}) {
		t.Fatalf("after rm: got %q, want [two]", got)
	}
	if got := len(e.files()); got != 1 {
		t.Errorf("files after rm: got %d, want 1", got)
	}
	if got := e.drop.totalDele(); got != 0 {
		t.Errorf("DELE before the next session: got %d, want 0", got)
	}
	if err := e.s.Remove(context.Background(), Inbox, 1); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("second Remove: got %v, want ErrNotFound", err)
	}
	// The pending DELE survives a restart.
	e.reopen()
	e.mustPoll()
	if got := e.drop.uids(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("server has %q, want [b]", got)
	}
	if got := e.drop.retrCount("a"); got != 1 {
		t.Errorf("RETR of a: got %d, want 1", got)
	}
	e.mustPoll()
	if got := e.drop.totalDele(); got != 1 {
		t.Errorf("DELE count: got %d, want 1 (pending deletion cleared)", got)
	}
	if n := e.pendingDele(); n != 0 {
		t.Errorf("pending deletions: got %d, want 0", n)
	}
}

func TestRemoveNotOnServerAnymore(t *testing.T) {
	e := newEnv(t, false, msg("a", sample("one")))
	e.mustPoll()
	if err := e.s.Remove(context.Background(), Inbox, 1); err != nil {
		t.Fatal(err)
	}
	e.drop.add(msg("z", sample("other")))
	e.mustPoll()
	if got := e.drop.dele["a"]; got != 1 {
		t.Errorf("DELE of a: got %d, want 1 (only the one after download)", got)
	}
	if n := e.pendingDele(); n != 0 {
		t.Errorf("pending deletions: got %d, want 0", n)
	}
}

func TestTombstone(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.drop.keepDele = true // the server ignores deletions
	e.mustPoll()
	if err := e.s.Remove(context.Background(), Inbox, 1); err != nil {
		t.Fatal(err)
	}
	e.mustPoll()
	e.reopen()
	e.mustPoll()
	if got := e.drop.retrCount("a"); got != 1 {
		t.Errorf("RETR of removed a: got %d, want 1", got)
	}
	e.checkInbox(map[string]string{"b": sample("two")})
}

func TestRestartListsAtOnce(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.mustPoll()
	e.drop.down = true
	e.reopen()
	start := time.Now()
	l, err := e.s.List(context.Background(), Inbox, time.Second)
	if err != nil {
		t.Fatalf("List with server down: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("List took %v", time.Since(start))
	}
	if got := subjects(l); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("got %q, want [one two]", got)
	}
	e.drop.down = false
	e.clock.Add(time.Hour)
	if _, err := e.s.List(context.Background(), Inbox, time.Second); err != nil {
		t.Fatal(err)
	}
	if got := e.drop.totalRetr(); got != 2 {
		t.Errorf("RETR after restart: got %d, want 2", got)
	}
}

func TestListPollsWhenStale(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	ctx := context.Background()
	l, err := e.s.List(ctx, Inbox, time.Minute)
	if err != nil || len(l.Messages) != 1 {
		t.Fatalf("first List: %v, %d messages; want 1", err, len(l.Messages))
	}
	e.drop.add(msg("b", sample("two")))
	if l, _ := e.s.List(ctx, Inbox, time.Minute); len(l.Messages) != 1 {
		t.Errorf("fresh List polled: %d messages", len(l.Messages))
	}
	e.clock.Add(2 * time.Minute)
	if l, _ := e.s.List(ctx, Inbox, time.Minute); len(l.Messages) != 2 {
		t.Errorf("stale List: %d messages, want 2", len(l.Messages))
	}
	if got := e.drop.connects; got != 2 {
		t.Errorf("sessions: got %d, want 2", got)
	}
	// maxAge below StaleAfter is raised to it.
	e.clock.Add(time.Second)
	e.s.List(ctx, Inbox, 0)
	if got := e.drop.connects; got != 2 {
		t.Errorf("sessions after List(maxAge 0) within StaleAfter: got %d, want 2", got)
	}
}

func TestConcurrentListsShareOnePoll(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.drop.chunkDelay = 20 * time.Millisecond
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			l, err := e.s.List(context.Background(), Inbox, time.Second)
			if err != nil || len(l.Messages) != 2 {
				t.Errorf("List: %v, want 2 messages", err)
			}
		})
	}
	wg.Wait()
	if got := e.drop.connects; got != 1 {
		t.Errorf("sessions: got %d, want 1", got)
	}
}

func TestListServesStoreWhenPollIsSlow(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	e.mustPoll()
	e.drop.add(msg("b", sample("two")))
	e.drop.chunkDelay = time.Hour
	e.s.opts.PollWait = 50 * time.Millisecond
	e.clock.Add(time.Hour)
	l, err := e.s.List(context.Background(), Inbox, time.Second)
	if err != nil || len(l.Messages) != 1 {
		t.Fatalf("List during a slow poll: %v, %d messages; want the store's 1", err, len(l.Messages))
	}
	// Close stops the poll; nothing is left half-written.
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	e.files()
}

func TestRunPollsUntilCancelled(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	e.drop.connected = make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.s.Run(ctx) }()
	<-e.drop.connected
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: got %v, want nil", err)
	}
}

func TestMessagesWithoutUIDLOrTwice(t *testing.T) {
	e := newEnv(t, false, msg("", sample("anon")), msg("a", sample("one")), msg("a", sample("impostor")))
	e.mustPoll()
	e.checkInbox(map[string]string{"a": sample("one")})
	if got := len(e.drop.uids()); got != 2 {
		t.Errorf("server has %d messages, want 2 (no id, and the second copy, left alone)", got)
	}
}

// pendingDele returns the number of deletions waiting for a session.
func (e *env) pendingDele() int {
	e.t.Helper()
	n := 0
	e.s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDele).Stats().KeyN
		return nil
	})
	return n
}

// A message the server refuses to RETR (-ERR, the session still usable)
// is left on the server and tried again at the next poll; it must not stop
// the messages after it from being downloaded, nor the session's DELEs
// from being committed.
func TestRetrRefusedSkipsOnlyThatMessage(t *testing.T) {
	for _, leave := range []bool{true, false} {
		t.Run(fmt.Sprint("leave=", leave), func(t *testing.T) {
			e := newEnv(t, leave, msg("a", sample("one")), msg("b", sample("two")), msg("c", sample("three")))
			e.drop.refuse = map[string]bool{"b": true}
			e.poll()
			e.checkInbox(map[string]string{"a": sample("one"), "c": sample("three")})
			want := []string{"a", "b", "c"}
			if !leave {
				want = []string{"b"}
			}
			if got := e.drop.uids(); !slices.Equal(got, want) {
				t.Errorf("server has %q, want %q", got, want)
			}
			// Once the server lets it be read, it is downloaded.
			e.drop.refuse = nil
			e.clock.Add(time.Hour)
			e.mustPoll()
			e.checkInbox(map[string]string{"a": sample("one"), "b": sample("two"), "c": sample("three")})
		})
	}
}
