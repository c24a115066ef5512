// Package cache is mailfs's persistent cache: a decorator over a
// remote.Store that answers the filesystem's questions (which mailboxes,
// which messages, which bytes) from local disk and talks to the server only
// when what it knows is too old or missing.
//
// It owns one directory (0700): meta.db, a bbolt database with the mailbox
// list of every account and, per mailbox, its counters (UIDVALIDITY, UIDNEXT,
// MESSAGES, HIGHESTMODSEQ, last check) and the listing entry of every
// message; and bodies/, one file (0600) per fetched message body keyed by
// account, mailbox, UIDVALIDITY and UID. Bodies are immutable, written to a
// temporary file and renamed into place (not fsynced: a body a crash kept
// from the disk has the wrong size, which Open notices and fetches again),
// and never fetched twice unless evicted to honour Options.MaxSize (least
// recently read first).
//
// Bodies are fetched in background batches of many UIDs per command
// (fetch.go), sized by a read-ahead that follows readers going through a
// mailbox in listing order and on into the next mailbox (readahead.go).
// Nothing a caller gives up on is cancelled: a batch finishes into the
// cache, bounded by the protocol client's timeouts.
//
// Listings are kept in memory as immutable *remote.Listing snapshots, loaded lazily
// from the database; a sync fetches only what changed (new UIDs, vanished
// UIDs, flag changes) and publishes a new snapshot. When the server is
// unreachable the cache serves what it has and does not try again for
// Options.RetryAfter.
//
// A *Account implements the fs.Source interface. The POP3 store is not here:
// this cache may forget bodies, that store must not.
package cache
