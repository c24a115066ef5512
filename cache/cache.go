package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"mailfs/internal/statedir"
	"mailfs/remote"
)

// Options configures a Cache. The zero value (or nil) means defaults.
type Options struct {
	// Logger receives warnings (server unreachable, UIDVALIDITY changed,
	// size corrections); nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now. Tests inject a
	// clock here instead of sleeping.
	Now func() time.Time
	// MaxSize is the number of body bytes kept on disk; beyond it the least
	// recently read bodies are deleted (and fetched again when read).
	// 0 means unlimited. Metadata is never evicted.
	MaxSize int64
	// RetryAfter is how long, after a failed contact with the server, the
	// cache serves what it has without trying the server again, so that an
	// offline mount answers at once. Default 10s.
	RetryAfter time.Duration
}

// DefaultRetryAfter is the RetryAfter used when Options leaves it zero.
const DefaultRetryAfter = 10 * time.Second

// lockTimeout bounds the wait for the database's file lock, which another
// mailfs using the same cache directory holds.
const lockTimeout = 500 * time.Millisecond

// Cache is the on-disk cache of every account: one bbolt database for
// metadata and a tree of body files. It is safe for concurrent use.
type Cache struct {
	dir        string
	db         *bolt.DB
	log        *slog.Logger
	now        func() time.Time
	retryAfter time.Duration
	intern     *interner
	bodies     *lru // nil when MaxSize is 0

	// ctx is cancelled by Close; shared syncs and fetches run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // running syncs and fetches

	mu       sync.Mutex          // guards accounts and closed
	accounts map[string]*Account // by account name
	closed   bool
}

// Open opens (creating it when needed) the cache in dir. The directory and
// everything in it are private to the user: dir is created 0700 and its
// permissions are corrected when wider. Only one mailfs may use a cache
// directory at a time; a second gets an error naming the first's pid.
func Open(dir string, opts *Options) (*Cache, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = DefaultRetryAfter
	}
	if err := statedir.Private(dir, "cache directory", o.Logger); err != nil {
		return nil, err
	}
	if err := statedir.Private(filepath.Join(dir, bodiesDir), "cache directory", o.Logger); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dir, "meta.db")
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{
		Timeout:        lockTimeout,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("cache %s is in use by another mailfs (%s): stop it or use another cache dir", dir, lockHolder(dir))
	}
	if err != nil {
		return nil, fmt.Errorf("open cache database %s: %w (delete the cache directory to start afresh)", dbPath, err)
	}
	if err := os.Chmod(dbPath, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("open cache: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketAccounts)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open cache database %s: %w", dbPath, err)
	}
	writeLockHolder(dir, o.Logger)

	c := &Cache{
		dir:        dir,
		db:         db,
		log:        o.Logger,
		now:        o.Now,
		retryAfter: o.RetryAfter,
		intern:     newInterner(),
		accounts:   map[string]*Account{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if o.MaxSize > 0 {
		c.bodies = newLRU(o.MaxSize, o.Logger)
	}
	if err := c.scanBodies(); err != nil {
		db.Close()
		return nil, err
	}
	if c.bodies != nil {
		c.bodies.evict("")
	}
	return c, nil
}

// Close waits for running syncs and fetches to stop (they are cancelled)
// and closes the database. The Accounts must not be used afterwards.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	removeLockHolder(c.dir)
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("close cache %s: %w", c.dir, err)
	}
	return nil
}

// Account returns the cache of the account name, which decorates store.
// name is the account's name in the configuration; it keys everything the
// cache keeps for the account. Calling Account again with the same name
// returns the first Account (and its store and options). opts (nil:
// defaults) says what changes to its mail do.
func (c *Cache) Account(name string, store remote.Store, opts *AccountOptions) *Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.accounts[name]; ok {
		return a
	}
	a := newAccount(c, name, store, opts)
	c.accounts[name] = a
	return a
}
