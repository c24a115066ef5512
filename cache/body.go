package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"mailfs/remote"
)

// Open returns the body of message uid as a read-only file, fetching it
// into the cache first when it is not there. A body once fetched is served
// from disk from then on, across restarts, unless evicted. A miss fetches
// the bodies likely to be read next along with it, and a reader going
// through the mailbox in order has them fetched before it asks (see
// readahead.go); concurrent Opens of a body being fetched wait for that
// fetch. A message the server no longer has (or whose UIDVALIDITY is gone)
// gives an error wrapping remote.ErrNotFound; an uncached message while the
// server is unreachable (or within Options.RetryAfter of a failed contact,
// without trying again) gives one wrapping remote.ErrUnavailable, and a log
// line.
func (a *Account) Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error) {
	path := a.c.bodyPath(a.name, mailbox, uidValidity, uid)
	key := bodyKey{mailbox: mailbox, uidValidity: uidValidity, uid: uid}
	for attempt := 0; ; attempt++ {
		f, err := os.Open(path)
		if err == nil {
			if a.intact(key, f) {
				a.c.touch(path)
				a.readAheadOnHit(key)
				return f, nil
			}
			f.Close()
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("open %s/%s/%d: remove a damaged cached body: %w", a.name, mailbox, uid, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s/%s/%d: %w", a.name, mailbox, uid, err)
		}
		if attempt == 2 {
			// Evicted between fetch and open, twice: MaxSize is tiny.
			return nil, fmt.Errorf("open %s/%s/%d: body evicted as soon as fetched (cache size limit too small?)", a.name, mailbox, uid)
		}
		m, err := a.box(mailbox)
		if err != nil {
			return nil, err
		}
		if err := a.checkListed(m, uidValidity, uid); err != nil {
			return nil, err
		}
		p := a.joinPending(key)
		if p != nil {
			a.readAheadOnHit(key)
		} else {
			if down, cause := a.down(); down {
				a.c.log.Warn("message not cached and mail server unreachable", "account", a.name, "mailbox", mailbox, "uid", uid)
				return nil, fmt.Errorf("fetch %s/%s/%d: %w", a.name, mailbox, uid, cause)
			}
			if p, err = a.fetchOnMiss(m, key); err != nil {
				return nil, err
			}
		}
		if err := a.waitBody(ctx, p); err != nil {
			return nil, err
		}
	}
}

// intact reports whether the cached body f has the size the listing (with
// its corrections) gives. Bodies are not fsynced (see writeBody): one that
// a crash cut short has another size and is fetched again. Without a
// listing there is nothing to compare with, and f is taken as it is.
func (a *Account) intact(key bodyKey, f *os.File) bool {
	m := a.entry(key.mailbox)
	want, ok := a.listedSize(m, key.uidValidity, key.uid)
	if !ok {
		return true
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != want {
		a.c.log.Info("cached body has the wrong size; fetching it again", "account", a.name, "mailbox", key.mailbox,
			"uid", key.uid, "size", fi.Size(), "want", want)
		return false
	}
	return true
}

// listedSize returns the size of message uid in m's listing, corrections
// not yet published included.
func (a *Account) listedSize(m *mailbox, uidValidity, uid uint32) (int64, bool) {
	if m.hasFixes.Load() {
		m.mu.Lock()
		size, ok := m.fixes[sizeFix{uidValidity, uid}]
		m.mu.Unlock()
		if ok {
			return size, true
		}
	}
	snap := m.snap.Load()
	if snap == nil || snap.listing == nil || snap.listing.UIDValidity != uidValidity {
		return 0, false
	}
	mi, ok := snap.listing.Find(uid)
	return mi.Size, ok
}

// checkListed fails with ErrNotFound when the mailbox's listing says the
// message does not exist: no need to ask the server.
func (a *Account) checkListed(m *mailbox, uidValidity, uid uint32) error {
	l := m.snap.Load().listing
	if l == nil {
		return nil
	}
	if l.UIDValidity != uidValidity {
		return fmt.Errorf("open %s/%s/%d: UIDVALIDITY %d is gone: %w", a.name, m.name, uid, uidValidity, remote.ErrNotFound)
	}
	if _, ok := l.Find(uid); !ok {
		return fmt.Errorf("open %s/%s/%d: %w", a.name, m.name, uid, remote.ErrNotFound)
	}
	return nil
}

// pendingBody is a body that a batch is fetching. Its done channel is
// closed when the body is in the cache (err nil) or cannot be had (err).
type pendingBody struct {
	done    chan struct{}
	err     error // set before done is closed
	waiters int   // Opens waiting for it; guarded by Account.fetchMu
}

// joinPending returns the pending fetch of key, nil when there is none,
// counting the caller as a waiter.
func (a *Account) joinPending(key bodyKey) *pendingBody {
	a.fetchMu.Lock()
	defer a.fetchMu.Unlock()
	p := a.pending[key]
	if p != nil {
		p.waiters++
	}
	return p
}

// waitBody waits until the fetch p has ended and returns its error.
func (a *Account) waitBody(ctx context.Context, p *pendingBody) error {
	defer func() {
		a.fetchMu.Lock()
		p.waiters--
		a.fetchMu.Unlock()
	}()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchOnMiss starts the fetch of a body that is neither cached nor
// pending, with the read-ahead the listing allows, and returns the pending
// fetch of key with the caller counted as its waiter.
func (a *Account) fetchOnMiss(m *mailbox, key bodyKey) (*pendingBody, error) {
	uids := []uint32{key.uid}
	if l := m.snap.Load().listing; l != nil && l.UIDValidity == key.uidValidity {
		if p, ok := l.Index(key.uid); ok {
			uids = a.batchUIDs(m.name, key.uid, l, m.ra.onMiss(p, len(l.Messages)))
		}
	}
	p, err := a.startFetch(m, key.uidValidity, uids, key.uid, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%s/%d: %w", a.name, m.name, key.uid, err)
	}
	return p, nil
}

// readAheadOnHit tells the read-ahead of key's mailbox that key was opened
// without a miss, and starts the next batch when a reader in sequence
// nears the end of what was requested.
func (a *Account) readAheadOnHit(key bodyKey) {
	m := a.entry(key.mailbox)
	snap := m.snap.Load()
	if snap == nil || snap.listing == nil || snap.listing.UIDValidity != key.uidValidity {
		return
	}
	l := snap.listing
	p, ok := l.Index(key.uid)
	if !ok {
		return
	}
	s, ok := m.ra.onHit(p, len(l.Messages))
	if m.ra.scanEnded(p, len(l.Messages)) {
		a.scanAhead(m.name)
	}
	if !ok {
		return
	}
	if down, _ := a.down(); down {
		m.ra.done()
		return
	}
	uids := a.batchUIDs(m.name, 0, l, s)
	if _, err := a.startFetch(m, key.uidValidity, uids, 0, m.ra.done); err != nil {
		m.ra.done()
	}
}

// batchUIDs returns the UIDs of the listing positions s whose bodies are
// not cached, within the read-ahead's byte budget; demand (0 for none) is
// always included.
func (a *Account) batchUIDs(mailbox string, demand uint32, l *remote.Listing, s span) []uint32 {
	budget := int64(raMaxBytes)
	if a.c.bodies != nil {
		budget = min(budget, a.c.bodies.max/8)
	}
	var uids []uint32
	var bytes int64
	for _, mi := range l.Messages[s.from:s.to] {
		if mi.UID == demand {
			uids = append(uids, mi.UID)
			bytes += mi.Size
			continue
		}
		if bytes+mi.Size > budget {
			break
		}
		if _, err := os.Stat(a.c.bodyPath(a.name, mailbox, l.UIDValidity, mi.UID)); err == nil {
			continue
		}
		uids = append(uids, mi.UID)
		bytes += mi.Size
	}
	return uids
}

// writeBody writes body to a temporary file beside path and renames it to
// path, so that a body is either complete or absent. It returns the body's
// size. The file is not fsynced: this is a cache, whose bodies the server
// still has, and an fsync per message would bound a cold grep -r by the
// disk's flush rate. After a crash a body that did not reach the disk has
// the wrong size, which Open notices (intact) and fetches again.
func (c *Cache) writeBody(path string, body io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPrefix+"*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		now := c.now()
		if err = os.Chtimes(tmp.Name(), now, now); err == nil {
			if c.bodies != nil {
				err = c.bodies.commit(tmp.Name(), path, n, now)
			} else {
				err = os.Rename(tmp.Name(), path)
			}
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("write cached body: %w", err)
	}
	return n, nil
}

// touch records a read of the body at path for eviction.
func (c *Cache) touch(path string) {
	if c.bodies == nil {
		return
	}
	if now := c.now(); !c.bodies.touch(path, now) {
		c.bodies.addExisting(path, now)
	}
}
