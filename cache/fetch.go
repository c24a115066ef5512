package cache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"mailfs/remote"
)

// Bodies are fetched in batches: one UID FETCH for many UIDs, run in the
// background under the cache's context, each body streamed into its cache
// file as its bytes arrive and published (its pendingBody resolved) as soon
// as it is complete, so the first message of a batch is readable before the
// batch ends. A batch is never cancelled by the Opens waiting for it: work
// that nobody waits for any more still fills the cache, and the client's
// watchdog bounds it. If the connection breaks after some bodies, the
// complete ones stay cached and the rest are asked for again; a body cut
// short is never committed.

// startFetch registers the bodies uids of mailbox m that are neither cached
// nor already being fetched, and fetches them in the background. When
// demand is not 0 it returns demand's pending fetch (joined if another
// batch has it), with the caller counted as its waiter. done, when not nil,
// is called when the batch ends (at once if there is nothing to fetch).
func (a *Account) startFetch(m *mailbox, uidValidity uint32, uids []uint32, demand uint32, done func()) (*pendingBody, error) {
	var demanded *pendingBody
	batch := make(map[uint32]*pendingBody, len(uids))
	a.fetchMu.Lock()
	if err := a.c.ctx.Err(); err != nil {
		a.fetchMu.Unlock()
		return nil, errClosed
	}
	if a.pending == nil {
		a.pending = map[bodyKey]*pendingBody{}
	}
	for _, uid := range uids {
		key := bodyKey{mailbox: m.name, uidValidity: uidValidity, uid: uid}
		p := a.pending[key]
		if p == nil {
			// Checked under fetchMu: a batch commits a body before it
			// resolves its pending fetch, so a body that is not pending
			// now is either in the cache or must be fetched.
			if _, err := os.Stat(a.c.bodyPath(a.name, m.name, uidValidity, uid)); err == nil {
				if uid == demand {
					p = &pendingBody{done: make(chan struct{})}
					close(p.done)
				}
			} else {
				p = &pendingBody{done: make(chan struct{})}
				a.pending[key] = p
				batch[uid] = p
			}
		}
		if uid == demand {
			p.waiters++
			demanded = p
		}
	}
	if len(batch) > 0 {
		a.c.wg.Add(1)
	}
	a.fetchMu.Unlock()

	if len(batch) == 0 {
		if done != nil {
			done()
		}
		return demanded, nil
	}
	go func() {
		defer a.c.wg.Done()
		if done != nil {
			defer done()
		}
		a.runBatch(m, uidValidity, batch)
	}()
	return demanded, nil
}

// runBatch fetches the bodies of batch (by UID) into the cache, resolving
// each pending fetch as its body is committed and the rest when the batch
// ends.
func (a *Account) runBatch(m *mailbox, uidValidity uint32, batch map[uint32]*pendingBody) {
	ctx := a.c.ctx
	start, asked := time.Now(), len(batch)
	prog := m.bodyProgress(a)
	err := os.MkdirAll(a.c.validityDir(a.name, m.name, uidValidity), 0o700)
	// Once, and again after a broken connection: as long as the tries
	// bring bodies, and at most maxEmptyTries times in a row when they
	// bring none (connections cut just before or while a batch starts; a
	// server that is down fails each of them at once).
	const maxEmptyTries = 3
	for empty := 0; err == nil; {
		uids := make([]uint32, 0, len(batch))
		for uid := range batch {
			uids = append(uids, uid)
		}
		slices.Sort(uids)
		got := 0
		err = a.store.Fetch(ctx, m.name, uidValidity, uids, func(uid uint32, body io.Reader) error {
			p, ok := batch[uid]
			if !ok {
				return nil // not asked for, or delivered twice
			}
			n, err := a.c.writeBody(a.c.bodyPath(a.name, m.name, uidValidity, uid), body)
			if err != nil {
				return err
			}
			delete(batch, uid)
			got++
			prog.add(1, n)
			a.fixSize(m, uidValidity, uid, n)
			a.resolve(bodyKey{mailbox: m.name, uidValidity: uidValidity, uid: uid}, p, nil)
			return nil
		})
		if got == 0 {
			empty++
		} else {
			empty = 0
		}
		if err == nil || !errors.Is(err, remote.ErrUnavailable) || ctx.Err() != nil || empty == maxEmptyTries {
			break
		}
		a.c.log.Debug("body fetch cut short; fetching the rest again", "account", a.name, "mailbox", m.name,
			"fetched", got, "left", len(batch), "err", err)
		err = nil
	}

	a.c.log.Debug("fetched bodies", "account", a.name, "mailbox", m.name, "asked", asked, "got", asked-len(batch),
		"took", time.Since(start).Round(time.Millisecond), "err", err)
	var rest error // what the bodies left in batch get
	switch {
	case err == nil:
		a.noteOK()
		if len(batch) > 0 {
			// The listing is out of date: have the next List find out.
			m.stale.Store(true)
			rest = remote.ErrNotFound
		}
	case a.noteErr(m.name, err):
		a.c.log.Warn("message not cached and mail server unreachable", "account", a.name, "mailbox", m.name,
			"messages", len(batch), "err", err)
		rest = err
	case errors.Is(err, remote.ErrUIDValidity):
		m.stale.Store(true)
		rest = fmt.Errorf("%w: %w", remote.ErrNotFound, err)
	default:
		rest = err
	}
	for uid, p := range batch {
		key := bodyKey{mailbox: m.name, uidValidity: uidValidity, uid: uid}
		a.resolve(key, p, fmt.Errorf("fetch %s/%s/%d: %w", a.name, m.name, uid, rest))
	}
}

// resolve ends the pending fetch p of key with err (nil: the body is in
// the cache).
func (a *Account) resolve(key bodyKey, p *pendingBody, err error) {
	a.fetchMu.Lock()
	if a.pending[key] == p {
		delete(a.pending, key)
	}
	a.fetchMu.Unlock()
	p.err = err
	close(p.done)
}
