package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"mailfs/remote"
)

// Account is the cache of one account: it decorates the account's
// remote.Store and implements fs.Source. It is safe for concurrent use.
type Account struct {
	c     *Cache
	name  string
	store remote.Store

	syncs flightGroup[string, *remote.Listing]    // by mailbox name
	lists flightGroup[struct{}, []remote.Mailbox] // the mailbox list

	fetchMu sync.Mutex               // guards pending
	pending map[bodyKey]*pendingBody // bodies being fetched (fetch.go)

	health health
	opts   AccountOptions // MaxDeletes set
	guard  deleteGuard

	subsMu sync.Mutex            // guards subs
	subs   []func(remote.Change) // Subscribe's functions

	// listMu serializes asking the server for the mailbox list with the
	// changes to it (folders.go), so that a list asked for before a
	// change is not published after it.
	listMu sync.Mutex

	mu    sync.Mutex          // guards boxes and mlist
	boxes map[string]*mailbox // by name; entries are never removed
	mlist *mailboxList        // the mailbox list; nil until loaded
	// mlistLoaded says mlist was read from the database (nil: none stored).
	mlistLoaded bool
}

// bodyKey names one message body.
type bodyKey struct {
	mailbox     string
	uidValidity uint32
	uid         uint32
}

// mailbox is the cache of one mailbox.
type mailbox struct {
	name string

	// snap is the published state and listing: readers load it without
	// locks, writers replace it holding mu.
	snap atomic.Pointer[snapshot]

	// mu serializes loading and every change to snap and to the mailbox's
	// records and body files.
	mu     sync.Mutex
	loaded bool // snap was loaded from the database; guarded by mu
	// savedCheck is the last-check time stored in the database; guarded
	// by mu. An unchanged mailbox rewrites it only now and then.
	savedCheck time.Time
	// own are the messages this Account put here without learning their
	// UIDs (edit.go's expectOwn); guarded by mu.
	own []ownMark
	// fixes are size corrections not yet in snap; guarded by mu.
	fixes map[sizeFix]int64
	// hasFixes is set while fixes is not empty.
	hasFixes atomic.Bool
	// stale forces the next List to contact the server and read flags.
	stale atomic.Bool
	// syncing holds a token while a sync runs: syncs of one mailbox never
	// overlap, even when an abandoned one (every waiter gone) still runs
	// as the next starts, so an older view is never published over a
	// newer one.
	syncing chan struct{}
	// ra is the mailbox's read-ahead state (readahead.go).
	ra *readAhead

	progMu sync.Mutex // guards prog
	prog   *progress  // of the bodies being fetched (progress.go)
}

// remoteMessage is short for the listing's element type.
type remoteMessage = remote.MessageInfo

// snapshot is a mailbox's published state. A nil listing means the mailbox
// was never listed.
type snapshot struct {
	state   mboxState
	listing *remote.Listing
}

func newAccount(c *Cache, name string, store remote.Store, opts *AccountOptions) *Account {
	a := &Account{c: c, name: name, store: store, boxes: map[string]*mailbox{}}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.MaxDeletes <= 0 {
		a.opts.MaxDeletes = DefaultMaxDeletes
	}
	a.guard.max = a.opts.MaxDeletes
	a.syncs.c, a.lists.c = c, c
	return a
}

// Name returns the account's name.
func (a *Account) Name() string { return a.name }

// entry returns the mailbox's cache, which may not be loaded yet.
func (a *Account) entry(name string) *mailbox {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.boxes[name]
	if !ok {
		m = &mailbox{name: name, syncing: make(chan struct{}, 1), ra: newReadAhead()}
		a.boxes[name] = m
	}
	return m
}

// box returns the mailbox's cache, loaded from the database.
func (a *Account) box(name string) (*mailbox, error) {
	m := a.entry(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded {
		return m, nil
	}
	st, l, ok, err := a.c.loadFolder(a.name, name)
	if err != nil {
		return nil, err
	}
	if ok {
		m.snap.Store(&snapshot{state: st, listing: l})
		m.savedCheck = st.Checked
	} else {
		m.snap.Store(&snapshot{})
	}
	m.loaded = true
	return m, nil
}

// Invalidate marks the mailbox's listing stale: the next List contacts the
// server and re-reads every flag, even if the counters look unchanged (as
// they do after a flag change on a server without CONDSTORE).
func (a *Account) Invalidate(mailbox string) {
	a.entry(mailbox).stale.Store(true)
}
