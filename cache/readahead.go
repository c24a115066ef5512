package cache

import "sync"

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
	switch {
	case r.window > 0 && p == r.last+1:
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
	r.last = p
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

// done records the end of a batch that onHit started.
func (r *readAhead) done() {
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
}
