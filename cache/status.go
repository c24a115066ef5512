package cache

import (
	"io/fs"
	"path/filepath"
	"time"
)

// AccountStatus is how an account's server has been answering, for mailfs
// status.
type AccountStatus struct {
	// Offline is set while the server is unreachable (a contact failed
	// and none succeeded since): the cache serves what it has.
	Offline bool
	// OfflineSince is when the current outage began (zero when online).
	OfflineSince time.Time
	// LastError is the failure that made the account offline ("" when
	// online).
	LastError string
	// LastContact is the last successful contact with the server since
	// mailfs started (zero when none).
	LastContact time.Time
	// LastSync is the last time the server confirmed a mailbox's listing
	// (from the cache, so it may predate this run; zero when none is
	// known).
	LastSync time.Time
}

// Status returns how the account's server has been answering.
func (a *Account) Status() AccountStatus {
	h := &a.health
	h.mu.Lock()
	st := AccountStatus{Offline: h.offline, OfflineSince: h.downSince, LastContact: h.lastOK}
	if h.offline && h.lastErr != nil {
		st.LastError = h.lastErr.Error()
	}
	h.mu.Unlock()
	a.mu.Lock()
	boxes := make([]*mailbox, 0, len(a.boxes))
	for _, m := range a.boxes {
		boxes = append(boxes, m)
	}
	a.mu.Unlock()
	for _, m := range boxes {
		if s := m.snap.Load(); s != nil && s.state.Checked.After(st.LastSync) {
			st.LastSync = s.state.Checked
		}
	}
	return st
}

// Size returns the bytes of message bodies and parts the cache keeps on
// disk (every account together) and the limit, Options.MaxSize (0: unlimited). Without
// a limit the bodies are counted on disk, which takes a walk of the cache.
func (c *Cache) Size() (used, max int64) {
	if c.bodies != nil {
		c.bodies.mu.Lock()
		defer c.bodies.mu.Unlock()
		return c.bodies.total, c.bodies.max
	}
	filepath.WalkDir(filepath.Join(c.dir, bodiesDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isCachedFile(d.Name()) {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			used += fi.Size()
		}
		return nil
	})
	return used, 0
}

// Cache returns the cache the account belongs to.
func (a *Account) Cache() *Cache { return a.c }
