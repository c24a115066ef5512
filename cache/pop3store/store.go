package pop3store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"mailfs/internal/statedir"
	"mailfs/remote"
)

// Inbox is the mailbox POP3 mail is downloaded into.
const Inbox = "INBOX"

// Delim is the hierarchy delimiter of the store's mailbox names.
const Delim = '/'

// lockTimeout bounds the wait for the database's file lock, held by
// another process using the same store.
const lockTimeout = 500 * time.Millisecond

// Store is the durable local store of one POP3 account: INBOX, filled from
// the server, and local mailboxes. It implements fs.Source and is safe for
// concurrent use.
type Store struct {
	dir     string
	account string
	dl      remote.Downloader
	leave   bool
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	db      *bolt.DB

	// ctx is cancelled by Close; polls run under it. wg counts them.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards folders and closed, and serializes every change to the
	// metadata: a writer holds it across the database transaction and the
	// publication of the new in-memory state, so memory always equals the
	// database. Readers hold it shared only to look a folder up; the
	// listings they get are immutable. No I/O with the server happens
	// under mu, and file writes only where a change needs them (a rename
	// or an unlink), never a download.
	mu      sync.RWMutex
	folders map[string]*folder
	closed  bool

	// poll is the poll machinery, with its own lock.
	poll poller
}

// folder is one mailbox in memory. Its fields are guarded by Store.mu;
// listing is replaced, never modified, so it may be handed out.
type folder struct {
	name    string
	info    folderInfo
	msgs    map[uint32]*record // by number
	listing *remote.Listing
}

// Open opens the store in opts.Dir, creating it when missing, and
// recovers from a crash: message files renamed into place whose record was
// not written are recorded (never downloaded again), leftover temporary
// files and files of removed messages are deleted. Listings work at once,
// without contacting the server.
func Open(opts *Options) (*Store, error) {
	if opts == nil || opts.Dir == "" {
		return nil, errors.New("open pop3 store: no directory given")
	}
	if opts.Downloader == nil {
		return nil, errors.New("open pop3 store: no downloader given")
	}
	o := opts.withDefaults()
	if err := statedir.Private(o.Dir, "pop3 store directory", o.Logger); err != nil {
		return nil, err
	}
	if err := statedir.Private(filepath.Join(o.Dir, msgsDir), "pop3 store directory", o.Logger); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(o.Dir, dbName)
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("pop3 store %s of account %s is in use by another mailfs: stop it first", o.Dir, o.Account)
	}
	if err != nil {
		return nil, fmt.Errorf("open pop3 store database %s: %w", dbPath, err)
	}
	s := &Store{
		dir:     o.Dir,
		account: o.Account,
		dl:      o.Downloader,
		leave:   o.LeaveOnServer,
		opts:    o,
		log:     o.Logger.With("account", o.Account),
		now:     o.Now,
		db:      db,
		folders: map[string]*folder{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.load(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// load creates the buckets, recovers from a crash and reads every mailbox.
func (s *Store) load() error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return initBuckets(tx, s.now()) }); err != nil {
		return fmt.Errorf("open pop3 store %s: %w", s.dir, err)
	}
	if err := s.recover(); err != nil {
		return fmt.Errorf("recover pop3 store %s: %w", s.dir, err)
	}
	var all map[string]*loadedFolder
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		all, err = loadAll(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("read pop3 store %s: %w (the database is damaged; the messages are in %s)", s.dir, err, filepath.Join(s.dir, msgsDir))
	}
	for name, lf := range all {
		f := &folder{name: name, info: lf.info, msgs: lf.msgs}
		f.publish()
		s.folders[name] = f
	}
	return nil
}

// Close stops a running poll (its session is dropped without committing
// deletions) and closes the database. The Store must not be used after.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close pop3 store %s: %w", s.dir, err)
	}
	return nil
}

// publish rebuilds the folder's listing from its records. Callers hold
// Store.mu for writing (or own the folder exclusively).
func (f *folder) publish() {
	l := &remote.Listing{UIDValidity: f.info.UIDValidity, Messages: make([]remote.MessageInfo, 0, len(f.msgs))}
	for n, r := range f.msgs {
		l.Messages = append(l.Messages, r.info(n))
	}
	slices.SortFunc(l.Messages, func(a, b remote.MessageInfo) int { return cmp.Compare(a.UID, b.UID) })
	f.listing = l
}

// info returns the listing entry of the record stored as number n.
func (r *record) info(n uint32) remote.MessageInfo {
	return remote.MessageInfo{
		UID:          n,
		Size:         r.Size,
		InternalDate: r.Date,
		Flags:        slices.Clone(r.Flags),
		Subject:      r.Subject,
		MessageID:    r.MessageID,
	}
}

// folderLocked returns the mailbox; the caller holds mu.
func (s *Store) folderLocked(name string) (*folder, error) {
	if s.closed {
		return nil, errClosed
	}
	f, ok := s.folders[name]
	if !ok {
		return nil, fmt.Errorf("mailbox %s/%s: %w", s.account, name, remote.ErrNotFound)
	}
	return f, nil
}
