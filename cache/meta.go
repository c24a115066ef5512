package cache

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"mailfs/remote"
)

// Database layout:
//
//	accounts/                     bucket
//	  <account name>/             bucket
//	    mailboxes                 the account's mailbox list (encodeMailboxes)
//	    folders/                  bucket
//	      <mailbox name>/         bucket
//	        state                 counters and last check (encodeState)
//	        msgs/                 bucket: UID (4 bytes, big-endian) -> encodeMessage
var (
	bucketAccounts = []byte("accounts")
	bucketFolders  = []byte("folders")
	bucketMsgs     = []byte("msgs")
	keyMailboxes   = []byte("mailboxes")
	keyState       = []byte("state")
)

// accountBucket returns the account's bucket, nil when it does not exist
// (read-only transactions).
func accountBucket(tx *bolt.Tx, account string, create bool) (*bolt.Bucket, error) {
	root := tx.Bucket(bucketAccounts)
	if !create {
		return root.Bucket([]byte(account)), nil
	}
	return root.CreateBucketIfNotExists([]byte(account))
}

// folderBucket returns the mailbox's bucket, nil when it does not exist
// and create is false.
func folderBucket(tx *bolt.Tx, account, mailbox string, create bool) (*bolt.Bucket, error) {
	ab, err := accountBucket(tx, account, create)
	if ab == nil || err != nil {
		return nil, err
	}
	if !create {
		fb := ab.Bucket(bucketFolders)
		if fb == nil {
			return nil, nil
		}
		return fb.Bucket([]byte(mailbox)), nil
	}
	fb, err := ab.CreateBucketIfNotExists(bucketFolders)
	if err != nil {
		return nil, err
	}
	return fb.CreateBucketIfNotExists([]byte(mailbox))
}

// loadFolder reads a mailbox's state and listing; ok is false when nothing
// is stored.
func (c *Cache) loadFolder(account, mailbox string) (st mboxState, l *remote.Listing, ok bool, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		b, _ := folderBucket(tx, account, mailbox, false)
		if b == nil {
			return nil
		}
		v := b.Get(keyState)
		if v == nil {
			return nil
		}
		if st, err = decodeState(v); err != nil {
			return err
		}
		l = &remote.Listing{UIDValidity: st.UIDValidity}
		if mb := b.Bucket(bucketMsgs); mb != nil {
			l.Messages = make([]remote.MessageInfo, 0, min(st.Messages, 1<<20))
			err := mb.ForEach(func(k, v []byte) error {
				if len(k) != 4 {
					return errCorrupt
				}
				m, err := decodeMessage(c.intern, binary.BigEndian.Uint32(k), v)
				if err != nil {
					return err
				}
				l.Messages = append(l.Messages, m)
				return nil
			})
			if err != nil {
				return err
			}
		}
		ok = true
		return nil
	})
	if err != nil {
		return mboxState{}, nil, false, fmt.Errorf("load %s/%s from cache: %w", account, mailbox, err)
	}
	return st, l, ok, nil
}

// folderChange is one sync's or correction's change to a mailbox's records.
type folderChange struct {
	reset bool // drop every stored message first
	state *mboxState
	put   []remote.MessageInfo
	del   []uint32
}

// writeFolder applies ch in one transaction.
func (c *Cache) writeFolder(account, mailbox string, ch folderChange) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		b, err := folderBucket(tx, account, mailbox, true)
		if err != nil {
			return err
		}
		if ch.reset && b.Bucket(bucketMsgs) != nil {
			if err := b.DeleteBucket(bucketMsgs); err != nil {
				return err
			}
		}
		mb, err := b.CreateBucketIfNotExists(bucketMsgs)
		if err != nil {
			return err
		}
		if ch.reset {
			// Listings arrive in UID order: fill pages fully.
			mb.FillPercent = 1
		}
		for _, uid := range ch.del {
			if err := mb.Delete(uidKey(uid)); err != nil {
				return err
			}
		}
		for _, m := range ch.put {
			if err := mb.Put(uidKey(m.UID), encodeMessage(m)); err != nil {
				return err
			}
		}
		if ch.state != nil {
			return b.Put(keyState, encodeState(*ch.state))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %s/%s in cache: %w", account, mailbox, err)
	}
	return nil
}

// dropFolder deletes every record of a mailbox.
func (c *Cache) dropFolder(account, mailbox string) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		ab, _ := accountBucket(tx, account, false)
		if ab == nil {
			return nil
		}
		fb := ab.Bucket(bucketFolders)
		if fb == nil || fb.Bucket([]byte(mailbox)) == nil {
			return nil
		}
		return fb.DeleteBucket([]byte(mailbox))
	})
	if err != nil {
		return fmt.Errorf("drop %s/%s from cache: %w", account, mailbox, err)
	}
	return nil
}

// storedFolders returns the names of the mailboxes with stored records.
func (c *Cache) storedFolders(account string) ([]string, error) {
	var names []string
	err := c.db.View(func(tx *bolt.Tx) error {
		ab, _ := accountBucket(tx, account, false)
		if ab == nil {
			return nil
		}
		fb := ab.Bucket(bucketFolders)
		if fb == nil {
			return nil
		}
		return fb.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	return names, err
}

// loadMailboxes reads an account's mailbox list; nil when never stored.
func (c *Cache) loadMailboxes(account string) (*mailboxList, error) {
	var l *mailboxList
	err := c.db.View(func(tx *bolt.Tx) error {
		ab, _ := accountBucket(tx, account, false)
		if ab == nil {
			return nil
		}
		v := ab.Get(keyMailboxes)
		if v == nil {
			return nil
		}
		ml, err := decodeMailboxes(v)
		if err != nil {
			return err
		}
		l = &ml
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load mailboxes of %s from cache: %w", account, err)
	}
	return l, nil
}

// saveMailboxes stores an account's mailbox list.
func (c *Cache) saveMailboxes(account string, l mailboxList) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		ab, err := accountBucket(tx, account, true)
		if err != nil {
			return err
		}
		return ab.Put(keyMailboxes, encodeMailboxes(l))
	})
	if err != nil {
		return fmt.Errorf("store mailboxes of %s in cache: %w", account, err)
	}
	return nil
}
