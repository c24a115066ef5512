package pop3store

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"

	"mailfs/internal/ctxio"
	"mailfs/internal/header"
	"mailfs/remote"
)

// Remove deletes message uid from the mailbox: its record and file are
// gone from the store when Remove returns. A downloaded message keeps its
// key in the seen table (a tombstone: it is never downloaded again) and,
// when it may still be on the server, is marked for deletion there at the
// next session (DELE only if the server still lists it). The record goes
// first, the file after: a crash in between leaves a file recovery deletes.
func (s *Store) Remove(ctx context.Context, mailbox string, uid uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		return fmt.Errorf("remove %w", err)
	}
	rec, ok := f.msgs[uid]
	if !ok {
		return fmt.Errorf("remove %s/%s/%d: %w", s.account, mailbox, uid, remote.ErrNotFound)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := deleteMessage(tx, mailbox, uid); err != nil {
			return err
		}
		if rec.Key == "" {
			return nil
		}
		if err := putJSON(tx.Bucket(bucketSeen), []byte(rec.Key), seenEntry{UIDL: rec.UIDL, At: rec.Stored}); err != nil {
			return err
		}
		return tx.Bucket(bucketDele).Put([]byte(rec.Key), []byte(rec.UIDL))
	})
	if err != nil {
		return fmt.Errorf("remove %s/%s/%d: %w", s.account, mailbox, uid, err)
	}
	delete(f.msgs, uid)
	f.publish()
	if err := os.Remove(s.path(rec.File)); err != nil && !os.IsNotExist(err) {
		// Recorded as removed: recovery deletes the file at the next start.
		s.log.Warn("cannot delete removed message file", "mailbox", mailbox, "uid", uid, "err", err)
	}
	return nil
}

// Move moves message uid from mailbox from to mailbox to, where it gets
// the next number, which Move returns. The file stays where it is; flags
// and metadata go along. Moving within one mailbox changes nothing.
func (s *Store) Move(ctx context.Context, from string, uid uint32, to string) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, err := s.folderLocked(from)
	if err != nil {
		return 0, fmt.Errorf("move %w", err)
	}
	dst, err := s.folderLocked(to)
	if err != nil {
		return 0, fmt.Errorf("move %w", err)
	}
	rec, ok := src.msgs[uid]
	if !ok {
		return 0, fmt.Errorf("move %s/%s/%d: %w", s.account, from, uid, remote.ErrNotFound)
	}
	if src == dst {
		return uid, nil
	}
	info := dst.info
	n := info.Next
	info.Next++
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := deleteMessage(tx, from, uid); err != nil {
			return err
		}
		return putMessage(tx, to, info, n, rec)
	})
	if err != nil {
		return 0, fmt.Errorf("move %s/%s/%d to %s: %w", s.account, from, uid, to, err)
	}
	delete(src.msgs, uid)
	src.publish()
	dst.info = info
	dst.msgs[n] = rec
	dst.publish()
	return n, nil
}

// Flags returns the flags of message uid, sorted.
func (s *Store) Flags(mailbox string, uid uint32) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		return nil, fmt.Errorf("flags %w", err)
	}
	rec, ok := f.msgs[uid]
	if !ok {
		return nil, fmt.Errorf("flags %s/%s/%d: %w", s.account, mailbox, uid, remote.ErrNotFound)
	}
	return slices.Clone(rec.Flags), nil
}

// SetFlags replaces the flags of message uid with flags, checked and
// normalised as remote.NormalizeFlags does (an error wrapping
// remote.ErrInvalid for one that is not an IMAP flag). Flags are kept
// locally; the server never sees them.
func (s *Store) SetFlags(ctx context.Context, mailbox string, uid uint32, flags []string) error {
	clean, err := remote.NormalizeFlags(flags)
	if err != nil {
		return fmt.Errorf("set flags %s/%s/%d: %w", s.account, mailbox, uid, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		return fmt.Errorf("set flags %w", err)
	}
	rec, ok := f.msgs[uid]
	if !ok {
		return fmt.Errorf("set flags %s/%s/%d: %w", s.account, mailbox, uid, remote.ErrNotFound)
	}
	nrec := *rec
	nrec.Flags = clean
	err = s.db.Update(func(tx *bolt.Tx) error {
		return putMessage(tx, mailbox, f.info, uid, &nrec)
	})
	if err != nil {
		return fmt.Errorf("set flags %s/%s/%d: %w", s.account, mailbox, uid, err)
	}
	f.msgs[uid] = &nrec
	f.publish()
	return nil
}

// Append stores the size bytes of msg in the mailbox with flags (checked
// as SetFlags checks them) and returns its number. The message must parse: a header of well-formed fields naming at
// least one of From, Sender, To, Cc, Subject, Date and Message-ID, with no
// NUL byte; otherwise the error wraps ErrInvalid and nothing is stored.
// The file is written to a temporary file, synced and renamed before the
// record is written: when Append returns nil the message is durable.
func (s *Store) Append(ctx context.Context, mailbox string, msg io.ReaderAt, size int64, flags []string) (uint32, error) {
	clean, err := remote.NormalizeFlags(flags)
	if err != nil {
		return 0, fmt.Errorf("append to %s/%s: %w", s.account, mailbox, err)
	}
	s.mu.RLock()
	_, err = s.folderLocked(mailbox)
	s.mu.RUnlock()
	if err != nil {
		return 0, fmt.Errorf("append %w", err)
	}
	tmp, err := s.tempFile()
	if err != nil {
		return 0, fmt.Errorf("append to %s/%s: %w", s.account, mailbox, err)
	}
	fail := func(err error) (uint32, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("append to %s/%s: %w", s.account, mailbox, err)
	}
	if _, err := io.Copy(tmp, ctxio.Reader(ctx, io.NewSectionReader(msg, 0, size))); err != nil {
		return fail(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	if err := checkMessage(tmp); err != nil {
		return fail(err)
	}
	meta, size, err := metaOfTemp(tmp)
	if err != nil {
		return fail(err)
	}
	name := appendName()
	if err := s.commitFile(tmp, name); err != nil {
		return 0, fmt.Errorf("append to %s/%s: %w", s.account, mailbox, err)
	}
	rec := newRecord(name, "", "", size, meta, s.now())
	rec.Flags = clean
	n, err := s.addRecord(mailbox, rec, false)
	if err != nil {
		os.Remove(s.path(name))
		return 0, fmt.Errorf("append to %s/%s: %w", s.account, mailbox, err)
	}
	return n, nil
}

// checkMessage fails with an error wrapping ErrInvalid unless r starts
// with a header that makes it a mail message (header.Check).
func checkMessage(r io.Reader) error {
	hb, err := header.Read(r)
	if err != nil {
		return fmt.Errorf("read the message: %w", err)
	}
	if err := header.Check(hb); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return nil
}
