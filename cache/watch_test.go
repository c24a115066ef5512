package cache

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
)

// Tests of watch.go: what a sync publishes to subscribers (diffListings,
// Subscribe) and how Run keeps an account current, watching some folders
// (watchStore plays IMAP IDLE) and polling the others.

func msgs(spec ...string) []remote.MessageInfo {
	var out []remote.MessageInfo
	for _, s := range spec {
		uid, flags, _ := strings.Cut(s, ":")
		var mi remote.MessageInfo
		fmt.Sscan(uid, &mi.UID)
		if flags != "" {
			mi.Flags = strings.Split(flags, ",")
		}
		out = append(out, mi)
	}
	return out
}

// summary spells msgs as msgs's spec does ("3:\Seen"), nil and empty alike.
func summary(msgs []remote.MessageInfo) string {
	var parts []string
	for _, mi := range msgs {
		s := fmt.Sprint(mi.UID)
		if len(mi.Flags) > 0 {
			s += ":" + strings.Join(mi.Flags, ",")
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestDiffListings(t *testing.T) {
	listing := func(uv uint32, spec ...string) *remote.Listing {
		return &remote.Listing{UIDValidity: uv, Messages: msgs(spec...)}
	}
	tests := []struct {
		name                    string
		old, cur                *remote.Listing
		reset                   bool
		added, removed, flagged string
	}{
		{name: "first listing", old: nil, cur: listing(7, "1", "2:\\Seen"),
			added: "[]", removed: "[]", flagged: "[]"},
		{name: "same", old: listing(7, "1", "2:\\Seen"), cur: listing(7, "1", "2:\\Seen"),
			added: "[]", removed: "[]", flagged: "[]"},
		{name: "both empty", old: listing(7), cur: listing(7),
			added: "[]", removed: "[]", flagged: "[]"},
		{name: "added", old: listing(7, "1", "2"), cur: listing(7, "1", "2", "5:\\Seen", "9"),
			added: "[5:\\Seen 9]", removed: "[]", flagged: "[]"},
		{name: "added to empty", old: listing(7), cur: listing(7, "4"),
			added: "[4]", removed: "[]", flagged: "[]"},
		{name: "removed as listed", old: listing(7, "1", "2:\\Flagged", "3"), cur: listing(7, "1", "3"),
			added: "[]", removed: "[2:\\Flagged]", flagged: "[]"},
		{name: "all removed", old: listing(7, "1", "2"), cur: listing(7),
			added: "[]", removed: "[1 2]", flagged: "[]"},
		{name: "flags changed, as they are now", old: listing(7, "1", "2:\\Seen", "3:\\Seen", "4:a,b"),
			cur:   listing(7, "1:\\Seen", "2:\\Seen", "3", "4:a,c"),
			added: "[]", removed: "[]", flagged: "[1:\\Seen 3 4:a,c]"},
		{name: "interleaved", old: listing(7, "1", "3:a", "5", "7", "10"), cur: listing(7, "2", "3:b", "6", "7", "8", "9"),
			added: "[2 6 8 9]", removed: "[1 5 10]", flagged: "[3:b]"},
		{name: "UIDVALIDITY changed", old: listing(7, "1", "2:\\Seen"), cur: listing(8, "1:\\Seen", "2:\\Seen", "3"),
			reset: true, added: "[1:\\Seen 2:\\Seen 3]", removed: "[1 2:\\Seen]", flagged: "[]"},
		{name: "UIDVALIDITY changed, empty", old: listing(7), cur: listing(8),
			reset: true, added: "[]", removed: "[]", flagged: "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := diffListings("Lists/go", tt.old, tt.cur)
			if ch.Mailbox != "Lists/go" || ch.UIDValidity != tt.cur.UIDValidity {
				t.Errorf("mailbox, UIDVALIDITY: got %q, %d, want %q, %d", ch.Mailbox, ch.UIDValidity, "Lists/go", tt.cur.UIDValidity)
			}
			if ch.Reset != tt.reset {
				t.Errorf("Reset: got %v, want %v", ch.Reset, tt.reset)
			}
			if got := summary(ch.Added); got != tt.added {
				t.Errorf("Added: got %s, want %s", got, tt.added)
			}
			if got := summary(ch.Removed); got != tt.removed {
				t.Errorf("Removed: got %s, want %s", got, tt.removed)
			}
			if got := summary(ch.Flagged); got != tt.flagged {
				t.Errorf("Flagged: got %s, want %s", got, tt.flagged)
			}
			wantEmpty := !tt.reset && tt.added == "[]" && tt.removed == "[]" && tt.flagged == "[]"
			if ch.Empty() != wantEmpty {
				t.Errorf("Empty: got %v, want %v", ch.Empty(), wantEmpty)
			}
		})
	}
}

// diffListings must not let the Change share the listings' arrays: a
// subscriber may keep it while the listing is replaced.
func TestDiffListingsCopiesOnReset(t *testing.T) {
	old := &remote.Listing{UIDValidity: 1, Messages: msgs("1", "2")}
	cur := &remote.Listing{UIDValidity: 2, Messages: msgs("1")}
	ch := diffListings("INBOX", old, cur)
	ch.Removed[0].UID, ch.Added[0].UID = 99, 98
	if old.Messages[0].UID != 1 || cur.Messages[0].UID != 1 {
		t.Errorf("listings after changing the Change: got UIDs %d and %d, want 1 and 1", old.Messages[0].UID, cur.Messages[0].UID)
	}
}

// wantNoChange fails when subscribers heard of anything (forgetting it).
func wantNoChange(t *testing.T, l *changeLog, after string) {
	t.Helper()
	if got := l.take(); len(got) > 0 {
		t.Errorf("after %s: got %d Changes (%+v), want none", after, len(got), got)
	}
}

// wantOneChange returns the only Change subscribers heard of (forgetting
// it), of mailbox.
func wantOneChange(t *testing.T, l *changeLog, mailbox, after string) remote.Change {
	t.Helper()
	got := l.take()
	if len(got) != 1 {
		t.Fatalf("after %s: got %d Changes (%+v), want 1", after, len(got), got)
	}
	if got[0].Mailbox != mailbox {
		t.Errorf("after %s: got a Change of %q, want one of %q", after, got[0].Mailbox, mailbox)
	}
	return got[0]
}

func wantChange(t *testing.T, ch remote.Change, reset bool, added, removed, flagged []uint32) {
	t.Helper()
	if ch.Reset != reset || !slices.Equal(infoUIDs(ch.Added), added) || !slices.Equal(infoUIDs(ch.Removed), removed) ||
		!slices.Equal(infoUIDs(ch.Flagged), flagged) {
		t.Errorf("Change: got reset %v, added %v, removed %v, flagged %v; want reset %v, added %v, removed %v, flagged %v",
			ch.Reset, infoUIDs(ch.Added), infoUIDs(ch.Removed), infoUIDs(ch.Flagged), reset, added, removed, flagged)
	}
}

// A sync publishes what it found changed on the server: new, expunged and
// re-flagged messages, and a new UIDVALIDITY; a first listing, a listing
// served from memory and a sync that finds nothing publish nothing.
func TestSubscribeServerChanges(t *testing.T) {
	e := newEnv(t)
	changes := subscribe(e.a)
	u1 := e.store.add("INBOX", "one")
	u2 := e.store.add("INBOX", "two", `\Seen`)

	e.list("INBOX", 0)
	wantNoChange(t, changes, "the first listing")
	e.list("INBOX", 0)
	wantNoChange(t, changes, "a sync with nothing new")

	u3 := e.store.add("INBOX", "three", `\Flagged`)
	e.list("INBOX", time.Hour)
	wantNoChange(t, changes, "a List served from memory")
	e.list("INBOX", 0)
	ch := wantOneChange(t, changes, "INBOX", "a delivery")
	wantChange(t, ch, false, []uint32{u3}, nil, nil)
	if ch.UIDValidity != 1000 {
		t.Errorf("UIDValidity: got %d, want 1000", ch.UIDValidity)
	}
	if len(ch.Added) == 1 && (ch.Added[0].Subject != "three" || !slices.Equal(ch.Added[0].Flags, []string{`\Flagged`})) {
		t.Errorf("added: got %+v, want subject three, flags [\\Flagged]", ch.Added[0])
	}

	e.store.expunge("INBOX", u1)
	e.list("INBOX", 0)
	ch = wantOneChange(t, changes, "INBOX", "an expunge")
	wantChange(t, ch, false, nil, []uint32{u1}, nil)
	if len(ch.Removed) == 1 && ch.Removed[0].Subject != "one" {
		t.Errorf("removed: got %+v, want the listed entry (subject one)", ch.Removed[0])
	}

	e.store.setFlags("INBOX", u2, `\Seen`, `\Answered`)
	e.list("INBOX", 0)
	ch = wantOneChange(t, changes, "INBOX", "a flag change")
	wantChange(t, ch, false, nil, nil, []uint32{u2})
	if want := []string{`\Answered`, `\Seen`}; len(ch.Flagged) == 1 && !slices.Equal(ch.Flagged[0].Flags, want) {
		t.Errorf("flagged: got flags %q, want %q (as they are now)", ch.Flagged[0].Flags, want)
	}

	// Everything at once is one Change.
	u4 := e.store.add("INBOX", "four")
	e.store.expunge("INBOX", u3)
	e.store.setFlags("INBOX", u2)
	e.list("INBOX", 0)
	ch = wantOneChange(t, changes, "INBOX", "a delivery, an expunge and a flag change")
	wantChange(t, ch, false, []uint32{u4}, []uint32{u3}, []uint32{u2})

	e.store.renumber("INBOX")
	e.list("INBOX", 0)
	ch = wantOneChange(t, changes, "INBOX", "a new UIDVALIDITY")
	wantChange(t, ch, true, []uint32{1, 2}, []uint32{u2, u4}, nil)
	if ch.UIDValidity != 1001 {
		t.Errorf("UIDValidity: got %d, want 1001", ch.UIDValidity)
	}
	e.list("INBOX", 0)
	wantNoChange(t, changes, "a sync after the relisting")
}

// Each subscriber hears of every Change, of every mailbox.
func TestSubscribeSeveral(t *testing.T) {
	e := newEnv(t)
	e.store.create("Lists")
	one, two := subscribe(e.a), subscribe(e.a)
	e.list("INBOX", 0)
	e.list("Lists", 0)
	u := e.store.add("Lists", "one")
	e.store.add("INBOX", "other")
	e.list("Lists", 0)
	for i, l := range []*changeLog{one, two} {
		ch := wantOneChange(t, l, "Lists", fmt.Sprintf("a delivery (subscriber %d)", i+1))
		wantChange(t, ch, false, []uint32{u}, nil, nil)
	}
}

// A subscriber is called after the new listing is published and with no
// lock of the mailbox held: it may look at the mailbox.
func TestSubscribeCalledUnlocked(t *testing.T) {
	e := newEnv(t)
	e.list("INBOX", 0)
	u := e.store.add("INBOX", "new")
	type seen struct {
		listed bool
		err    error
	}
	result := make(chan seen, 1)
	e.a.Subscribe(func(ch remote.Change) {
		done := make(chan seen, 1)
		go func() {
			if _, err := e.a.box(ch.Mailbox); err != nil { // takes the mailbox's lock
				done <- seen{err: err}
				return
			}
			l, err := e.a.List(context.Background(), ch.Mailbox, time.Hour)
			if err != nil {
				done <- seen{err: err}
				return
			}
			_, ok := l.Find(u)
			done <- seen{listed: ok}
		}()
		select {
		case s := <-done:
			result <- s
		case <-time.After(time.Second):
			result <- seen{err: fmt.Errorf("the mailbox stayed locked for a second")}
		}
	})
	e.list("INBOX", 0)
	select {
	case s := <-result:
		if s.err != nil || !s.listed {
			t.Errorf("the subscriber looking at the mailbox: got listed %v, err %v; want the new message listed", s.listed, s.err)
		}
	default:
		t.Fatalf("subscriber: got no call, want one")
	}
}

// Without CONDSTORE a flag change moves no counter: a plain sync cannot
// see it, a stale one (Invalidate, and syncNow, which Run uses) reads
// every flag and publishes it.
func TestSubscribeFlagsWithoutCondstore(t *testing.T) {
	e := newEnv(t)
	e.store.condstore = false
	u := e.store.add("INBOX", "one")
	changes := subscribe(e.a)
	e.list("INBOX", 0)

	e.store.setFlags("INBOX", u, `\Seen`)
	e.list("INBOX", 0)
	wantNoChange(t, changes, "a sync that cannot see flags")

	e.a.syncNow(t.Context(), "INBOX")
	ch := wantOneChange(t, changes, "INBOX", "syncNow")
	wantChange(t, ch, false, nil, nil, []uint32{u})

	e.store.setFlags("INBOX", u)
	e.a.Invalidate("INBOX")
	e.list("INBOX", 0)
	ch = wantOneChange(t, changes, "INBOX", "Invalidate and a sync")
	wantChange(t, ch, false, nil, nil, []uint32{u})
}

// What the Account changes itself (Remove, Move, SetFlags, Append) is no
// Change: not when it is made, and not at the syncs after it, which find
// nothing new on the server. Otherwise the mount would run
// new_mail_command for mail the user moved.
func TestSubscribeOwnChanges(t *testing.T) {
	e := newEditEnv(t, nil)
	e.addTrash("Trash")
	e.store.create("Archive")
	e.store.create("Later") // never listed before a message is moved there
	var uids []uint32
	for i := range 5 {
		uids = append(uids, e.store.add("INBOX", fmt.Sprintf("message %d", i), `\Seen`))
	}
	e.store.add("Trash", "old trash")
	e.store.add("Archive", "old archive")
	e.prepare("INBOX", "Trash", "Archive")
	changes := subscribe(e.a)
	ctx := t.Context()
	all := []string{"INBOX", "Trash", "Archive", "Later"}
	syncAll := func(what string) {
		t.Helper()
		for _, mb := range all {
			e.list(mb, 0)
		}
		wantNoChange(t, changes, what+" and syncs")
		for _, mb := range all {
			e.a.syncNow(ctx, mb) // as Run does: reads flags without CONDSTORE
		}
		wantNoChange(t, changes, what+" and background syncs")
	}

	wantNoErr(t, "Remove", e.a.Remove(ctx, "INBOX", uids[0]))
	wantNoChange(t, changes, "Remove (to Trash)")
	syncAll("Remove (to Trash)")

	_, err := e.a.Move(ctx, "INBOX", uids[1], "Archive")
	wantNoErr(t, "Move", err)
	wantNoChange(t, changes, "Move")
	syncAll("Move")

	_, err = e.a.Move(ctx, "INBOX", uids[2], "Later")
	wantNoErr(t, "Move to an unlisted mailbox", err)
	wantNoChange(t, changes, "Move to an unlisted mailbox")
	syncAll("Move to an unlisted mailbox")

	wantNoErr(t, "SetFlags", e.a.SetFlags(ctx, "INBOX", uids[3], []string{`\Flagged`, `\seen`}))
	wantNoChange(t, changes, "SetFlags")
	syncAll("SetFlags")

	_, err = e.append("INBOX", appendMsg)
	wantNoErr(t, "Append", err)
	wantNoChange(t, changes, "Append")
	syncAll("Append")

	// Trash: Remove there expunges.
	trashed := e.list("Trash", time.Hour).Messages
	wantNoErr(t, "Remove in Trash", e.a.Remove(ctx, "Trash", trashed[len(trashed)-1].UID))
	wantNoChange(t, changes, "Remove in Trash")
	syncAll("Remove in Trash")

	// The subscriber still hears of what others do, also when it comes
	// just before a message the Account puts there, whose UID is higher.
	u := e.store.add("INBOX", "delivered")
	e.list("INBOX", 0)
	ch := wantOneChange(t, changes, "INBOX", "a delivery")
	wantChange(t, ch, false, []uint32{u}, nil, nil)

	ua := e.store.add("Archive", "delivered to Archive")
	moved, err := e.a.Move(ctx, "INBOX", uids[4], "Archive")
	wantNoErr(t, "Move", err)
	if moved <= ua {
		t.Fatalf("moved to UID %d, want above %d", moved, ua)
	}
	wantNoChange(t, changes, "Move after a delivery not yet synced")
	e.list("Archive", 0)
	ch = wantOneChange(t, changes, "Archive", "a delivery and a Move")
	wantChange(t, ch, false, []uint32{ua}, nil, nil)
}

// In expunge mode Remove is no Change either.
func TestSubscribeOwnExpunge(t *testing.T) {
	e := newEditEnv(t, &AccountOptions{Expunge: true})
	u1 := e.store.add("INBOX", "one")
	e.store.add("INBOX", "two")
	e.prepare("INBOX")
	changes := subscribe(e.a)
	wantNoErr(t, "Remove", e.a.Remove(t.Context(), "INBOX", u1))
	wantNoChange(t, changes, "Remove (expunge)")
	e.list("INBOX", 0)
	e.a.syncNow(t.Context(), "INBOX")
	wantNoChange(t, changes, "Remove (expunge) and syncs")
}

// runAccount runs e.a.Run(opts) until the test ends and checks that it
// returns within a second of its ctx being cancelled; stop cancels it
// earlier and does that check.
func runAccount(t *testing.T, e *env, opts *WatchOptions) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.a.Run(ctx, opts)
	}()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatalf("Run: still running a second after its ctx was cancelled, want it returned")
		}
	}
	t.Cleanup(stop)
	return stop
}

func newWatchEnv(t *testing.T, unsupported ...string) (*env, *watchStore) {
	t.Helper()
	var ws *watchStore
	e := newStoreEnv(t, func(e *env) remote.Store {
		ws = newWatchStore(e.store, unsupported...)
		return ws
	})
	return e, ws
}

// A watched folder is synced moments (watchDebounce) after the server's
// word of a change, without waiting for the poll; a burst of words makes
// one sync.
func TestRunSyncsWatchedFolder(t *testing.T) {
	e, ws := newWatchEnv(t)
	e.store.add("INBOX", "old")
	e.list("INBOX", 0)
	changes := subscribe(e.a)
	runAccount(t, e, &WatchOptions{IdleFolders: []string{"INBOX"}, PollInterval: time.Hour})
	ws.waitWatch(t, "INBOX")

	u2 := e.store.add("INBOX", "new 1")
	u3 := e.store.add("INBOX", "new 2")
	e.store.resetCounts()
	start := time.Now()
	for range 3 {
		ws.trigger(t, "INBOX")
	}
	ch := changes.wait(t, "INBOX", time.Second)
	took := time.Since(start)
	wantChange(t, ch, false, []uint32{u2, u3}, nil, nil)
	if took < watchDebounce {
		t.Errorf("Change published %v after the word of it: got less than watchDebounce, want at least %v", took, watchDebounce)
	}
	// Let a second sync of the burst (if any) end, then count.
	time.Sleep(2 * watchDebounce)
	if got := e.store.count("Status"); got < 1 || got > 2 {
		t.Errorf("syncs (Status calls) for a burst of 3 words: got %d, want 1 or 2", got)
	}
	if got := changes.all(); len(got) != 0 {
		t.Errorf("further Changes: got %+v, want none", got)
	}
	if got := ws.watchCalls(); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("Watch calls: got %q, want [INBOX]", got)
	}
}

// A watched folder that was never listed gets its first listing from the
// watch: no Change, but the next word brings one.
func TestRunWatchedFolderFirstListing(t *testing.T) {
	e, ws := newWatchEnv(t)
	e.store.add("INBOX", "old")
	changes := subscribe(e.a)
	runAccount(t, e, &WatchOptions{PollInterval: time.Hour})
	ws.waitWatch(t, "INBOX")
	ws.trigger(t, "INBOX")
	waitFor(t, time.Second, "the first listing of INBOX", func() bool {
		l, err := e.a.List(t.Context(), "INBOX", time.Hour)
		return err == nil && len(l.Messages) == 1
	})
	wantNoChange(t, changes, "the first listing")
	u := e.store.add("INBOX", "new")
	ws.trigger(t, "INBOX")
	wantChange(t, changes.wait(t, "INBOX", time.Second), false, []uint32{u}, nil, nil)
}

// nil options watch INBOX (and poll once a minute: not within the test).
func TestRunNilOptionsWatchesInbox(t *testing.T) {
	e, ws := newWatchEnv(t)
	e.store.create("Lists")
	e.list("INBOX", 0)
	e.list("Lists", 0)
	changes := subscribe(e.a)
	runAccount(t, e, nil)
	ws.waitWatch(t, "INBOX")
	u := e.store.add("INBOX", "new")
	ws.trigger(t, "INBOX")
	wantChange(t, changes.wait(t, "INBOX", time.Second), false, []uint32{u}, nil, nil)
	if got := ws.watchCalls(); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("Watch calls: got %q, want [INBOX]", got)
	}
}

// A folder the server cannot watch (ErrUnsupported) is polled instead.
func TestRunPollsUnwatchableFolder(t *testing.T) {
	e, ws := newWatchEnv(t, "INBOX")
	e.list("INBOX", 0)
	changes := subscribe(e.a)
	const interval = 50 * time.Millisecond
	runAccount(t, e, &WatchOptions{IdleFolders: []string{"INBOX"}, PollInterval: interval})
	waitFor(t, time.Second, "Watch(INBOX)", func() bool { return len(ws.watchCalls()) > 0 })
	u := e.store.add("INBOX", "new")
	wantChange(t, changes.wait(t, "INBOX", 20*interval), false, []uint32{u}, nil, nil)
	if got := e.log.count(slog.LevelInfo, "mailbox not watched; polling it"); got != 1 {
		t.Errorf("log lines %q: got %d, want 1", "mailbox not watched; polling it", got)
	}
}

// A listed folder that is not in IdleFolders is polled; a watched one is
// not, and one never listed is not listed by the poll.
func TestRunPollsOtherFolders(t *testing.T) {
	e, ws := newWatchEnv(t)
	e.store.create("Lists")
	e.store.create("Other")
	e.list("INBOX", 0)
	e.list("Lists", 0)
	e.mailboxes(0)
	var listed []string
	var mu = &e.store.mu
	e.store.onMessage = func(mb string) {
		mu.Lock()
		defer mu.Unlock()
		listed = append(listed, mb)
	}
	changes := subscribe(e.a)
	const interval = 50 * time.Millisecond
	runAccount(t, e, &WatchOptions{IdleFolders: []string{"INBOX"}, PollInterval: interval})
	ws.waitWatch(t, "INBOX")

	e.store.add("INBOX", "not told") // the watch says nothing
	u := e.store.add("Lists", "new")
	wantChange(t, changes.wait(t, "Lists", 20*interval), false, []uint32{u}, nil, nil)
	// The poll syncs mailboxes in name order: INBOX, had it been polled,
	// would have been before Lists.
	if got := changes.all(); len(got) != 0 {
		t.Errorf("other Changes: got %+v, want none (INBOX is watched, not polled)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(listed, "Other") {
		t.Errorf("mailboxes listed by the poll: got %q, want no Other (never listed)", listed)
	}
}

// A store that is not a remote.Watcher has every listed folder polled,
// the IdleFolders too.
func TestRunPollsWithoutWatcher(t *testing.T) {
	e := newEnv(t) // fakeStore is no remote.Watcher
	e.store.create("Lists")
	e.list("INBOX", 0)
	e.list("Lists", 0)
	changes := subscribe(e.a)
	const interval = 50 * time.Millisecond
	runAccount(t, e, &WatchOptions{PollInterval: interval})
	u1 := e.store.add("INBOX", "new")
	u2 := e.store.add("Lists", "new")
	wantChange(t, changes.wait(t, "INBOX", 20*interval), false, []uint32{u1}, nil, nil)
	wantChange(t, changes.wait(t, "Lists", 20*interval), false, []uint32{u2}, nil, nil)
}

// An empty IdleFolders watches nothing: INBOX is polled.
func TestRunEmptyIdleFolders(t *testing.T) {
	e, ws := newWatchEnv(t)
	e.list("INBOX", 0)
	changes := subscribe(e.a)
	const interval = 50 * time.Millisecond
	runAccount(t, e, &WatchOptions{IdleFolders: []string{}, PollInterval: interval})
	u := e.store.add("INBOX", "new")
	wantChange(t, changes.wait(t, "INBOX", 20*interval), false, []uint32{u}, nil, nil)
	if got := ws.watchCalls(); len(got) != 0 {
		t.Errorf("Watch calls: got %q, want none", got)
	}
}

// Run returns promptly when its ctx is cancelled, also in the middle of a
// debounce and with polls going on, and leaves no goroutine behind.
func TestRunStops(t *testing.T) {
	e, ws := newWatchEnv(t, "Unwatchable")
	e.store.create("Lists")
	e.store.create("Unwatchable")
	for _, mb := range []string{"INBOX", "Lists", "Unwatchable"} {
		e.list(mb, 0)
	}
	ws.linger = 50 * time.Millisecond // Run must wait for it
	before := runtime.NumGoroutine()
	e.store.resetCounts()
	stop := runAccount(t, e, &WatchOptions{IdleFolders: []string{"INBOX", "Unwatchable"}, PollInterval: 10 * time.Millisecond})
	ws.waitWatch(t, "INBOX")
	waitFor(t, time.Second, "a few polls", func() bool { return e.store.count("Mailboxes") >= 3 })
	ws.trigger(t, "INBOX") // Run is stopped while this waits for watchDebounce
	start := time.Now()
	stop()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run returned %v after cancel, want < 1s", took)
	}
	if got := ws.watching(); got != 0 {
		t.Errorf("Watch calls still running: got %d, want 0", got)
	}
	// Goroutines end a moment after they signal: allow for that, and for
	// the runtime's own.
	var now int
	deadline := time.Now().Add(time.Second)
	for now = runtime.NumGoroutine(); now > before+1 && time.Now().Before(deadline); now = runtime.NumGoroutine() {
		time.Sleep(5 * time.Millisecond)
	}
	if now > before+1 {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines after Run: got %d, want at most %d (before Run, +1)\n%s", now, before+1, buf)
	}
}
