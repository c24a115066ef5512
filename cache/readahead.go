package cache

import (
	"sync"
	"time"
)

// Read-ahead: a reader going through a mailbox in listing order (the order
// readdir returns, as grep -r and find do) gets the bodies it will read
// next fetched before it asks, in batches of many UIDs per UID FETCH, so a
// cold folder costs a few round trips rather than one per message. The
// policy is the kernel's page read-ahead applied to messages:
//
//   - A miss (a body neither cached nor being fetched) fetches it together
//     with the next bodies of the listing: raInitial of them after a miss
//     out of sequence, so a lone cat fetches little, four times that at
//     the first message of a folder (where scans start), a larger window
//     after one in sequence (see grown).
//   - A reader in sequence that comes within two windows of the end of
//     what was requested (the frontier) starts the next, larger batch
//     while it still reads the current one: from the second message of a
//     folder on, two or three batches are on the wire, and the reader
//     rarely waits.
//   - A window holds at most raMax messages and raMaxBytes of listed size
//     (and at most an eighth of the cache's size limit); the body asked for
//     is always fetched. At most raInFlight speculative batches run per
//     mailbox; folders read in parallel each have their own, and the
//     connection pool (max_connections) bounds them all.
//   - A reader that scanned a mailbox in sequence up to where all of it is
//     requested will go on to the next mailbox (grep -r and find walk the
//     folders in the order the mailbox list gives them): the next one's
//     listing is synced and its first window fetched in the background
//     (scanAhead), so the reader does not wait for them when it gets there.
const (
	raInitial  = 8
	raMax      = 256
	raMaxBytes = 32 << 20
	raInFlight = 2
)

// readAhead is the read-ahead state of one mailbox.
type readAhead struct {
	mu       sync.Mutex // guards the fields below
	last     int        // listing position of the last open; -1 before the first
	frontier int        // first listing position not yet requested
	window   int        // size of the last batch, in messages; 0 before the first
	inFlight int        // speculative batches running
	// ended is set once a reader in sequence has had the whole listing
	// requested: the scan goes on in the next mailbox (scanAhead).
	ended bool
	inSeq bool // the last open followed the one before it
}

func newReadAhead() *readAhead { return &readAhead{last: -1} }

// span is a range [from, to) of listing positions to fetch.
type span struct{ from, to int }

// onMiss records an open at listing position p whose body is neither cached
// nor being fetched, and returns what to fetch: p and the bodies after it.
// n is the number of messages in the listing.
func (r *readAhead) onMiss(p, n int) span {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inSeq = r.window > 0 && p == r.last+1
	switch {
	case r.inSeq:
		r.window = r.grown()
	case p == 0:
		// The first message of a folder: most likely the start of a
		// scan (grep -r, find -exec), so skip the smallest step.
		r.window = 4 * raInitial
	default:
		r.window = raInitial
	}
	r.last = p
	r.frontier = min(p+r.window, n)
	return span{p, r.frontier}
}

// onHit records an open at listing position p whose body is cached or
// being fetched, and returns the next batch to start in the background, if
// the reader is in sequence and near the frontier. The caller calls done
// when a returned batch ends.
func (r *readAhead) onHit(p, n int) (span, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p == r.last {
		return span{}, false // the same message again
	}
	seq := r.window > 0 && p == r.last+1
	r.last, r.inSeq = p, seq
	if !seq || r.frontier >= n || r.frontier-p > 2*r.window || r.inFlight >= raInFlight {
		return span{}, false
	}
	r.window = r.grown()
	s := span{r.frontier, min(r.frontier+r.window, n)}
	r.frontier = s.to
	r.inFlight++
	return s, true
}

// grown returns the window after the current one: four times as large
// while it is small, so that a reader starting a folder reaches full
// batches after a few round trips, then twice as large, up to raMax (the
// kernel's page read-ahead ramps up the same way).
func (r *readAhead) grown() int {
	if r.window < raMax/8 {
		return 4 * r.window
	}
	return min(2*r.window, raMax)
}

// scanEnded reports, once, that a reader going through the listing in
// sequence (p follows the previous open) has had all of it requested: it
// is scanning the mailbox and will go on to the next one. n is the number
// of messages in the listing.
func (r *readAhead) scanEnded(p, n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended || !r.inSeq || p != r.last || r.frontier < n {
		return false
	}
	r.ended = true
	return true
}

// done records the end of a batch that onHit started.
func (r *readAhead) done() {
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
}

// scanAhead prepares the mailbox listed after name in the account's mailbox
// list for a reader that has scanned name in order: in the background, its
// listing is synced if it has none (a known one is taken as it is) and its
// first bodies are fetched, as a miss at its first message would.
func (a *Account) scanAhead(name string) {
	next := a.nextMailbox(name)
	if next == "" {
		return
	}
	if down, _ := a.down(); down {
		return
	}
	a.fetchMu.Lock()
	if a.c.ctx.Err() != nil {
		a.fetchMu.Unlock()
		return
	}
	a.c.wg.Add(1)
	a.fetchMu.Unlock()
	go func() {
		defer a.c.wg.Done()
		l, err := a.List(a.c.ctx, next, time.Hour)
		if err != nil || len(l.Messages) == 0 {
			return
		}
		m, err := a.box(next)
		if err != nil {
			return
		}
		uids := a.batchUIDs(next, 0, l, m.ra.onMiss(0, len(l.Messages)))
		a.c.log.Debug("reading ahead into the next mailbox", "account", a.name, "after", name, "mailbox", next, "messages", len(uids))
		a.startFetch(m, l.UIDValidity, uids, 0, nil)
	}()
}

// nextMailbox returns the first selectable mailbox after name in the
// account's mailbox list, "" when there is none or no list is known.
func (a *Account) nextMailbox(name string) string {
	ml, err := a.knownMailboxes()
	if err != nil || ml == nil {
		return ""
	}
	after := false
	for _, mb := range ml.Mailboxes {
		switch {
		case mb.Name == name:
			after = true
		case after && mb.Selectable():
			return mb.Name
		}
	}
	return ""
}
