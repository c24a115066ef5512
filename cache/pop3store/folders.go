package pop3store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"mailfs/remote"
)

// checkName fails with ErrInvalid unless name is a usable mailbox name:
// valid UTF-8, levels separated by Delim, no empty level, no "." or ".."
// level, no control character.
func checkName(name string) error {
	if name == "" || !utf8.ValidString(name) {
		return fmt.Errorf("mailbox name %q: %w", name, ErrInvalid)
	}
	for _, level := range strings.Split(name, string(Delim)) {
		if level == "" || level == "." || level == ".." {
			return fmt.Errorf("mailbox name %q: %w", name, ErrInvalid)
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("mailbox name %q: %w", name, ErrInvalid)
		}
	}
	return nil
}

// isInbox reports whether name is INBOX, which IMAP spells in any case.
func isInbox(name string) bool { return strings.EqualFold(name, Inbox) }

// parent returns the name of the mailbox's parent, "" at the top.
func parent(name string) string {
	if i := strings.LastIndexByte(name, byte(Delim)); i >= 0 {
		return name[:i]
	}
	return ""
}

// hasChildrenLocked reports whether a mailbox lies under name; the caller
// holds mu.
func (s *Store) hasChildrenLocked(name string) bool {
	prefix := name + string(Delim)
	for n := range s.folders {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// CreateMailbox creates the local mailbox name. Its parent must exist
// (error wrapping remote.ErrNotFound otherwise); an existing name gives an
// error wrapping ErrExists, a malformed one ErrInvalid.
func (s *Store) CreateMailbox(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("create mailbox: %w", err)
	}
	if isInbox(name) && name != Inbox {
		return fmt.Errorf("create mailbox %s/%s: %w", s.account, name, ErrExists)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if _, ok := s.folders[name]; ok {
		return fmt.Errorf("create mailbox %s/%s: %w", s.account, name, ErrExists)
	}
	if p := parent(name); p != "" {
		if _, ok := s.folders[p]; !ok {
			return fmt.Errorf("create mailbox %s/%s: parent %s: %w", s.account, name, p, remote.ErrNotFound)
		}
	}
	var info folderInfo
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		info, err = createFolder(tx, name, s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("create mailbox %s/%s: %w", s.account, name, err)
	}
	f := &folder{name: name, info: info, msgs: map[uint32]*record{}}
	f.publish()
	s.folders[name] = f
	return nil
}

// DeleteMailbox deletes the local mailbox name, which must hold no message
// and no child mailbox (error wrapping ErrNotEmpty otherwise). INBOX
// cannot be deleted (remote.ErrRefused).
func (s *Store) DeleteMailbox(ctx context.Context, name string) error {
	if isInbox(name) {
		return fmt.Errorf("delete mailbox %s/%s: INBOX cannot be deleted: %w", s.account, name, remote.ErrRefused)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.folderLocked(name)
	if err != nil {
		return fmt.Errorf("delete %w", err)
	}
	if len(f.msgs) > 0 || s.hasChildrenLocked(name) {
		return fmt.Errorf("delete mailbox %s/%s: %w", s.account, name, ErrNotEmpty)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).DeleteBucket([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("delete mailbox %s/%s: %w", s.account, name, err)
	}
	delete(s.folders, name)
	return nil
}

// RenameMailbox renames the local mailbox oldName, and every mailbox under
// it, to newName. Messages keep their numbers and the mailboxes their
// UIDVALIDITY. INBOX cannot be renamed (remote.ErrRefused); newName must
// not exist (ErrExists), must not lie under oldName (ErrInvalid) and its
// parent must exist (remote.ErrNotFound).
func (s *Store) RenameMailbox(ctx context.Context, oldName, newName string) error {
	if isInbox(oldName) {
		return fmt.Errorf("rename mailbox %s/%s: INBOX cannot be renamed: %w", s.account, oldName, remote.ErrRefused)
	}
	if err := checkName(newName); err != nil {
		return fmt.Errorf("rename mailbox: %w", err)
	}
	if isInbox(newName) {
		return fmt.Errorf("rename mailbox %s/%s to %s: %w", s.account, oldName, newName, ErrExists)
	}
	if oldName == newName {
		return nil
	}
	if strings.HasPrefix(newName, oldName+string(Delim)) {
		return fmt.Errorf("rename mailbox %s/%s into itself (%s): %w", s.account, oldName, newName, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.folderLocked(oldName); err != nil {
		return fmt.Errorf("rename %w", err)
	}
	if _, ok := s.folders[newName]; ok {
		return fmt.Errorf("rename mailbox %s/%s to %s: %w", s.account, oldName, newName, ErrExists)
	}
	if p := parent(newName); p != "" {
		if _, ok := s.folders[p]; !ok {
			return fmt.Errorf("rename mailbox %s/%s to %s: parent %s: %w", s.account, oldName, newName, p, remote.ErrNotFound)
		}
	}
	renames := map[string]string{oldName: newName}
	prefix := oldName + string(Delim)
	for n := range s.folders {
		if strings.HasPrefix(n, prefix) {
			renames[n] = newName + n[len(oldName):]
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for from, to := range renames {
			if err := moveBucket(tx.Bucket(bucketFolders), from, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rename mailbox %s/%s to %s: %w", s.account, oldName, newName, err)
	}
	for from, to := range renames {
		f := s.folders[from]
		delete(s.folders, from)
		f.name = to
		s.folders[to] = f
	}
	return nil
}

// moveBucket copies the mailbox bucket from to a new bucket to and deletes
// from (bbolt has no rename).
func moveBucket(parent *bolt.Bucket, from, to string) error {
	src := parent.Bucket([]byte(from))
	dst, err := parent.CreateBucket([]byte(to))
	if err != nil {
		return err
	}
	var info folderInfo
	if err := json.Unmarshal(src.Get(keyInfo), &info); err != nil {
		return err
	}
	if err := putJSON(dst, keyInfo, info); err != nil {
		return err
	}
	msgs, err := dst.CreateBucket(bucketMsgs)
	if err != nil {
		return err
	}
	if err := src.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
		// Copies: the source's pages are freed in this transaction.
		return msgs.Put(bytes.Clone(k), bytes.Clone(v))
	}); err != nil {
		return err
	}
	return parent.DeleteBucket([]byte(from))
}
