package cache

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"mailfs/remote"
)

// WatchOptions configures Account.Run. The zero value (or nil) watches
// INBOX and polls every DefaultPollInterval.
type WatchOptions struct {
	// IdleFolders are watched with the store's remote.Watcher (IMAP
	// IDLE): a change is synced within moments. A folder the server
	// cannot watch is polled. nil means INBOX; an empty list watches none.
	IdleFolders []string
	// PollInterval is how often the mailbox list and every listed mailbox
	// not watched are checked (one STATUS each when nothing changed).
	// 0 means DefaultPollInterval.
	PollInterval time.Duration
}

// DefaultPollInterval is WatchOptions.PollInterval when left zero.
const DefaultPollInterval = time.Minute

// watchDebounce is how long a watched mailbox's sync waits after the
// server's first word of a change, so that a burst (a delivery of many
// messages, an expunge of many) costs one sync.
const watchDebounce = 100 * time.Millisecond

// Subscribe adds fn to the functions told of every change a sync finds on
// the server (remote.Change): new, vanished and re-flagged messages,
// whoever made them, except those this Account made itself (Remove, Move,
// Append, SetFlags), which it applies without a sync. The first listing
// of a mailbox is no change. fn is called after the listing is
// published, never with a lock held, and must not block; until it
// returns, the bodies of the messages it removes can still be opened
// (Open), so that a subscriber can keep them for its readers.
func (a *Account) Subscribe(fn func(remote.Change)) {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	a.subs = append(a.subs, fn)
}

// publish tells the subscribers of ch unless it is empty, then deletes
// the body files gone (of the messages ch removes): a subscriber may still
// open the body of a removed message while it runs (the filesystem does,
// for descriptors opened before that have not read yet).
func (a *Account) publish(ch *remote.Change, gone *[]string) {
	if !ch.Empty() {
		a.subsMu.Lock()
		subs := slices.Clone(a.subs)
		a.subsMu.Unlock()
		for _, fn := range subs {
			fn(*ch)
		}
	}
	for _, p := range *gone {
		a.c.removeBodies(p)
	}
}

// diffListings returns what changed from old to cur, listings of mailbox;
// nothing when old is nil (a first listing).
func diffListings(mailbox string, old, cur *remote.Listing) remote.Change {
	ch := remote.Change{Mailbox: mailbox, UIDValidity: cur.UIDValidity}
	if old == nil {
		return ch
	}
	if old.UIDValidity != cur.UIDValidity {
		ch.Reset = true
		ch.Removed = slices.Clone(old.Messages)
		ch.Added = slices.Clone(cur.Messages)
		return ch
	}
	o, c := old.Messages, cur.Messages
	for i, j := 0, 0; i < len(o) || j < len(c); {
		switch {
		case j == len(c) || (i < len(o) && o[i].UID < c[j].UID):
			ch.Removed = append(ch.Removed, o[i])
			i++
		case i == len(o) || c[j].UID < o[i].UID:
			ch.Added = append(ch.Added, c[j])
			j++
		default:
			if !slices.Equal(o[i].Flags, c[j].Flags) {
				ch.Flagged = append(ch.Flagged, c[j])
			}
			i, j = i+1, j+1
		}
	}
	return ch
}

// Run keeps the account current until ctx is done: it watches the
// IdleFolders with the store's remote.Watcher (IMAP IDLE, each on a
// connection of its own) and syncs a folder as soon as the server reports
// a change in it, and every PollInterval it refreshes the mailbox list and
// syncs every other mailbox that has a listing. Subscribers hear of what
// changed. Run returns when ctx is done and everything it started has
// stopped.
func (a *Account) Run(ctx context.Context, opts *WatchOptions) {
	o := WatchOptions{IdleFolders: []string{"INBOX"}, PollInterval: DefaultPollInterval}
	if opts != nil {
		if opts.IdleFolders != nil {
			o.IdleFolders = opts.IdleFolders
		}
		if opts.PollInterval > 0 {
			o.PollInterval = opts.PollInterval
		}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	var watching sync.Map // mailbox name -> true while a watcher covers it
	if w, ok := a.store.(remote.Watcher); ok {
		for _, mb := range o.IdleFolders {
			watching.Store(mb, true)
			wg.Go(func() {
				if !a.watch(ctx, w, mb) {
					watching.Delete(mb)
				}
			})
		}
	}
	t := time.NewTicker(o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.poll(ctx, func(mb string) bool { _, ok := watching.Load(mb); return ok })
	}
}

// watch watches mailbox with w until ctx is done, syncing it after each
// change the server reports; it reports false at once when w cannot watch
// it (the caller then polls it).
func (a *Account) watch(ctx context.Context, w remote.Watcher, mailbox string) bool {
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	syncCtx, stopSyncs := context.WithCancel(ctx)
	go func() {
		ctx := syncCtx
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(watchDebounce):
			}
			a.syncNow(ctx, mailbox)
		}
	}()
	err := w.Watch(ctx, mailbox, func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	stopSyncs()
	<-done
	if errors.Is(err, remote.ErrUnsupported) || (err != nil && ctx.Err() == nil) {
		a.c.log.Info("mailbox not watched; polling it", "account", a.name, "mailbox", mailbox, "reason", err)
		return false
	}
	return true
}

// syncNow syncs mailbox with the server at once, reading every flag when
// the server cannot say which changed (no CONDSTORE).
func (a *Account) syncNow(ctx context.Context, mailbox string) {
	m, err := a.box(mailbox)
	if err != nil {
		return
	}
	if s := m.snap.Load(); s.state.HighestModSeq == 0 {
		m.stale.Store(true)
	}
	if _, err := a.List(ctx, mailbox, 0); err != nil && ctx.Err() == nil {
		a.c.log.Debug("background sync failed", "account", a.name, "mailbox", mailbox, "err", err)
	}
}

// poll refreshes the mailbox list and syncs every mailbox with a listing
// that watched does not cover.
func (a *Account) poll(ctx context.Context, watched func(string) bool) {
	if _, err := a.Mailboxes(ctx, 0); err != nil {
		a.c.log.Debug("background mailbox list failed", "account", a.name, "err", err)
		return
	}
	names, err := a.c.storedFolders(a.name)
	if err != nil {
		return
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		if watched(name) {
			continue
		}
		if _, err := a.List(ctx, name, 0); err != nil && ctx.Err() == nil {
			a.c.log.Debug("background sync failed", "account", a.name, "mailbox", name, "err", err)
		}
	}
}
