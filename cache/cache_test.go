package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
)

func TestRoundTripAcrossReopen(t *testing.T) {
	e := newEnv(t)
	e.store.create("Archive/2024")
	e.store.add("INBOX", "Quarterly report", `\Seen`)
	e.store.add("INBOX", "Grüße aus Köln")
	e.store.add("Archive/2024", "old")

	ctx := context.Background()
	mbs, err := e.a.Mailboxes(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Mailboxes: %v", err)
	}
	want := e.list("INBOX", time.Minute)
	e.list("Archive/2024", time.Minute)
	wantUIDs(t, want, 1, 2)

	e.reopen()
	e.store.setDown(true)
	e.store.resetCounts()
	gotMbs, err := e.a.Mailboxes(ctx, time.Minute)
	if err != nil {
		t.Fatalf("Mailboxes after reopen: %v", err)
	}
	if len(gotMbs) != len(mbs) || gotMbs[0].Name != mbs[0].Name || gotMbs[0].Delim != '/' || !slices.Equal(gotMbs[0].Attrs, mbs[0].Attrs) {
		t.Errorf("mailboxes after reopen: got %+v, want %+v", gotMbs, mbs)
	}
	got := e.list("INBOX", time.Minute)
	if got.UIDValidity != want.UIDValidity {
		t.Errorf("UIDVALIDITY: got %d, want %d", got.UIDValidity, want.UIDValidity)
	}
	for i := range want.Messages {
		g, w := got.Messages[i], want.Messages[i]
		if g.UID != w.UID || g.Size != w.Size || g.Subject != w.Subject || g.MessageID != w.MessageID || !slices.Equal(g.Flags, w.Flags) {
			t.Errorf("message %d: got %+v, want %+v", i, g, w)
		}
		if !g.InternalDate.Equal(w.InternalDate) || g.InternalDate.Format(time.RFC3339) != w.InternalDate.Format(time.RFC3339) {
			t.Errorf("message %d date: got %v, want %v (zone kept)", i, g.InternalDate, w.InternalDate)
		}
	}
	if n := e.store.count("Status") + e.store.count("Mailboxes"); n != 0 {
		t.Errorf("server contacted %d times, want 0 (fresh enough)", n)
	}

	// Stale and the server down: the whole tree still lists.
	e.clock.Advance(time.Hour)
	if _, err := e.a.Mailboxes(ctx, time.Minute); err != nil {
		t.Errorf("Mailboxes offline: %v", err)
	}
	wantUIDs(t, e.list("INBOX", time.Minute), 1, 2)
	wantUIDs(t, e.list("Archive/2024", time.Minute), 1)
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, clock: newClock(), log: &logRecorder{}, store: newFakeStore()}
	e.opts = Options{Now: e.clock.Now}
	e.open()
	uid := e.store.add("INBOX", "x")
	l := e.list("INBOX", 0)
	e.read("INBOX", l.UIDValidity, uid)

	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecondMailfsRefused(t *testing.T) {
	e := newEnv(t)
	_, err := Open(e.dir, nil)
	if err == nil {
		t.Fatal("second Open of the same dir succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "in use by another mailfs") || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("error %q does not name the other mailfs and its pid", err)
	}
}

func TestMailboxGoneDropsCache(t *testing.T) {
	e := newEnv(t)
	e.store.create("Old")
	uid := e.store.add("Old", "x")
	ctx := context.Background()
	if _, err := e.a.Mailboxes(ctx, 0); err != nil {
		t.Fatal(err)
	}
	l := e.list("Old", 0)
	e.read("Old", l.UIDValidity, uid)

	e.store.remove("Old")
	mbs, err := e.a.Mailboxes(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(mbs, func(m remote.Mailbox) bool { return m.Name == "Old" }) {
		t.Errorf("Old still listed: %+v", mbs)
	}
	if e.bodyExists("Old", l.UIDValidity, uid) {
		t.Error("body of a deleted mailbox still cached")
	}
	if names, _ := e.c.storedFolders("acct"); slices.Contains(names, "Old") {
		t.Error("metadata of a deleted mailbox still stored")
	}
	if _, err := e.a.List(ctx, "Old", 0); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("List of a deleted mailbox: got %v, want ErrNotFound", err)
	}
}

// Close cancels a sync waiting on the server instead of hanging.
func TestCloseCancelsRunningSync(t *testing.T) {
	e := newEnv(t)
	e.store.gate = make(chan struct{}) // never opens
	done := make(chan error, 1)
	go func() {
		_, err := e.a.List(context.Background(), "INBOX", 0)
		done <- err
	}()
	waitWaiters(t, &e.a.syncs, "INBOX", 1)
	if err := e.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("List during Close: got %v, want context.Canceled", err)
	}
}
