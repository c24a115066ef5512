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
// from disk from then on, across restarts, unless evicted. Concurrent Opens
// of the same message share one fetch. A message the server no longer has
// (or whose UIDVALIDITY is gone) gives an error wrapping remote.ErrNotFound;
// an uncached message while the server is unreachable (or within
// Options.RetryAfter of a failed contact, without trying again) gives one
// wrapping remote.ErrUnavailable, and a log line.
func (a *Account) Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error) {
	path := a.c.bodyPath(a.name, mailbox, uidValidity, uid)
	for attempt := 0; ; attempt++ {
		f, err := os.Open(path)
		if err == nil {
			a.c.touch(path)
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
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
		if down, cause := a.down(); down {
			a.c.log.Warn("message not cached and mail server unreachable", "account", a.name, "mailbox", mailbox, "uid", uid)
			return nil, fmt.Errorf("fetch %s/%s/%d: %w", a.name, mailbox, uid, cause)
		}
		key := bodyKey{mailbox: mailbox, uidValidity: uidValidity, uid: uid}
		_, err = a.fetches.do(ctx, key, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, a.fetch(ctx, m, uidValidity, uid, path)
		})
		if err != nil {
			return nil, err
		}
	}
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

// fetch downloads one body into path.
func (a *Account) fetch(ctx context.Context, m *mailbox, uidValidity, uid uint32, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("fetch %s/%s/%d: %w", a.name, m.name, uid, err)
	}
	var got bool
	var size int64
	err := a.store.Fetch(ctx, m.name, uidValidity, []uint32{uid}, func(u uint32, body io.Reader) error {
		if u != uid || got {
			return nil
		}
		n, err := a.c.writeBody(path, body)
		if err != nil {
			return err
		}
		got, size = true, n
		return nil
	})
	switch {
	case err == nil:
	case a.noteErr(m.name, err):
		a.c.log.Warn("message not cached and mail server unreachable", "account", a.name, "mailbox", m.name, "uid", uid, "err", err)
		return fmt.Errorf("fetch %s/%s/%d: %w", a.name, m.name, uid, err)
	case errors.Is(err, remote.ErrUIDValidity):
		m.stale.Store(true)
		return fmt.Errorf("fetch %s/%s/%d: %w: %w", a.name, m.name, uid, remote.ErrNotFound, err)
	default:
		return fmt.Errorf("fetch %s/%s/%d: %w", a.name, m.name, uid, err)
	}
	a.noteOK()
	if !got {
		// The listing is out of date: have the next List find out.
		m.stale.Store(true)
		return fmt.Errorf("fetch %s/%s/%d: %w", a.name, m.name, uid, remote.ErrNotFound)
	}
	a.fixSize(m, uidValidity, uid, size)
	return nil
}

// writeBody writes body to a temporary file beside path, syncs it and
// renames it to path. It returns the body's size.
func (c *Cache) writeBody(path string, body io.Reader) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), tempPrefix+"*")
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(tmp, body)
	if err == nil {
		err = tmp.Sync()
	}
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
