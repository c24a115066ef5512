package pop3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"

	"mailfs/internal/ctxio"
	"mailfs/remote"
)

// download stores message m of the session as msgs/<key>.eml and records
// it in INBOX. It returns the bytes stored. The order of the steps is the
// crash-safety argument of the package documentation: RETR into a
// temporary file, fsync, rename (the commit point), fsync the directory,
// then the record and the key in seen in one transaction.
func (s *Store) download(ctx context.Context, sess remote.DropSession, m remote.DropMessage, key string) (int64, error) {
	name := key + emlExt
	if _, err := os.Stat(s.path(name)); err == nil {
		// Renamed into place by an earlier attempt whose record failed:
		// record it, do not download it again.
		return s.adopt(name, key, m.UID)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("store message %d: %w", m.Number, err)
	}
	tmp, err := s.tempFile()
	if err != nil {
		return 0, fmt.Errorf("store message %d: %w", m.Number, err)
	}
	if _, err := sess.Retrieve(ctx, m.Number, ctxio.Writer(ctx, tmp)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("retrieve message %d: %w", m.Number, err)
	}
	meta, size, err := metaOfTemp(tmp)
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return 0, fmt.Errorf("store message %d: %w", m.Number, err)
	}
	if err := s.commitFile(tmp, name); err != nil {
		return 0, fmt.Errorf("store message %d: %w", m.Number, err)
	}
	if meta.Err != nil {
		s.log.Debug("message header malformed; stored as is", "number", m.Number, "err", meta.Err)
	}
	rec := newRecord(name, key, m.UID, size, meta, s.now())
	if _, err := s.addRecord(Inbox, rec, true); err != nil {
		return 0, fmt.Errorf("record message %d: %w", m.Number, err)
	}
	return size, nil
}

// metaOfTemp reads the header and size of a freshly written file.
func metaOfTemp(f *os.File) (headerMeta, int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return headerMeta{}, 0, err
	}
	meta := parseMeta(f)
	fi, err := f.Stat()
	if err != nil {
		return headerMeta{}, 0, err
	}
	return meta, fi.Size(), nil
}

// adopt records a message file already in place under its key.
func (s *Store) adopt(name, key, uidl string) (int64, error) {
	meta, size, err := readMeta(s.path(name))
	if err != nil {
		return 0, fmt.Errorf("record %s: %w", name, err)
	}
	fi, err := os.Stat(s.path(name))
	if err != nil {
		return 0, fmt.Errorf("record %s: %w", name, err)
	}
	if _, err := s.addRecord(Inbox, newRecord(name, key, uidl, size, meta, fi.ModTime()), true); err != nil {
		return 0, fmt.Errorf("record %s: %w", name, err)
	}
	return size, nil
}

// addRecord stores rec as the next number of mailbox, with rec.Key added
// to seen when seen is set, and publishes it. It returns the number.
func (s *Store) addRecord(mailbox string, rec *record, seen bool) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		return 0, err
	}
	info := f.info
	n := info.Next
	info.Next++
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := putMessage(tx, mailbox, info, n, rec); err != nil {
			return err
		}
		if seen && rec.Key != "" {
			return putJSON(tx.Bucket(bucketSeen), []byte(rec.Key), seenEntry{UIDL: rec.UIDL, At: rec.Stored})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	f.info = info
	f.msgs[n] = rec
	f.publish()
	return n, nil
}
