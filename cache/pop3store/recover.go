package pop3store

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailfs/internal/atomicfile"
)

// recover brings files and records back in step after a crash; see the
// package documentation for the states a crash can leave.
func (s *Store) recover() error {
	dir := filepath.Join(s.dir, msgsDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var referenced, seen map[string]bool
	err = s.db.View(func(tx *bolt.Tx) error {
		all, err := loadAll(tx)
		if err != nil {
			return err
		}
		referenced = map[string]bool{}
		for _, lf := range all {
			for _, r := range lf.msgs {
				referenced[r.File] = true
			}
		}
		seen = keySet(tx, bucketSeen)
		return nil
	})
	if err != nil {
		return err
	}

	type orphan struct {
		name, key string
		mtime     time.Time
	}
	var orphans []orphan
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		present[name] = true
		switch {
		case strings.HasPrefix(name, tempPrefix):
			// A download or append that never reached its rename.
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
			s.log.Info("deleted unfinished download", "file", name)
		case referenced[name] || !strings.HasSuffix(name, emlExt):
		case isDownloadKey(strings.TrimSuffix(name, emlExt)):
			key := strings.TrimSuffix(name, emlExt)
			if seen[key] {
				// Removed (record deleted first), unlink interrupted.
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return err
				}
				continue
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			orphans = append(orphans, orphan{name: name, key: key, mtime: info.ModTime()})
		case strings.HasPrefix(name, "a"):
			// An append that crashed before its record: the copy
			// never succeeded.
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
			s.log.Info("deleted unfinished append", "file", name)
		default:
			s.log.Warn("unknown file in pop3 store, left alone", "file", filepath.Join(dir, name))
		}
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return err
	}

	// Downloads renamed into place whose record was not written: record
	// them now, in download order.
	slices.SortFunc(orphans, func(a, b orphan) int {
		return cmp.Or(a.mtime.Compare(b.mtime), cmp.Compare(a.name, b.name))
	})
	for _, o := range orphans {
		meta, size, err := readMeta(filepath.Join(dir, o.name))
		if err != nil {
			return err
		}
		rec := newRecord(o.name, o.key, uidlOfKey(o.key), size, meta, o.mtime.UTC())
		err = s.db.Update(func(tx *bolt.Tx) error {
			b, err := folderBucket(tx, Inbox)
			if err != nil {
				return err
			}
			var info folderInfo
			if err := jsonGet(b, keyInfo, &info); err != nil {
				return err
			}
			n := info.Next
			info.Next++
			if err := putMessage(tx, Inbox, info, n, rec); err != nil {
				return err
			}
			return putJSON(tx.Bucket(bucketSeen), []byte(o.key), seenEntry{UIDL: rec.UIDL, At: s.now()})
		})
		if err != nil {
			return err
		}
		s.log.Info("recorded message downloaded before a crash", "mailbox", Inbox, "file", o.name)
	}

	// Records whose file is gone (deleted behind mailfs's back): the
	// listing must not show what cannot be read.
	return s.db.Update(func(tx *bolt.Tx) error {
		all, err := loadAll(tx)
		if err != nil {
			return err
		}
		for name, lf := range all {
			for n, r := range lf.msgs {
				if present[r.File] {
					continue
				}
				if _, err := os.Stat(filepath.Join(dir, r.File)); err == nil {
					continue // recorded above
				}
				s.log.Error("message file missing from pop3 store; dropping its record", "mailbox", name, "uid", n, "file", r.File)
				if err := deleteMessage(tx, name, n); err != nil {
					return fmt.Errorf("drop record %s/%d: %w", name, n, err)
				}
			}
		}
		return nil
	})
}
