package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailfs/remote"
)

// Unit tests of the cache's write side (edit.go, folders.go, guard.go)
// against fakeStore playing an IMAP server (fake_edit_test.go).

// newEditEnv is newEnv with the account opened with opts.
func newEditEnv(t *testing.T, opts *AccountOptions) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir() + "/cache", clock: newClock(), log: &logRecorder{}, store: newFakeStore()}
	e.opts = Options{Logger: slog.New(e.log), Now: e.clock.Now}
	c, err := Open(e.dir, &e.opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	e.c = c
	e.a = c.Account("acct", e.store, opts)
	return e
}

// addTrash creates mailbox name on the server with the \Trash attribute.
func (e *env) addTrash(name string) {
	e.store.create(name)
	e.store.knobs(func(k *fakeEdit) {
		if k.attrs == nil {
			k.attrs = map[string][]string{}
		}
		k.attrs[name] = []string{`\Trash`}
	})
}

// mailboxes returns the account's mailbox names (asking the server when
// maxAge says so).
func (e *env) mailboxes(maxAge time.Duration) []string {
	e.t.Helper()
	mbs, err := e.a.Mailboxes(e.t.Context(), maxAge)
	if err != nil {
		e.t.Fatalf("Mailboxes: %v", err)
	}
	var names []string
	for _, m := range mbs {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// settle waits for the cache's background work (read-ahead, syncs).
func (e *env) settle() { e.c.wg.Wait() }

// prepare loads the mailbox list and the listings of mboxes, then forgets
// the calls that took.
func (e *env) prepare(mboxes ...string) {
	e.t.Helper()
	e.mailboxes(0)
	for _, m := range mboxes {
		e.list(m, 0)
	}
	e.settle()
	e.store.resetCounts()
}

// find returns message uid of mbox's listing (maxAge an hour) or fails.
func (e *env) find(mbox string, uid uint32) remote.MessageInfo {
	e.t.Helper()
	mi, ok := e.list(mbox, time.Hour).Find(uid)
	if !ok {
		e.t.Fatalf("%s: UID %d not listed", mbox, uid)
	}
	return mi
}

// wantErr fails unless err wraps every one of targets.
func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want one wrapping %v", what, targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: got %v, want an error wrapping %v", what, err, target)
		}
	}
}

func wantNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got %v, want no error", what, err)
	}
}

func wantStoreUIDs(t *testing.T, f *fakeStore, mbox string, want ...uint32) {
	t.Helper()
	if want == nil {
		want = []uint32{}
	}
	if got := f.storeUIDs(mbox); !slices.Equal(got, want) {
		t.Fatalf("%s on the server: got UIDs %v, want %v", mbox, got, want)
	}
}

// wantSameMessage fails unless got is want under another UID.
func wantSameMessage(t *testing.T, got, want remote.MessageInfo) {
	t.Helper()
	if got.Size != want.Size || !got.InternalDate.Equal(want.InternalDate) || got.Subject != want.Subject ||
		got.MessageID != want.MessageID || !slices.Equal(got.Flags, want.Flags) {
		t.Errorf("moved entry: got %+v, want %+v (UID aside)", got, want)
	}
}

const trashWarn = "server cannot expunge one message (no UIDPLUS); moving it to Trash instead"

const guardWarn = "mass-deletion guard: refusing further removals; raise max_deletes in the account's [accounts.imap] to allow more"

// Remove in trash mode moves the message to the \Trash mailbox: it leaves
// the source listing and enters Trash's under the UID the server gave,
// with the same entry and its cached body, without a sync.
func TestRemoveMovesToTrash(t *testing.T) {
	e := newEditEnv(t, nil)
	e.addTrash("Trash")
	u1 := e.store.add("INBOX", "one", `\Seen`)
	u2 := e.store.add("INBOX", "two", `\Flagged`, `\Seen`)
	u3 := e.store.add("INBOX", "three")
	e.store.add("Trash", "old trash")
	e.prepare("INBOX", "Trash")
	body := e.read("INBOX", 1000, u2)
	e.settle()
	before := e.find("INBOX", u2)
	e.store.resetCounts()

	if err := e.a.Remove(t.Context(), "INBOX", u2); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	wantCalls(t, e.store, "Move", 1)
	wantCalls(t, e.store, "Expunge", 0)
	wantStoreUIDs(t, e.store, "INBOX", u1, u3)
	wantStoreUIDs(t, e.store, "Trash", 1, 2)

	wantUIDs(t, e.list("INBOX", time.Hour), u1, u3)
	wantUIDs(t, e.list("Trash", time.Hour), 1, 2)
	wantSameMessage(t, e.find("Trash", 2), before)
	if got := e.store.totalCalls(); got != 1 {
		t.Errorf("store calls after Remove and two Lists: got %d (%v), want 1 (the Move)", got, e.store.calls)
	}
	if e.bodyExists("INBOX", 1000, u2) {
		t.Errorf("body of INBOX/%d still cached after the move", u2)
	}
	if !e.bodyExists("Trash", 1000, 2) {
		t.Fatalf("body of Trash/2 not cached: it should have moved along")
	}
	if got := e.read("Trash", 1000, 2); !bytes.Equal(got, body) {
		t.Errorf("Trash/2 body: got %q, want %q", got, body)
	}
	e.settle()

	// A sync from the server agrees with what the cache published.
	wantUIDs(t, e.list("INBOX", 0), u1, u3)
	wantUIDs(t, e.list("Trash", 0), 1, 2)
	wantSameMessage(t, e.find("Trash", 2), before)
}

// Remove honours AccountOptions.TrashFolder: a mailbox without the \Trash
// attribute is used (before one with it); one that does not exist is an
// EPERM naming trash_folder, and nothing is asked of the server.
func TestRemoveTrashFolderOption(t *testing.T) {
	e := newEditEnv(t, &AccountOptions{TrashFolder: "Deleted Items"})
	e.addTrash("Trash")
	e.store.create("Deleted Items")
	u1 := e.store.add("INBOX", "one")
	u2 := e.store.add("INBOX", "two")
	e.prepare("INBOX", "Deleted Items", "Trash")

	wantNoErr(t, "Remove", e.a.Remove(t.Context(), "INBOX", u1))
	wantStoreUIDs(t, e.store, "Deleted Items", 1)
	wantStoreUIDs(t, e.store, "Trash")
	wantUIDs(t, e.list("Deleted Items", time.Hour), 1)
	wantUIDs(t, e.list("INBOX", time.Hour), u2)

	// Removing inside the configured Trash expunges.
	e.store.resetCounts()
	wantNoErr(t, "Remove in trash_folder", e.a.Remove(t.Context(), "Deleted Items", 1))
	wantCalls(t, e.store, "Expunge", 1)
	wantCalls(t, e.store, "Move", 0)
	wantStoreUIDs(t, e.store, "Deleted Items")
	wantUIDs(t, e.list("Deleted Items", time.Hour))

	missing := newEditEnv(t, &AccountOptions{TrashFolder: "Nope"})
	missing.addTrash("Trash")
	v := missing.store.add("INBOX", "one")
	missing.prepare("INBOX")
	err := missing.a.Remove(t.Context(), "INBOX", v)
	wantErr(t, "Remove with a missing trash_folder", err, syscall.EPERM)
	if !strings.Contains(err.Error(), "trash_folder") || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("error: got %q, want it to name trash_folder and \"Nope\"", err)
	}
	if got := missing.store.totalCalls(); got != 0 {
		t.Errorf("store calls: got %d (%v), want 0", got, missing.store.calls)
	}
	wantStoreUIDs(t, missing.store, "INBOX", v)
	wantStoreUIDs(t, missing.store, "Trash")
	wantUIDs(t, missing.list("INBOX", time.Hour), v)
}

// Without a Trash mailbox, trash mode refuses (EPERM naming trash_folder)
// without asking the server anything, and never expunges instead.
func TestRemoveWithoutTrashRefused(t *testing.T) {
	e := newEditEnv(t, &AccountOptions{MaxDeletes: 1})
	e.store.create("Archive")
	u := e.store.add("INBOX", "one")
	e.prepare("INBOX")

	for range 2 { // the guard (max 1) is not what refuses the second
		err := e.a.Remove(t.Context(), "INBOX", u)
		wantErr(t, "Remove without Trash", err, syscall.EPERM)
		if errors.Is(err, remote.ErrTooManyDeletes) {
			t.Fatalf("Remove without Trash: got %v, want the missing Trash, not the guard", err)
		}
		if !strings.Contains(err.Error(), "trash_folder") {
			t.Errorf("error: got %q, want it to name trash_folder", err)
		}
	}
	if got := e.store.totalCalls(); got != 0 {
		t.Errorf("store calls: got %d (%v), want 0", got, e.store.calls)
	}
	wantStoreUIDs(t, e.store, "INBOX", u)
	wantUIDs(t, e.list("INBOX", time.Hour), u)
}

// Remove expunges inside Trash and in Expunge mode; without UIDPLUS it
// moves to Trash instead when there is one (with a warning) and otherwise
// fails with ErrUnsupported, changing nothing.
func TestRemoveExpunges(t *testing.T) {
	tests := []struct {
		name      string
		opts      *AccountOptions
		trash     bool
		noUIDPlus bool
		noMove    bool
		mailbox   string // where the message is removed from
		wantErr   error
		// wantMoves and wantExpunges are the store calls; wantTrash is
		// whether the message ends up in Trash (else it is gone, or
		// still there on an error).
		wantMoves, wantExpunges int
		wantTrash               bool
		wantWarn                int
	}{
		{name: "inside Trash", trash: true, mailbox: "Trash", wantExpunges: 1},
		{name: "expunge mode", opts: &AccountOptions{Expunge: true}, trash: true, mailbox: "INBOX", wantExpunges: 1},
		{name: "expunge mode without Trash", opts: &AccountOptions{Expunge: true}, mailbox: "INBOX", wantExpunges: 1},
		{name: "expunge mode, no UIDPLUS, Trash", opts: &AccountOptions{Expunge: true}, trash: true, noUIDPlus: true, mailbox: "INBOX",
			wantExpunges: 1, wantMoves: 1, wantTrash: true, wantWarn: 1},
		{name: "expunge mode, no UIDPLUS, no Trash", opts: &AccountOptions{Expunge: true}, noUIDPlus: true, mailbox: "INBOX",
			wantExpunges: 1, wantErr: remote.ErrUnsupported},
		{name: "inside Trash, no UIDPLUS", trash: true, noUIDPlus: true, mailbox: "Trash",
			wantExpunges: 1, wantErr: remote.ErrUnsupported},
		{name: "trash mode, no UIDPLUS, MOVE", trash: true, noUIDPlus: true, mailbox: "INBOX", wantMoves: 1, wantTrash: true},
		{name: "trash mode, neither UIDPLUS nor MOVE", trash: true, noUIDPlus: true, noMove: true, mailbox: "INBOX",
			wantMoves: 1, wantErr: remote.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEditEnv(t, tt.opts)
			mboxes := []string{"INBOX"}
			if tt.trash {
				e.addTrash("Trash")
				mboxes = append(mboxes, "Trash")
			}
			keep := e.store.add(tt.mailbox, "keep")
			uid := e.store.add(tt.mailbox, "remove me")
			e.store.knobs(func(k *fakeEdit) { k.noUIDPlus, k.noMove = tt.noUIDPlus, tt.noMove })
			e.prepare(mboxes...)

			err := e.a.Remove(t.Context(), tt.mailbox, uid)
			if tt.wantErr != nil {
				wantErr(t, "Remove", err, tt.wantErr)
			} else {
				wantNoErr(t, "Remove", err)
			}
			wantCalls(t, e.store, "Move", tt.wantMoves)
			wantCalls(t, e.store, "Expunge", tt.wantExpunges)
			if got := e.log.count(slogWarn, trashWarn); got != tt.wantWarn {
				t.Errorf("warnings %q: got %d, want %d", trashWarn, got, tt.wantWarn)
			}
			switch {
			case tt.wantErr != nil:
				wantStoreUIDs(t, e.store, tt.mailbox, keep, uid)
				wantUIDs(t, e.list(tt.mailbox, time.Hour), keep, uid)
			default:
				wantStoreUIDs(t, e.store, tt.mailbox, keep)
				wantUIDs(t, e.list(tt.mailbox, time.Hour), keep)
			}
			if tt.trash && tt.mailbox != "Trash" {
				if tt.wantTrash {
					wantStoreUIDs(t, e.store, "Trash", 1)
					wantUIDs(t, e.list("Trash", time.Hour), 1) // relisted: no UIDPLUS, no COPYUID
				} else {
					wantStoreUIDs(t, e.store, "Trash")
				}
			}
		})
	}
}

// A removal the server refuses changes nothing in the cache and gives its
// place in the guard back.
func TestRemoveRefusedByServer(t *testing.T) {
	tests := []struct {
		name   string
		opts   AccountOptions
		method string
		err    error
	}{
		{name: "move over quota", method: "Move", err: remote.ErrQuota},
		{name: "move refused", method: "Move", err: remote.ErrRefused},
		{name: "expunge refused", opts: AccountOptions{Expunge: true}, method: "Expunge", err: remote.ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.MaxDeletes = 1
			e := newEditEnv(t, &opts)
			e.addTrash("Trash")
			u1 := e.store.add("INBOX", "one")
			u2 := e.store.add("INBOX", "two")
			e.prepare("INBOX", "Trash")
			e.read("INBOX", 1000, u1)
			e.settle()
			e.store.knobs(func(k *fakeEdit) { k.refuse = map[string]error{tt.method: tt.err} })

			for range 3 {
				wantErr(t, "Remove", e.a.Remove(t.Context(), "INBOX", u1), tt.err)
			}
			wantCalls(t, e.store, tt.method, 3)
			wantStoreUIDs(t, e.store, "INBOX", u1, u2)
			wantStoreUIDs(t, e.store, "Trash")
			wantUIDs(t, e.list("INBOX", time.Hour), u1, u2)
			wantUIDs(t, e.list("Trash", time.Hour))
			if !e.bodyExists("INBOX", 1000, u1) {
				t.Errorf("body of INBOX/%d dropped by a refused removal", u1)
			}

			// The refusals took no place in the guard (max 1).
			e.store.knobs(func(k *fakeEdit) { k.refuse = nil })
			wantNoErr(t, "Remove after the refusals", e.a.Remove(t.Context(), "INBOX", u1))
			wantErr(t, "second Remove", e.a.Remove(t.Context(), "INBOX", u2), remote.ErrTooManyDeletes)
		})
	}
}

// The mass-deletion guard lets MaxDeletes removals through within
// DeleteWindow, refuses the rest with remote.ErrTooManyDeletes (EPERM) without
// asking the server, logs that once per window, and lets removals through
// again once the window has passed.
func TestRemoveMassDeletionGuard(t *testing.T) {
	for _, mode := range []AccountOptions{{MaxDeletes: 3}, {MaxDeletes: 3, Expunge: true}} {
		t.Run(fmt.Sprintf("expunge=%v", mode.Expunge), func(t *testing.T) {
			e := newEditEnv(t, &mode)
			e.addTrash("Trash")
			var uids []uint32
			for i := range 9 {
				uids = append(uids, e.store.add("INBOX", fmt.Sprint("m", i)))
			}
			e.prepare("INBOX", "Trash")
			remove := func(uid uint32) error { return e.a.Remove(t.Context(), "INBOX", uid) }
			removals := func() int { return e.store.count("Move") + e.store.count("Expunge") }

			for _, uid := range uids[:3] {
				wantNoErr(t, fmt.Sprint("Remove ", uid), remove(uid))
			}
			for _, uid := range uids[3:5] {
				err := remove(uid)
				wantErr(t, fmt.Sprint("Remove ", uid, " beyond max_deletes"), err, remote.ErrTooManyDeletes, syscall.EPERM)
				if !strings.Contains(err.Error(), "max_deletes") {
					t.Errorf("error: got %q, want it to name max_deletes", err)
				}
			}
			if got := removals(); got != 3 {
				t.Errorf("removals asked of the server: got %d, want 3", got)
			}
			wantStoreUIDs(t, e.store, "INBOX", uids[3:]...)
			wantUIDs(t, e.list("INBOX", time.Hour), uids[3:]...)
			if got := e.log.count(slogWarn, guardWarn); got != 1 {
				t.Errorf("guard warnings after 2 refusals: got %d, want 1", got)
			}

			// Half a window later the three still count.
			e.clock.Advance(DeleteWindow / 2)
			wantErr(t, "Remove half a window later", remove(uids[3]), remote.ErrTooManyDeletes)
			if got := e.log.count(slogWarn, guardWarn); got != 1 {
				t.Errorf("guard warnings after 3 refusals: got %d, want 1", got)
			}

			// A window after the first three, three more go through.
			e.clock.Advance(DeleteWindow / 2)
			for _, uid := range uids[3:6] {
				wantNoErr(t, fmt.Sprint("Remove ", uid, " a window later"), remove(uid))
			}
			wantErr(t, "Remove beyond max_deletes again", remove(uids[6]), remote.ErrTooManyDeletes)
			if got := e.log.count(slogWarn, guardWarn); got != 2 {
				t.Errorf("guard warnings in the second window: got %d, want 2", got)
			}
			if got := removals(); got != 6 {
				t.Errorf("removals asked of the server: got %d, want 6", got)
			}
			wantStoreUIDs(t, e.store, "INBOX", uids[6:]...)
		})
	}
}

// Concurrent removals get exactly MaxDeletes places in the guard.
func TestRemoveGuardConcurrent(t *testing.T) {
	e := newEditEnv(t, &AccountOptions{MaxDeletes: 3})
	e.addTrash("Trash")
	var uids []uint32
	for i := range 8 {
		uids = append(uids, e.store.add("INBOX", fmt.Sprint("m", i)))
	}
	e.prepare("INBOX", "Trash")
	errs := make(chan error, len(uids))
	for _, uid := range uids {
		go func() { errs <- e.a.Remove(t.Context(), "INBOX", uid) }()
	}
	ok, refused := 0, 0
	for range uids {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, remote.ErrTooManyDeletes):
			refused++
		default:
			t.Errorf("Remove: got %v, want success or remote.ErrTooManyDeletes", err)
		}
	}
	if ok != 3 || refused != 5 {
		t.Errorf("concurrent removals: got %d done and %d refused, want 3 and 5", ok, refused)
	}
	wantCalls(t, e.store, "Move", 3)
	if got := len(e.store.storeUIDs("INBOX")); got != 5 {
		t.Errorf("messages left in INBOX: got %d, want 5", got)
	}
	if got := len(e.list("INBOX", time.Hour).Messages); got != 5 {
		t.Errorf("messages listed in INBOX: got %d, want 5", got)
	}
	wantUIDs(t, e.list("Trash", time.Hour), 1, 2, 3)
}

// Removals that fail for reasons other than the guard take no place in
// it: a stale UIDVALIDITY, a message not listed, a server down.
func TestRemoveFailuresDoNotCount(t *testing.T) {
	e := newEditEnv(t, &AccountOptions{MaxDeletes: 1})
	e.addTrash("Trash")
	u1 := e.store.add("INBOX", "one")
	e.prepare("INBOX", "Trash")

	wantErr(t, "Remove of an unlisted UID", e.a.Remove(t.Context(), "INBOX", 99), remote.ErrNotFound)
	e.store.setDown(true)
	wantErr(t, "Remove with the server down", e.a.Remove(t.Context(), "INBOX", u1), remote.ErrUnavailable)
	e.store.setDown(false)
	e.clock.Advance(DefaultRetryAfter)
	wantNoErr(t, "Remove", e.a.Remove(t.Context(), "INBOX", u1))
	wantStoreUIDs(t, e.store, "INBOX")
}

// Move between mailboxes: with UIDPLUS the target lists the message at
// once under its new UID; without (MOVE alone) the target is relisted at
// its next List.
func TestMoveBetweenMailboxes(t *testing.T) {
	for _, noUIDPlus := range []bool{false, true} {
		t.Run(fmt.Sprintf("noUIDPlus=%v", noUIDPlus), func(t *testing.T) {
			e := newEditEnv(t, nil)
			e.store.create("Archive")
			e.store.add("Archive", "archived")
			u1 := e.store.add("INBOX", "one", `\Seen`)
			u2 := e.store.add("INBOX", "two")
			e.store.knobs(func(k *fakeEdit) { k.noUIDPlus = noUIDPlus })
			e.prepare("INBOX", "Archive")
			body := e.read("INBOX", 1000, u1)
			e.settle()
			before := e.find("INBOX", u1)
			e.store.resetCounts()

			got, err := e.a.Move(t.Context(), "INBOX", u1, "Archive")
			wantNoErr(t, "Move", err)
			want := uint32(2)
			if noUIDPlus {
				want = 0
			}
			if got != want {
				t.Errorf("Move: got UID %d, want %d", got, want)
			}
			wantStoreUIDs(t, e.store, "INBOX", u2)
			wantStoreUIDs(t, e.store, "Archive", 1, 2)
			wantUIDs(t, e.list("INBOX", time.Hour), u2)
			if e.bodyExists("INBOX", 1000, u1) {
				t.Errorf("body of INBOX/%d still cached after the move", u1)
			}
			wantCalls(t, e.store, "Status", 0)

			wantUIDs(t, e.list("Archive", time.Hour), 1, 2)
			wantSameMessage(t, e.find("Archive", 2), before)
			if noUIDPlus {
				if e.store.count("Status")+e.store.count("Messages") == 0 {
					t.Errorf("Archive listed without asking the server: its new message's UID is unknown")
				}
				return
			}
			if got := e.store.totalCalls(); got != 1 {
				t.Errorf("store calls: got %d (%v), want 1 (the Move)", got, e.store.calls)
			}
			if !e.bodyExists("Archive", 1000, 2) {
				t.Errorf("body of Archive/2 not cached: it should have moved along")
			}
			if got := e.read("Archive", 1000, 2); !bytes.Equal(got, body) {
				t.Errorf("Archive/2 body: got %q, want %q", got, body)
			}
		})
	}
}

// A move whose copy succeeded and whose expunge failed leaves the message
// in both mailboxes: the error is returned, and both relist at their next
// List and show it.
func TestMoveFailedAfterCopy(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("Archive")
	u1 := e.store.add("INBOX", "one")
	e.store.knobs(func(k *fakeEdit) { k.failAfterCopy = remote.ErrRefused })
	e.prepare("INBOX", "Archive")

	_, err := e.a.Move(t.Context(), "INBOX", u1, "Archive")
	wantErr(t, "Move", err, remote.ErrRefused)
	wantStoreUIDs(t, e.store, "INBOX", u1)
	wantStoreUIDs(t, e.store, "Archive", 1)
	wantUIDs(t, e.list("INBOX", time.Hour), u1)
	wantUIDs(t, e.list("Archive", time.Hour), 1)
	if e.store.count("Status") < 2 {
		t.Errorf("Status calls: got %d, want both mailboxes relisted", e.store.count("Status"))
	}
}

// A message moved to a mailbox never listed, or listed under another
// UIDVALIDITY, makes the target relist at its next List.
func TestMoveToUnlistedMailbox(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("Archive")
	u1 := e.store.add("INBOX", "one")
	e.prepare("INBOX")

	placed, err := e.a.Move(t.Context(), "INBOX", u1, "Archive")
	wantNoErr(t, "Move", err)
	if placed != 1 {
		t.Errorf("Move: got UID %d, want 1", placed)
	}
	wantUIDs(t, e.list("INBOX", time.Hour))
	wantUIDs(t, e.list("Archive", time.Hour), 1)

	// Archive recreated behind the cache's back.
	u2 := e.store.add("INBOX", "two")
	e.list("INBOX", 0)
	e.store.renumber("Archive")
	e.store.resetCounts()
	placed, err = e.a.Move(t.Context(), "INBOX", u2, "Archive")
	wantNoErr(t, "Move", err)
	l := e.list("Archive", time.Hour)
	if l.UIDValidity != 1001 {
		t.Errorf("Archive UIDVALIDITY: got %d, want 1001", l.UIDValidity)
	}
	wantUIDs(t, l, 1, placed)
	if e.store.count("Status")+e.store.count("Messages") == 0 {
		t.Errorf("Archive listed without asking the server after a move into another UIDVALIDITY")
	}
}

// A change that names a UIDVALIDITY the server no longer has fails with
// ErrUIDValidity, changes nothing, and the mailbox relists at its next
// List.
func TestChangeWithOldUIDValidity(t *testing.T) {
	tests := []struct {
		name   string
		opts   *AccountOptions
		method string
		change func(a *Account, ctx context.Context, uid uint32) error
	}{
		{"remove to Trash", nil, "Move", func(a *Account, ctx context.Context, uid uint32) error {
			return a.Remove(ctx, "INBOX", uid)
		}},
		{"remove expunge", &AccountOptions{Expunge: true}, "Expunge", func(a *Account, ctx context.Context, uid uint32) error {
			return a.Remove(ctx, "INBOX", uid)
		}},
		{"move", nil, "Move", func(a *Account, ctx context.Context, uid uint32) error {
			_, err := a.Move(ctx, "INBOX", uid, "Trash")
			return err
		}},
		{"set flags", nil, "SetFlags", func(a *Account, ctx context.Context, uid uint32) error {
			return a.SetFlags(ctx, "INBOX", uid, []string{`\Seen`})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEditEnv(t, tt.opts)
			e.addTrash("Trash")
			e.store.add("INBOX", "one")
			u2 := e.store.add("INBOX", "two")
			e.prepare("INBOX", "Trash")
			e.store.renumber("INBOX") // UIDs 1, 2 again, under 1001

			wantErr(t, tt.name, tt.change(e.a, t.Context(), u2), remote.ErrUIDValidity)
			wantCalls(t, e.store, tt.method, 1)
			wantStoreUIDs(t, e.store, "INBOX", 1, 2)
			wantStoreUIDs(t, e.store, "Trash")
			if mi, _ := e.store.storeMsg("INBOX", 2); len(mi.Flags) != 0 {
				t.Errorf("flags on the server: got %v, want none", mi.Flags)
			}

			l := e.list("INBOX", time.Hour)
			if l.UIDValidity != 1001 {
				t.Errorf("listing after the failure: got UIDVALIDITY %d, want 1001 (relisted)", l.UIDValidity)
			}
			wantUIDs(t, l, 1, 2)
			if e.store.count("Messages") == 0 {
				t.Errorf("INBOX not relisted after ErrUIDValidity")
			}
		})
	}
}

// waitEntered waits until the store reports a call of method.
func waitEntered(t *testing.T, entered <-chan string, method string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-entered:
			if m == method {
				return
			}
		case <-timeout:
			t.Fatalf("the store was not called with %s", method)
		}
	}
}

// A change to a mailbox whose sync is running waits for the sync, and the
// listing published after both shows the change: the removed message does
// not come back.
func TestChangeWaitsForSync(t *testing.T) {
	e := newEditEnv(t, nil)
	e.addTrash("Trash")
	u1 := e.store.add("INBOX", "one")
	u2 := e.store.add("INBOX", "two")
	e.prepare("INBOX", "Trash")
	u3 := e.store.add("INBOX", "three") // by another client

	gate, entered := make(chan struct{}), make(chan string, 64)
	var opened sync.Once
	open := func() { opened.Do(func() { close(gate) }) }
	t.Cleanup(open) // before the cache closes, should the test stop early
	e.store.mu.Lock()
	e.store.gate, e.store.entered = gate, entered
	e.store.mu.Unlock()
	ctx := t.Context()
	synced := make(chan error, 1)
	go func() {
		_, err := e.a.List(ctx, "INBOX", 0)
		synced <- err
	}()
	waitEntered(t, entered, "Status") // the sync holds INBOX

	removed := make(chan error, 1)
	go func() { removed <- e.a.Remove(ctx, "INBOX", u2) }()
	select {
	case m := <-entered:
		t.Fatalf("the store was asked %s while a sync of INBOX ran", m)
	case err := <-removed:
		t.Fatalf("Remove returned (%v) while a sync of INBOX ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	open()
	wantNoErr(t, "sync", <-synced)
	wantNoErr(t, "Remove", <-removed)
	e.settle()

	wantStoreUIDs(t, e.store, "INBOX", u1, u3)
	wantUIDs(t, e.list("INBOX", time.Hour), u1, u3)
	wantUIDs(t, e.list("Trash", time.Hour), 1)
	wantUIDs(t, e.list("INBOX", 0), u1, u3)
}

// A message moved into a mailbox whose sync read its flags before the move
// stays listed: the move waits for that sync, whose flag list lacks it.
func TestMoveWaitsForTargetSync(t *testing.T) {
	e := newEditEnv(t, nil)
	e.addTrash("Trash")
	u1 := e.store.add("INBOX", "one")
	e.prepare("INBOX", "Trash")
	e.read("INBOX", 1000, u1)
	e.settle()

	paused, release := make(chan struct{}), make(chan struct{})
	var once, released sync.Once
	unpause := func() { released.Do(func() { close(release) }) }
	t.Cleanup(unpause) // before the cache closes, should the test stop early
	e.store.mu.Lock()
	e.store.afterFlags = func() {
		once.Do(func() {
			close(paused)
			<-release
		})
	}
	e.store.mu.Unlock()
	e.a.Invalidate("Trash") // its next sync reads every flag
	ctx := t.Context()
	synced := make(chan error, 1)
	go func() {
		_, err := e.a.List(ctx, "Trash", 0)
		synced <- err
	}()
	<-paused // the sync of Trash has the flags from before the move

	removed := make(chan error, 1)
	go func() { removed <- e.a.Remove(ctx, "INBOX", u1) }()
	select {
	case err := <-removed:
		t.Fatalf("Remove returned (%v) while a sync of Trash ran", err)
	case <-time.After(200 * time.Millisecond):
	}
	wantCalls(t, e.store, "Move", 0)
	unpause()
	wantNoErr(t, "sync", <-synced)
	wantNoErr(t, "Remove", <-removed)
	e.settle()

	wantStoreUIDs(t, e.store, "Trash", 1)
	wantUIDs(t, e.list("Trash", time.Hour), 1)
	if !e.bodyExists("Trash", 1000, 1) {
		t.Errorf("body of Trash/1 not cached")
	}
}

// SetFlags stores exactly the flags given, normalized, on the server and in
// the listing at once; a flag that is not an IMAP flag is ErrInvalid and
// nothing is sent.
func TestSetFlags(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  []string
	}{
		{"replace", []string{`\seen`, "$Label1", `\Seen`, ""}, []string{"$Label1", `\Seen`}},
		{"clear", nil, nil},
		{"keywords", []string{"Junk", `\Answered`, `\DRAFT`}, []string{"Junk", `\Answered`, `\Draft`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEditEnv(t, nil)
			u1 := e.store.add("INBOX", "one", `\Flagged`, `\Seen`)
			u2 := e.store.add("INBOX", "two", `\Deleted`)
			e.prepare("INBOX")

			wantNoErr(t, "SetFlags", e.a.SetFlags(t.Context(), "INBOX", u1, tt.flags))
			wantCalls(t, e.store, "SetFlags", 1)
			mi, _ := e.store.storeMsg("INBOX", u1)
			if !slices.Equal(mi.Flags, tt.want) {
				t.Errorf("flags on the server: got %q, want %q", mi.Flags, tt.want)
			}
			if got := e.find("INBOX", u1).Flags; !slices.Equal(got, tt.want) {
				t.Errorf("flags in the listing: got %q, want %q", got, tt.want)
			}
			if got := e.find("INBOX", u2).Flags; !slices.Equal(got, []string{`\Deleted`}) {
				t.Errorf("flags of the other message: got %q, want [\\Deleted]", got)
			}
			if got := e.store.totalCalls(); got != 1 {
				t.Errorf("store calls: got %d (%v), want 1 (SetFlags)", got, e.store.calls)
			}
			if got := e.list("INBOX", 0); !slices.Equal(got.Messages[0].Flags, tt.want) {
				t.Errorf("flags after a sync: got %q, want %q", got.Messages[0].Flags, tt.want)
			}
		})
	}
}

func TestSetFlagsInvalid(t *testing.T) {
	for _, flags := range [][]string{{`\Recent`}, {"a b"}, {`\Seen`, `\Important`}, {"(x"}, {"caf\u00e9"}} {
		t.Run(fmt.Sprint(flags), func(t *testing.T) {
			e := newEditEnv(t, nil)
			u := e.store.add("INBOX", "one", `\Seen`)
			e.prepare("INBOX")
			wantErr(t, "SetFlags", e.a.SetFlags(t.Context(), "INBOX", u, flags), remote.ErrInvalid)
			if got := e.store.totalCalls(); got != 0 {
				t.Errorf("store calls: got %d (%v), want 0", got, e.store.calls)
			}
			if got := e.find("INBOX", u).Flags; !slices.Equal(got, []string{`\Seen`}) {
				t.Errorf("flags in the listing: got %q, want [\\Seen]", got)
			}
		})
	}
}

// SetFlags of a message the listing does not have is ErrNotFound without
// asking the server.
func TestSetFlagsUnlisted(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.add("INBOX", "one")
	e.prepare("INBOX")
	wantErr(t, "SetFlags", e.a.SetFlags(t.Context(), "INBOX", 7, []string{`\Seen`}), remote.ErrNotFound)
	if got := e.store.totalCalls(); got != 0 {
		t.Errorf("store calls: got %d (%v), want 0", got, e.store.calls)
	}
}

const appendMsg = "Date: Tue, 03 Mar 2026 14:05:06 +0200\r\n" +
	"From: a@example.org\r\n" +
	"Subject: appended\r\n" +
	"Message-ID: <app@test>\r\n" +
	"\r\n" +
	"hello\r\n"

func (e *env) append(mbox, msg string) (uint32, error) {
	return e.a.Append(e.t.Context(), mbox, strings.NewReader(msg), int64(len(msg)), nil)
}

// Append stores the bytes with the Date: header's time (and zone) as
// INTERNALDATE, and lists the message at once with what the server says
// of it, its body cached.
func TestAppend(t *testing.T) {
	e := newEditEnv(t, nil)
	u1 := e.store.add("INBOX", "one")
	e.prepare("INBOX")

	uid, err := e.append("INBOX", appendMsg)
	wantNoErr(t, "Append", err)
	if uid != 2 {
		t.Errorf("Append: got UID %d, want 2", uid)
	}
	apps := e.store.appends()
	if len(apps) != 1 {
		t.Fatalf("Appends on the server: got %d, want 1", len(apps))
	}
	app := apps[0]
	if app.mailbox != "INBOX" || string(app.body) != appendMsg {
		t.Errorf("Append: got %q in %s, want the message in INBOX", app.body, app.mailbox)
	}
	wantDate := time.Date(2026, 3, 3, 12, 5, 6, 0, time.UTC)
	if _, off := app.date.Zone(); !app.date.Equal(wantDate) || off != 2*3600 {
		t.Errorf("Append date: got %v, want %v in zone +0200", app.date, wantDate)
	}
	wantCalls(t, e.store, "Messages", 1) // the server's listing entry

	l := e.list("INBOX", time.Hour)
	wantUIDs(t, l, u1, 2)
	mi, _ := l.Find(2)
	server, _ := e.store.storeMsg("INBOX", 2)
	if mi.Size != int64(len(appendMsg)) || mi.Subject != "appended" || !mi.InternalDate.Equal(wantDate) {
		t.Errorf("listing entry: got %+v, want size %d, subject appended, date %v", mi, len(appendMsg), wantDate)
	}
	if _, off := mi.InternalDate.Zone(); off != 2*3600 {
		t.Errorf("listing date zone: got offset %d, want %d", off, 2*3600)
	}
	wantSameMessage(t, mi, server)
	if got := e.store.count("Status"); got != 0 {
		t.Errorf("Status calls: got %d, want 0", got)
	}
	if !e.bodyExists("INBOX", 1000, 2) {
		t.Fatalf("appended body not cached")
	}
	if got := e.read("INBOX", 1000, 2); string(got) != appendMsg {
		t.Errorf("appended body: got %q, want %q", got, appendMsg)
	}
	e.settle()
	if slices.Contains(e.store.fetchedUIDs(), 2) {
		t.Errorf("appended body fetched from the server")
	}
	wantUIDs(t, e.list("INBOX", 0), u1, 2)
}

// Append passes the flags, checked and normalised, with the APPEND, and
// the listing has them at once; a flag that is not an IMAP flag appends
// nothing.
func TestAppendWithFlags(t *testing.T) {
	e := newEditEnv(t, nil)
	e.prepare("INBOX")
	uid, err := e.a.Append(e.t.Context(), "INBOX", strings.NewReader(appendMsg), int64(len(appendMsg)), []string{`\seen`, `$Forwarded`, `\Seen`})
	wantNoErr(t, "Append", err)
	apps := e.store.appends()
	if len(apps) != 1 || !slices.Equal(apps[0].flags, []string{`$Forwarded`, `\Seen`}) {
		t.Fatalf("Appends: got %+v, want one with $Forwarded \\Seen", apps)
	}
	if got := e.find("INBOX", uid).Flags; !slices.Equal(got, []string{`$Forwarded`, `\Seen`}) {
		t.Errorf("listed flags: got %q, want $Forwarded \\Seen", got)
	}
	_, err = e.a.Append(e.t.Context(), "INBOX", strings.NewReader(appendMsg), int64(len(appendMsg)), []string{`\Recent`})
	wantErr(t, "Append with \\Recent", err, remote.ErrInvalid)
	wantCalls(t, e.store, "Append", 1)
}

// An appended message the server stores with other bytes (line endings)
// is listed with the server's size, and its body is not cached from the
// file but fetched.
func TestAppendServerChangesBytes(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.knobs(func(k *fakeEdit) { k.crlf = true })
	e.prepare("INBOX")
	msg := strings.ReplaceAll(appendMsg, "\r\n", "\n")

	uid, err := e.append("INBOX", msg)
	wantNoErr(t, "Append", err)
	if got := e.find("INBOX", uid).Size; got != int64(len(appendMsg)) {
		t.Errorf("listed size: got %d, want the server's %d", got, len(appendMsg))
	}
	if e.bodyExists("INBOX", 1000, uid) {
		t.Errorf("a body of another size than the server's was cached")
	}
	if got := e.read("INBOX", 1000, uid); string(got) != appendMsg {
		t.Errorf("body: got %q, want the server's %q", got, appendMsg)
	}
}

// Without a Date: header, Append passes a zero date: the server's clock
// decides.
func TestAppendWithoutDate(t *testing.T) {
	e := newEditEnv(t, nil)
	e.prepare("INBOX")
	msg := "Subject: undated\r\n\r\nbody\r\n"
	uid, err := e.append("INBOX", msg)
	wantNoErr(t, "Append", err)
	apps := e.store.appends()
	if len(apps) != 1 || !apps[0].date.IsZero() {
		t.Fatalf("Append dates: got %+v, want one zero date", apps)
	}
	if got := e.find("INBOX", uid).InternalDate; !got.Equal(fakeServerClock) {
		t.Errorf("listed date: got %v, want the server's %v", got, fakeServerClock)
	}
}

// Without UIDPLUS the server does not say where the message went: Append
// returns 0 and the mailbox relists at its next List.
func TestAppendWithoutUIDPlus(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.knobs(func(k *fakeEdit) { k.noUIDPlus = true })
	u1 := e.store.add("INBOX", "one")
	e.prepare("INBOX")

	uid, err := e.append("INBOX", appendMsg)
	wantNoErr(t, "Append", err)
	if uid != 0 {
		t.Errorf("Append: got UID %d, want 0", uid)
	}
	wantUIDs(t, e.list("INBOX", time.Hour), u1, 2)
	if e.store.count("Status") == 0 {
		t.Errorf("INBOX listed without asking the server after an Append without APPENDUID")
	}
}

// What is not a message is ErrInvalid, and nothing is appended.
func TestAppendRejectsNonMessage(t *testing.T) {
	for _, msg := range []string{"hello\n", "", "hello world, no header at all\r\n"} {
		t.Run(fmt.Sprintf("%q", msg), func(t *testing.T) {
			e := newEditEnv(t, nil)
			e.prepare("INBOX")
			_, err := e.append("INBOX", msg)
			wantErr(t, "Append", err, remote.ErrInvalid)
			wantCalls(t, e.store, "Append", 0)
			wantUIDs(t, e.list("INBOX", time.Hour))
		})
	}
}

// CreateMailbox adds the mailbox to the list at once, without asking the
// server for the list.
func TestCreateMailbox(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("Work")
	e.prepare()

	wantNoErr(t, "CreateMailbox", e.a.CreateMailbox(t.Context(), "Work/2026"))
	wantCalls(t, e.store, "CreateMailbox", 1)
	if !e.store.hasBox("Work/2026") {
		t.Fatalf("Work/2026 not created on the server")
	}
	if got, want := e.mailboxes(time.Hour), []string{"INBOX", "Work", "Work/2026"}; !slices.Equal(got, want) {
		t.Errorf("mailboxes: got %v, want %v", got, want)
	}
	wantCalls(t, e.store, "Mailboxes", 0)
	mbs, _ := e.a.Mailboxes(t.Context(), time.Hour)
	for _, m := range mbs {
		if m.Name == "Work/2026" && m.Delim != '/' {
			t.Errorf("delimiter of Work/2026: got %q, want '/'", m.Delim)
		}
	}
	wantUIDs(t, e.list("Work/2026", time.Hour))

	err := e.a.CreateMailbox(t.Context(), "Work")
	wantErr(t, "CreateMailbox of an existing mailbox", err, remote.ErrExists)
	if got, want := e.mailboxes(time.Hour), []string{"INBOX", "Work", "Work/2026"}; !slices.Equal(got, want) {
		t.Errorf("mailboxes: got %v, want %v", got, want)
	}
}

// A mailbox deleted and created again is another mailbox: nothing of the
// old one's cache is shown.
func TestCreateMailboxDropsOldCache(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("Old")
	u := e.store.add("Old", "one")
	e.prepare("Old")
	e.read("Old", 1000, u)
	e.settle()
	e.store.remove("Old") // by another client

	wantNoErr(t, "CreateMailbox", e.a.CreateMailbox(t.Context(), "Old"))
	if e.bodyExists("Old", 1000, u) {
		t.Errorf("body of the old mailbox still cached")
	}
	wantUIDs(t, e.list("Old", time.Hour))
}

// A child another client created after the list was cached still stops
// the DELETE: DeleteMailbox asks the server for the list first.
func TestDeleteMailboxChildCreatedElsewhere(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("Parent")
	e.prepare("Parent")
	e.store.create("Parent/Kid") // by another client
	err := e.a.DeleteMailbox(t.Context(), "Parent")
	wantErr(t, "DeleteMailbox(Parent)", err, syscall.ENOTEMPTY)
	if !e.store.hasBox("Parent") {
		t.Errorf("Parent deleted on the server")
	}
}

// DeleteMailbox removes an empty mailbox from the list at once; one that
// holds messages or has a mailbox under it is ENOTEMPTY and stays.
func TestDeleteMailbox(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("Empty")
	e.store.create("Full")
	e.store.add("Full", "one")
	e.store.create("Parent")
	e.store.create("Parent/Child")
	e.prepare("Empty", "Full")

	wantNoErr(t, "DeleteMailbox(Empty)", e.a.DeleteMailbox(t.Context(), "Empty"))
	e.store.resetCounts() // DeleteMailbox asks for the list; what follows must not
	if e.store.hasBox("Empty") {
		t.Errorf("Empty still on the server")
	}
	if l := e.a.entry("Empty").snap.Load().listing; l != nil {
		t.Errorf("Empty: cached listing kept after the delete")
	}
	want := []string{"Full", "INBOX", "Parent", "Parent/Child"}
	if got := e.mailboxes(time.Hour); !slices.Equal(got, want) {
		t.Errorf("mailboxes: got %v, want %v", got, want)
	}
	wantCalls(t, e.store, "Mailboxes", 0)

	for _, name := range []string{"Full", "Parent"} {
		e.store.resetCounts()
		err := e.a.DeleteMailbox(t.Context(), name)
		wantErr(t, "DeleteMailbox("+name+")", err, syscall.ENOTEMPTY)
		wantCalls(t, e.store, "DeleteMailbox", 0)
		if !e.store.hasBox(name) {
			t.Errorf("%s deleted on the server", name)
		}
	}
	wantStoreUIDs(t, e.store, "Full", 1)
	if got := e.mailboxes(time.Hour); !slices.Equal(got, want) {
		t.Errorf("mailboxes: got %v, want %v", got, want)
	}
	wantUIDs(t, e.list("Full", time.Hour), 1)
}

// INBOX, in any case, can be neither deleted nor renamed nor replaced:
// EPERM, and nothing is asked of the server.
func TestInboxCannotBeDeletedOrRenamed(t *testing.T) {
	tests := []struct {
		name   string
		change func(a *Account, ctx context.Context) error
	}{
		{"delete INBOX", func(a *Account, ctx context.Context) error { return a.DeleteMailbox(ctx, "INBOX") }},
		{"delete inbox", func(a *Account, ctx context.Context) error { return a.DeleteMailbox(ctx, "inbox") }},
		{"delete Inbox", func(a *Account, ctx context.Context) error { return a.DeleteMailbox(ctx, "Inbox") }},
		{"rename INBOX", func(a *Account, ctx context.Context) error { return a.RenameMailbox(ctx, "INBOX", "Old") }},
		{"rename iNbOx", func(a *Account, ctx context.Context) error { return a.RenameMailbox(ctx, "iNbOx", "Old") }},
		{"rename onto INBOX", func(a *Account, ctx context.Context) error { return a.RenameMailbox(ctx, "Work", "INBOX") }},
		{"rename onto inbox", func(a *Account, ctx context.Context) error { return a.RenameMailbox(ctx, "Work", "inbox") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEditEnv(t, nil)
			e.store.create("Work")
			u := e.store.add("INBOX", "one")
			e.prepare("INBOX")
			wantErr(t, tt.name, tt.change(e.a, t.Context()), syscall.EPERM)
			if got := e.store.totalCalls(); got != 0 {
				t.Errorf("store calls: got %d (%v), want 0", got, e.store.calls)
			}
			wantStoreUIDs(t, e.store, "INBOX", u)
			if got, want := e.mailboxes(time.Hour), []string{"INBOX", "Work"}; !slices.Equal(got, want) {
				t.Errorf("mailboxes: got %v, want %v", got, want)
			}
		})
	}
}

// RenameMailbox renames the mailbox and those under it in the list at
// once, drops their cached listings and bodies (the new names are listed
// afresh), and leaves alone a mailbox whose name merely starts the same.
func TestRenameMailbox(t *testing.T) {
	e := newEditEnv(t, nil)
	for _, name := range []string{"Work", "Work/2026", "Workshop"} {
		e.store.create(name)
		e.store.add(name, "in "+name)
	}
	e.prepare("Work", "Work/2026", "Workshop")
	for _, name := range []string{"Work", "Work/2026", "Workshop"} {
		e.read(name, 1000, 1)
	}
	e.settle()
	e.store.resetCounts()

	wantNoErr(t, "RenameMailbox", e.a.RenameMailbox(t.Context(), "Work", "Job"))
	wantCalls(t, e.store, "RenameMailbox", 1)
	want := []string{"INBOX", "Job", "Job/2026", "Workshop"}
	if got := e.mailboxes(time.Hour); !slices.Equal(got, want) {
		t.Errorf("mailboxes: got %v, want %v", got, want)
	}
	wantCalls(t, e.store, "Mailboxes", 0)
	for _, name := range []string{"Work", "Work/2026"} {
		if l := e.a.entry(name).snap.Load().listing; l != nil {
			t.Errorf("%s: cached listing %v kept after the rename", name, uidsOf(l))
		}
		if e.bodyExists(name, 1000, 1) {
			t.Errorf("%s: cached body kept after the rename", name)
		}
	}
	if !e.bodyExists("Workshop", 1000, 1) {
		t.Errorf("Workshop: cached body dropped by the rename of Work")
	}
	wantUIDs(t, e.list("Workshop", time.Hour), 1)
	wantCalls(t, e.store, "Status", 0)

	// The new names are listed afresh, from the server.
	wantUIDs(t, e.list("Job/2026", time.Hour), 1)
	wantUIDs(t, e.list("Job", time.Hour), 1)
	if e.store.count("Status")+e.store.count("Messages") < 2 {
		t.Errorf("the renamed mailboxes were listed without asking the server: %v", e.store.calls)
	}
	if got := e.read("Job/2026", 1000, 1); !bytes.Contains(got, []byte("in Work/2026")) {
		t.Errorf("Job/2026 body: got %q, want the message of Work/2026", got)
	}
}

// A mailbox renamed onto a name whose cache exists (a mailbox deleted by
// another client) does not show that old cache.
func TestRenameMailboxDropsTargetCache(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.create("A")
	e.store.add("A", "in A")
	e.store.create("B")
	e.store.add("B", "in B")
	e.store.add("B", "in B too")
	e.prepare("A", "B")
	e.store.remove("B") // by another client
	wantNoErr(t, "RenameMailbox", e.a.RenameMailbox(t.Context(), "A", "B"))
	wantUIDs(t, e.list("B", time.Hour), 1)
	if got := e.read("B", 1000, 1); !bytes.Contains(got, []byte("in A")) {
		t.Errorf("B body: got %q, want the message of A", got)
	}
}

// change is one of the Account's changes, for table tests over all of them.
type change struct {
	name   string
	method string // the store method it calls
	do     func(e *env) error
}

func changes(uid uint32) []change {
	return []change{
		{"remove", "Move", func(e *env) error { return e.a.Remove(e.t.Context(), "INBOX", uid) }},
		{"move", "Move", func(e *env) error { _, err := e.a.Move(e.t.Context(), "INBOX", uid, "Trash"); return err }},
		{"set flags", "SetFlags", func(e *env) error { return e.a.SetFlags(e.t.Context(), "INBOX", uid, []string{`\Seen`}) }},
		{"append", "Append", func(e *env) error { _, err := e.append("INBOX", appendMsg); return err }},
		{"create", "CreateMailbox", func(e *env) error { return e.a.CreateMailbox(e.t.Context(), "New") }},
		{"delete", "Status", func(e *env) error { return e.a.DeleteMailbox(e.t.Context(), "Empty") }},
		{"rename", "RenameMailbox", func(e *env) error { return e.a.RenameMailbox(e.t.Context(), "Empty", "Renamed") }},
	}
}

// changeEnv is an account with INBOX (one message), a Trash and an empty
// mailbox, listed.
func changeEnv(t *testing.T) (*env, uint32) {
	e := newEditEnv(t, nil)
	e.addTrash("Trash")
	e.store.create("Empty")
	u := e.store.add("INBOX", "one")
	e.prepare("INBOX", "Trash")
	return e, u
}

// wantUnchanged fails unless the server and the cache are as changeEnv
// made them.
func wantUnchanged(t *testing.T, e *env, uid uint32) {
	t.Helper()
	wantStoreUIDs(t, e.store, "INBOX", uid)
	wantStoreUIDs(t, e.store, "Trash")
	if mi, _ := e.store.storeMsg("INBOX", uid); len(mi.Flags) != 0 {
		t.Errorf("flags on the server: got %v, want none", mi.Flags)
	}
	for _, name := range []string{"New", "Renamed"} {
		if e.store.hasBox(name) {
			t.Errorf("%s created on the server", name)
		}
	}
	if !e.store.hasBox("Empty") {
		t.Errorf("Empty deleted on the server")
	}
	l := e.list("INBOX", time.Hour)
	wantUIDs(t, l, uid)
	if f := l.Messages[0].Flags; len(f) != 0 {
		t.Errorf("flags in the listing: got %v, want none", f)
	}
	wantUIDs(t, e.list("Trash", time.Hour))
	if got, want := e.mailboxes(time.Hour), []string{"Empty", "INBOX", "Trash"}; !slices.Equal(got, want) {
		t.Errorf("mailboxes: got %v, want %v", got, want)
	}
}

// With the server down, a change fails with ErrUnavailable; within
// RetryAfter of that failure every change fails at once, without asking
// the server; nothing changes. Once the server is back and the window has
// passed, changes go through again.
func TestChangesFailFastWhenServerDown(t *testing.T) {
	for i, c := range changes(0) {
		t.Run(c.name, func(t *testing.T) {
			e, u := changeEnv(t)
			first := changes(u)[i]
			e.store.setDown(true)
			wantErr(t, first.name, first.do(e), remote.ErrUnavailable)
			if got := e.store.count(first.method); got != 1 {
				t.Errorf("%s calls: got %d, want 1", first.method, got)
			}
			e.store.resetCounts()
			for _, c := range changes(u) {
				wantErr(t, c.name+" after the failure", c.do(e), remote.ErrUnavailable)
			}
			if got := e.store.totalCalls(); got != 0 {
				t.Errorf("store calls within the offline window: got %d (%v), want 0", got, e.store.calls)
			}
			e.store.setDown(false)
			wantUnchanged(t, e, u)

			e.clock.Advance(DefaultRetryAfter)
			wantNoErr(t, "SetFlags after the window", e.a.SetFlags(t.Context(), "INBOX", u, []string{`\Seen`}))
		})
	}
}

// readOnlyStore is a remote.Store and nothing more: neither an Editor nor
// an Appender.
type readOnlyStore struct{ remote.Store }

// An account whose store cannot change mail refuses every change with
// EACCES, asking the server nothing.
func TestReadOnlyStore(t *testing.T) {
	e := newEditEnv(t, nil)
	e.a = e.c.Account("ro", readOnlyStore{e.store}, nil)
	e.addTrash("Trash")
	e.store.create("Empty")
	u := e.store.add("INBOX", "one")
	e.prepare("INBOX", "Trash")
	for _, c := range changes(u) {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, c.name, c.do(e), syscall.EACCES)
		})
	}
	if got := e.store.totalCalls(); got != 0 {
		t.Errorf("store calls: got %d (%v), want 0", got, e.store.calls)
	}
	wantUnchanged(t, e, u)
}

// A message the cache places in a listing (Append, Move, Remove to Trash)
// takes a UID above those of messages other clients put there since the
// last sync: the next sync must still list those.
func TestPlacedMessageKeepsEarlierNewMail(t *testing.T) {
	tests := []struct {
		name   string
		mbox   string
		change func(e *env, uid uint32) error
	}{
		{"append", "INBOX", func(e *env, uid uint32) error { _, err := e.append("INBOX", appendMsg); return err }},
		{"remove to Trash", "Trash", func(e *env, uid uint32) error { return e.a.Remove(e.t.Context(), "INBOX", uid) }},
		{"move", "Trash", func(e *env, uid uint32) error { _, err := e.a.Move(e.t.Context(), "INBOX", uid, "Trash"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEditEnv(t, nil)
			e.addTrash("Trash")
			e.store.add("Trash", "trashed")
			e.store.add("INBOX", "old")
			u := e.store.add("INBOX", "to move")
			e.prepare("INBOX", "Trash")
			other := e.store.add(tt.mbox, "new mail") // by another client, not yet synced
			wantNoErr(t, tt.name, tt.change(e, u))
			want := e.store.storeUIDs(tt.mbox)

			l := e.list(tt.mbox, 0)
			if _, ok := l.Find(other); !ok {
				t.Errorf("%s after a sync: got UIDs %v, want %v: UID %d, delivered before the change, is missing",
					tt.mbox, uidsOf(l), want, other)
			}
			e.a.Invalidate(tt.mbox)
			wantUIDs(t, e.list(tt.mbox, 0), want...)
		})
	}
}
