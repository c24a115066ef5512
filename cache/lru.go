package cache

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// lru indexes the body files by last read, to keep their total size under
// Options.MaxSize. A body's last-read time is also its file's mtime, so the
// order survives a restart (bodies are immutable; mtime serves no other use).
type lru struct {
	log *slog.Logger
	max int64

	// mu guards total, ll and byPath. It is held while a fetched body is
	// renamed into place and while an evicted one is deleted, so eviction
	// never deletes a file that is being committed.
	mu     sync.Mutex
	total  int64                    // bytes of every indexed body
	ll     *list.List               // of *lruEntry, most recently read first
	byPath map[string]*list.Element // body path -> element of ll
}

type lruEntry struct {
	path string
	size int64
	read time.Time
}

func newLRU(max int64, log *slog.Logger) *lru {
	return &lru{log: log, max: max, ll: list.New(), byPath: map[string]*list.Element{}}
}

// insert indexes a body as the most recently read. l.mu must be held.
func (l *lru) insert(path string, size int64, read time.Time) {
	if e, ok := l.byPath[path]; ok {
		l.total -= e.Value.(*lruEntry).size
		l.ll.Remove(e)
	}
	l.byPath[path] = l.ll.PushFront(&lruEntry{path: path, size: size, read: read})
	l.total += size
}

// commit renames the finished temporary file tmp to path, indexes it and
// evicts older bodies if the cache is now too big.
func (l *lru) commit(tmp, path string, size int64, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	l.insert(path, size, now)
	l.evictLocked(path)
	return nil
}

// touch records a read of path; it reports whether path is indexed.
func (l *lru) touch(path string, now time.Time) bool {
	l.mu.Lock()
	e, ok := l.byPath[path]
	if ok {
		e.Value.(*lruEntry).read = now
		l.ll.MoveToFront(e)
	}
	l.mu.Unlock()
	if ok {
		// Persist the order for the next start; losing it costs nothing.
		os.Chtimes(path, now, now)
	}
	return ok
}

// addExisting indexes a body found on disk that the index missed.
func (l *lru) addExisting(path string, now time.Time) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.insert(path, fi.Size(), now)
	l.evictLocked(path)
}

// remove deletes the bodies at path or under it (a directory).
func (l *lru) remove(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	prefix := path + string(filepath.Separator)
	for p, e := range l.byPath {
		if p == path || strings.HasPrefix(p, prefix) {
			l.total -= e.Value.(*lruEntry).size
			l.ll.Remove(e)
			delete(l.byPath, p)
		}
	}
	return os.RemoveAll(path)
}

// evict deletes least recently read bodies, never keep, until the total is
// within max.
func (l *lru) evict(keep string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictLocked(keep)
}

func (l *lru) evictLocked(keep string) {
	for l.total > l.max {
		e := l.ll.Back()
		if e == nil {
			return
		}
		ent := e.Value.(*lruEntry)
		if ent.path == keep {
			if e = e.Prev(); e == nil {
				return
			}
			ent = e.Value.(*lruEntry)
		}
		if err := os.Remove(ent.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.log.Warn("cannot evict cached body", "path", ent.path, "err", err)
		}
		l.total -= ent.size
		l.ll.Remove(e)
		delete(l.byPath, ent.path)
	}
}

// scanBodies removes temporary files left by a crash and, with a size
// limit, indexes every body by its mtime (its last read). The database lock
// guarantees no other process writes here.
func (c *Cache) scanBodies() error {
	root := filepath.Join(c.dir, bodiesDir)
	var found []lruEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), tempPrefix) {
			os.Remove(p)
			return nil
		}
		if c.bodies == nil || !isCachedFile(d.Name()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		found = append(found, lruEntry{path: p, size: fi.Size(), read: fi.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan cached bodies: %w", err)
	}
	if c.bodies != nil {
		slices.SortFunc(found, func(a, b lruEntry) int { return a.read.Compare(b.read) })
		for _, e := range found {
			c.bodies.insert(e.path, e.size, e.read)
		}
	}
	return nil
}

// removeBodies deletes the body file or directory path, and forgets it;
// with a body file go its cached parts.
func (c *Cache) removeBodies(path string) {
	if strings.HasSuffix(path, bodySuffix) {
		defer c.removeParts(path)
	}
	var err error
	if c.bodies != nil {
		err = c.bodies.remove(path)
	} else {
		err = os.RemoveAll(path)
	}
	if err != nil {
		c.log.Warn("cannot delete cached bodies", "path", path, "err", err)
	}
}
