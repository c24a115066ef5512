package cache

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"mailfs/remote"
)

const msgUnreachable = "mail server unreachable; serving cached data"

func TestOfflineServesCacheAndWaitsRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	ctx := context.Background()
	if _, err := e.a.Mailboxes(ctx, 0); err != nil {
		t.Fatal(err)
	}
	e.list("INBOX", 0)

	e.store.setDown(true)
	e.store.resetCounts()
	wantUIDs(t, e.list("INBOX", 0), 1)
	wantCalls(t, e.store, "Status", 1)

	// Within RetryAfter nothing contacts the server.
	e.clock.Advance(DefaultRetryAfter - time.Second)
	wantUIDs(t, e.list("INBOX", 0), 1)
	if _, err := e.a.Mailboxes(ctx, 0); err != nil {
		t.Errorf("Mailboxes offline: %v", err)
	}
	wantCalls(t, e.store, "Status", 1)
	wantCalls(t, e.store, "Mailboxes", 0)

	// After it, one new attempt.
	e.clock.Advance(2 * time.Second)
	wantUIDs(t, e.list("INBOX", 0), 1)
	wantCalls(t, e.store, "Status", 2)
	if n := e.log.count(slog.LevelWarn, msgUnreachable); n != 1 {
		t.Errorf("warnings about the outage: got %d, want 1", n)
	}

	// Back online after the window: syncs and logs the recovery.
	e.store.setDown(false)
	e.store.add("INBOX", "b")
	e.clock.Advance(DefaultRetryAfter)
	wantUIDs(t, e.list("INBOX", 0), 1, 2)
	if n := e.log.count(slog.LevelInfo, "mail server reachable again"); n != 1 {
		t.Errorf("recovery logs: got %d, want 1", n)
	}
}

func TestRetryAfterOption(t *testing.T) {
	e := newEnv(t)
	e.opts.RetryAfter = time.Minute
	e.reopen()
	e.store.add("INBOX", "a")
	e.list("INBOX", 0)
	e.store.setDown(true)
	e.store.resetCounts()
	e.list("INBOX", 0)
	e.clock.Advance(59 * time.Second)
	e.list("INBOX", 0)
	wantCalls(t, e.store, "Status", 1)
	e.clock.Advance(2 * time.Second)
	e.list("INBOX", 0)
	wantCalls(t, e.store, "Status", 2)
}

func TestOfflineWithNothingCached(t *testing.T) {
	e := newEnv(t)
	e.store.setDown(true)
	ctx := context.Background()
	if _, err := e.a.List(ctx, "INBOX", time.Minute); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("List: got %v, want ErrUnavailable", err)
	}
	if _, err := e.a.Mailboxes(ctx, time.Minute); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("Mailboxes: got %v, want ErrUnavailable", err)
	}
	wantCalls(t, e.store, "Status", 1)
	wantCalls(t, e.store, "Mailboxes", 0) // within RetryAfter of the first failure
}

func TestUncachedBodyOffline(t *testing.T) {
	e := newEnv(t)
	e.store.add("INBOX", "a")
	l := e.list("INBOX", 0)
	e.read("INBOX", l.UIDValidity, 1)
	e.store.add("INBOX", "b") // arrives after the read, so no read-ahead fetched it
	l = e.list("INBOX", 0)

	e.store.setDown(true)
	ctx := context.Background()
	_, err := e.a.Open(ctx, "INBOX", l.UIDValidity, 2)
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("Open uncached offline: got %v, want ErrUnavailable", err)
	}
	if n := e.log.count(slog.LevelWarn, "message not cached and mail server unreachable"); n != 1 {
		t.Errorf("log lines for the failed read: got %d, want 1", n)
	}
	// Within RetryAfter, fail at once without contacting the server.
	if _, err := e.a.Open(ctx, "INBOX", l.UIDValidity, 2); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("second Open: got %v, want ErrUnavailable", err)
	}
	wantCalls(t, e.store, "Fetch", 4) // one success (UID 1), then three tries that fail
	// Cached bodies still read.
	e.read("INBOX", l.UIDValidity, 1)
}
