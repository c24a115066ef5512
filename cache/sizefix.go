package cache

import (
	"slices"

	bolt "go.etcd.io/bbolt"

	"mailfs/remote"
)

// Some servers report an RFC822.SIZE that differs from the bytes FETCH
// delivers. The fetched size wins: it is stored at once and published in
// the in-memory listing at the next read of it, so that reading many such
// messages copies the listing once, not once per message.

// sizeFix is a pending correction of one message's size.
type sizeFix struct {
	uidValidity uint32
	uid         uint32
}

// fixSize records that message uid's body has size bytes.
func (a *Account) fixSize(m *mailbox, uidValidity, uid uint32, size int64) {
	m.mu.Lock()
	m.publishFixesLocked()
	l := m.snap.Load().listing
	mi, ok := l.Find(uid)
	if !ok || l.UIDValidity != uidValidity || mi.Size == size {
		m.mu.Unlock()
		return
	}
	if m.fixes == nil {
		m.fixes = map[sizeFix]int64{}
	}
	// In memory first, so that a sync storing this message meanwhile
	// stores the corrected size.
	m.fixes[sizeFix{uidValidity, uid}] = size
	m.hasFixes.Store(true)
	m.mu.Unlock()

	a.c.log.Info("message size differs from RFC822.SIZE; corrected", "account", a.name, "mailbox", m.name,
		"uid", uid, "listed", mi.Size, "fetched", size)
	mi.Size = size
	err := a.c.db.Batch(func(tx *bolt.Tx) error {
		b, err := folderBucket(tx, a.name, m.name, false)
		if b == nil || err != nil {
			return err
		}
		st, err := decodeState(b.Get(keyState))
		if err != nil || st.UIDValidity != uidValidity {
			return err
		}
		mb := b.Bucket(bucketMsgs)
		if mb == nil || mb.Get(uidKey(uid)) == nil {
			return nil
		}
		return mb.Put(uidKey(uid), encodeMessage(mi))
	})
	if err != nil {
		a.c.log.Warn("cannot store corrected message size", "account", a.name, "mailbox", m.name, "uid", uid, "err", err)
	}
}

// publishFixes publishes pending size corrections.
func (m *mailbox) publishFixes() {
	if !m.hasFixes.Load() {
		return
	}
	m.mu.Lock()
	m.publishFixesLocked()
	m.mu.Unlock()
}

// publishFixesLocked publishes pending size corrections; m.mu is held.
func (m *mailbox) publishFixesLocked() {
	if len(m.fixes) == 0 {
		return
	}
	s := m.snap.Load()
	if l := s.listing; l != nil {
		msgs := slices.Clone(l.Messages)
		for k, size := range m.fixes {
			if k.uidValidity != l.UIDValidity {
				continue
			}
			if i, ok := slices.BinarySearchFunc(msgs, k.uid, func(mi remoteMessage, uid uint32) int { return cmpUID(mi.UID, uid) }); ok {
				msgs[i].Size = size
			}
		}
		m.snap.Store(&snapshot{state: s.state, listing: &remote.Listing{UIDValidity: l.UIDValidity, Messages: msgs}})
	}
	clear(m.fixes)
	m.hasFixes.Store(false)
}
