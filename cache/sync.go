package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"mailfs/remote"
)

// checkSaveInterval is how often the last-check time of an unchanged
// mailbox is written to the database. In memory it is always current; on
// disk it only decides how soon after a restart the mailbox is checked.
const checkSaveInterval = time.Minute

// List returns the mailbox's listing. When it was checked less than maxAge
// ago the snapshot in memory is returned at once; otherwise the mailbox is
// synced with the server first, fetching only what changed. Concurrent
// calls for the same mailbox share one sync. When the server is unreachable
// the cached listing is returned; with none cached, the error.
func (a *Account) List(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, error) {
	m, err := a.box(mailbox)
	if err != nil {
		return nil, err
	}
	m.publishFixes()
	s := m.snap.Load()
	if s.listing != nil && !m.stale.Load() && a.c.now().Sub(s.state.Checked) < maxAge {
		return s.listing, nil
	}
	if down, cause := a.down(); down {
		if s.listing != nil {
			return s.listing, nil
		}
		return nil, fmt.Errorf("sync %s/%s: %w", a.name, mailbox, cause)
	}
	l, err := a.syncs.do(ctx, mailbox, func(ctx context.Context) (*remote.Listing, error) {
		return a.sync(ctx, m)
	})
	if err != nil {
		if errors.Is(err, remote.ErrUnavailable) {
			m.publishFixes()
			if s := m.snap.Load(); s.listing != nil {
				return s.listing, nil
			}
		}
		return nil, err
	}
	return l, nil
}

// sync brings the mailbox up to date with the server and publishes the
// result. An ErrUIDValidity from the server midway restarts it once, from
// scratch.
func (a *Account) sync(ctx context.Context, m *mailbox) (*remote.Listing, error) {
	select {
	case m.syncing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("sync %s/%s: %w", a.name, m.name, ctx.Err())
	}
	defer func() { <-m.syncing }()
	stale := m.stale.Swap(false)
	l, err := a.syncOnce(ctx, m, stale, false)
	if errors.Is(err, remote.ErrUIDValidity) {
		a.c.log.Info("UIDVALIDITY changed during sync; relisting", "account", a.name, "mailbox", m.name)
		l, err = a.syncOnce(ctx, m, stale, true)
	}
	if err != nil {
		if stale {
			m.stale.Store(true)
		}
		if errors.Is(err, remote.ErrNotFound) {
			a.noteOK()
			a.dropMailbox(m.name)
		} else {
			a.noteErr(m.name, err)
		}
		return nil, fmt.Errorf("sync %s/%s: %w", a.name, m.name, err)
	}
	a.noteOK()
	return l, nil
}

// syncOnce asks the server what changed since the last sync and applies
// it: everything when there was no listing, UIDVALIDITY changed or fresh is
// set; otherwise only new messages and, when the counters say something
// vanished or changed (or stale is set), the flags of all.
func (a *Account) syncOnce(ctx context.Context, m *mailbox, stale, fresh bool) (*remote.Listing, error) {
	s := m.snap.Load()
	if l, ok := a.store.(lister); ok && (fresh || s.listing == nil) {
		// Nothing to compare with: list at once, without a STATUS first.
		var msgs []remote.MessageInfo
		prog := a.newProgress("listing mailbox", m.name, int(s.state.Messages))
		st, err := l.Listing(ctx, m.name, func(mi remote.MessageInfo) error {
			msgs = append(msgs, a.c.intern.message(mi))
			prog.add(1, 0)
			return nil
		})
		prog.finish()
		if err != nil {
			return nil, err
		}
		return a.replaceListing(m, st, msgs)
	}
	st, err := a.store.Status(ctx, m.name)
	if err != nil {
		return nil, err
	}
	if fresh || s.listing == nil || s.state.UIDValidity != st.UIDValidity {
		return a.relist(ctx, m, st)
	}
	old := s.state.MailboxStatus
	if !stale && st == old {
		return a.confirm(m, st)
	}

	known := s.listing.Messages
	var maxUID uint32
	if n := len(known); n > 0 {
		maxUID = known[n-1].UID
	}
	// Every message new since the last sync has a UID of at least the
	// UIDNEXT it reported. That can be below maxUID+1: a message this
	// cache put in the mailbox (edit.go's place) is listed before the
	// sync that learns what others delivered before it.
	from := uint64(maxUID) + 1
	if old.UIDNext != 0 && uint64(old.UIDNext) < from {
		from = uint64(old.UIDNext)
	}
	var added []remote.MessageInfo
	if (st.UIDNext != old.UIDNext || st.UIDNext == 0) && from <= math.MaxUint32 {
		err := a.store.Messages(ctx, m.name, st.UIDValidity, uint32(from), func(mi remote.MessageInfo) error {
			if _, known := s.listing.Find(mi.UID); known || uint64(mi.UID) < from {
				return nil
			}
			if len(added) == 0 || mi.UID > added[len(added)-1].UID {
				added = append(added, a.c.intern.message(mi))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var flags []remote.FlagState
	readFlags := stale || st.HighestModSeq != old.HighestModSeq ||
		len(known)+len(added) != int(st.Messages)
	// With every known message still there (the counts add up) and the
	// server's mod-sequences, only the flags that changed are read.
	partial := false
	if fc, ok := a.store.(remote.FlagChanges); ok && readFlags && !stale &&
		old.HighestModSeq != 0 && st.HighestModSeq != 0 && len(known)+len(added) == int(st.Messages) {
		flags, err = fc.ChangedFlags(ctx, m.name, st.UIDValidity, old.HighestModSeq)
		switch {
		case err == nil:
			partial = true
		case !errors.Is(err, remote.ErrUnsupported):
			return nil, err
		}
	}
	if readFlags && !partial {
		if flags, err = a.store.Flags(ctx, m.name, st.UIDValidity); err != nil {
			return nil, err
		}
	}
	if !slices.IsSortedFunc(flags, func(x, y remote.FlagState) int { return cmpUID(x.UID, y.UID) }) {
		flags = slices.Clone(flags)
		slices.SortFunc(flags, func(x, y remote.FlagState) int { return cmpUID(x.UID, y.UID) })
	}
	return a.apply(m, st, s.state.UIDValidity, added, flags, readFlags, partial)
}

// lister is a remote.Store that can list a whole mailbox together with its
// status, in one round trip (remote/imap can): a first listing then needs
// no STATUS before it.
type lister interface {
	Listing(ctx context.Context, mailbox string, fn func(remote.MessageInfo) error) (remote.MailboxStatus, error)
}

func cmpUID(x, y uint32) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// confirm records that the server confirmed the listing unchanged.
func (a *Account) confirm(m *mailbox, st remote.MailboxStatus) (*remote.Listing, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publishFixesLocked()
	s := m.snap.Load()
	if s.listing == nil || s.state.UIDValidity != st.UIDValidity {
		return nil, fmt.Errorf("listing changed during sync: %w", remote.ErrUIDValidity)
	}
	now := a.c.now()
	ns := mboxState{MailboxStatus: st, Checked: now}
	if now.Sub(m.savedCheck) >= checkSaveInterval || now.Before(m.savedCheck) {
		if err := a.c.writeFolder(a.name, m.name, folderChange{state: &ns}); err != nil {
			return nil, err
		}
		m.savedCheck = now
	}
	m.snap.Store(&snapshot{state: ns, listing: s.listing})
	return s.listing, nil
}

// apply merges a sync's findings into the current listing, stores the
// change, deletes the bodies of vanished messages and publishes the new
// listing. flags (when readFlags) is every message's flags, sorted by UID:
// a known or added UID missing from it has vanished; with partial, flags
// holds only those that changed, and nothing has vanished.
func (a *Account) apply(m *mailbox, st remote.MailboxStatus, uidValidity uint32, added []remote.MessageInfo, flags []remote.FlagState, readFlags, partial bool) (*remote.Listing, error) {
	var change remote.Change
	var gone []string               // body files to delete
	defer a.publish(&change, &gone) // after the unlock
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publishFixesLocked()
	s := m.snap.Load()
	if s.listing == nil || s.listing.UIDValidity != uidValidity {
		return nil, fmt.Errorf("listing changed during sync: %w", remote.ErrUIDValidity)
	}
	now := a.c.now()
	ns := mboxState{MailboxStatus: st, Checked: now}
	ch := folderChange{state: &ns}
	cur := s.listing.Messages
	out := make([]remote.MessageInfo, 0, len(cur)+len(added))
	j := 0
	// keep reports whether mi is still on the server, updating its flags.
	keep := func(mi *remote.MessageInfo) (present, changed bool) {
		if !readFlags {
			return true, false
		}
		for j < len(flags) && flags[j].UID < mi.UID {
			j++
		}
		if j == len(flags) || flags[j].UID != mi.UID {
			return partial, false
		}
		f := a.c.intern.flagSet(flags[j].Flags)
		if slices.Equal(f, mi.Flags) {
			return true, false
		}
		mi.Flags = f
		return true, true
	}
	// Walk the known and the added messages together in UID order (added
	// ones may lie below the last known: see syncOnce), so that keep sees
	// ascending UIDs.
	for i, k := 0, 0; i < len(cur) || k < len(added); {
		var mi remote.MessageInfo
		isNew := false
		switch {
		case k == len(added) || (i < len(cur) && cur[i].UID < added[k].UID):
			mi, i = cur[i], i+1
		case i < len(cur) && cur[i].UID == added[k].UID:
			mi, i, k = cur[i], i+1, k+1 // placed here by this cache meanwhile
		default:
			mi, k, isNew = added[k], k+1, true
		}
		present, changed := keep(&mi)
		switch {
		case !present && !isNew:
			ch.del = append(ch.del, mi.UID)
			continue
		case !present:
			continue
		case changed || isNew:
			ch.put = append(ch.put, mi)
		}
		out = append(out, mi)
	}
	if err := a.c.writeFolder(a.name, m.name, ch); err != nil {
		return nil, err
	}
	m.savedCheck = now
	for _, uid := range ch.del {
		gone = append(gone, a.c.bodyPath(a.name, m.name, uidValidity, uid))
	}
	l := &remote.Listing{UIDValidity: uidValidity, Messages: out}
	m.snap.Store(&snapshot{state: ns, listing: l})
	change = diffListings(m.name, s.listing, l)
	m.dropOwn(now, &change)
	if len(added) > 0 || len(ch.del) > 0 || len(ch.put) > 0 {
		a.c.log.Debug("mailbox synced", "account", a.name, "mailbox", m.name,
			"new", len(added), "vanished", len(ch.del), "changed", len(ch.put)-len(added))
	}
	return l, nil
}

// relist replaces the mailbox's listing with a full one from the server,
// dropping the bodies of every other UIDVALIDITY and of vanished messages.
func (a *Account) relist(ctx context.Context, m *mailbox, st remote.MailboxStatus) (*remote.Listing, error) {
	var msgs []remote.MessageInfo
	if st.Messages > 0 {
		msgs = make([]remote.MessageInfo, 0, min(st.Messages, 1<<20))
	}
	prog := a.newProgress("listing mailbox", m.name, int(st.Messages))
	err := a.store.Messages(ctx, m.name, st.UIDValidity, 1, func(mi remote.MessageInfo) error {
		msgs = append(msgs, a.c.intern.message(mi))
		prog.add(1, 0)
		return nil
	})
	prog.finish()
	if err != nil {
		return nil, err
	}
	return a.replaceListing(m, st, msgs)
}

// replaceListing publishes msgs, the whole listing of m with status st,
// in place of the one it had.
func (a *Account) replaceListing(m *mailbox, st remote.MailboxStatus, msgs []remote.MessageInfo) (*remote.Listing, error) {
	slices.SortFunc(msgs, func(x, y remote.MessageInfo) int { return cmpUID(x.UID, y.UID) })
	msgs = slices.CompactFunc(msgs, func(x, y remote.MessageInfo) bool { return x.UID == y.UID })

	var change remote.Change
	var gone []string               // body files to delete
	defer a.publish(&change, &gone) // after the unlock
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publishFixesLocked()
	old := m.snap.Load()
	if old.listing != nil && old.state.UIDValidity != st.UIDValidity {
		a.c.log.Warn("UIDVALIDITY changed; dropping the mailbox's cache", "account", a.name, "mailbox", m.name,
			"old", old.state.UIDValidity, "new", st.UIDValidity)
	}
	if old.listing != nil && old.listing.UIDValidity == st.UIDValidity {
		// Keep sizes corrected after a fetch.
		for i := range msgs {
			if o, ok := old.listing.Find(msgs[i].UID); ok {
				msgs[i].Size = o.Size
			}
		}
	}
	now := a.c.now()
	ns := mboxState{MailboxStatus: st, Checked: now}
	if err := a.c.writeFolder(a.name, m.name, folderChange{reset: true, state: &ns, put: msgs}); err != nil {
		return nil, err
	}
	m.savedCheck = now
	l := &remote.Listing{UIDValidity: st.UIDValidity, Messages: msgs}
	m.snap.Store(&snapshot{state: ns, listing: l})
	change = diffListings(m.name, old.listing, l)
	m.dropOwn(now, &change)

	// Bodies of other UIDVALIDITYs are void; bodies of this one whose
	// message is gone are garbage.
	dir := a.c.mailboxDir(a.name, m.name)
	keep := strconv.FormatUint(uint64(st.UIDValidity), 10)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != keep {
			gone = append(gone, dir+string(os.PathSeparator)+e.Name())
		}
	}
	if old.listing != nil && old.listing.UIDValidity == st.UIDValidity {
		for _, mi := range old.listing.Messages {
			if _, ok := l.Find(mi.UID); !ok {
				gone = append(gone, a.c.bodyPath(a.name, m.name, st.UIDValidity, mi.UID))
			}
		}
	}
	return l, nil
}
