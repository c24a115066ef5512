package fs

import (
	"context"
	"os"
	"time"

	"mailfs/cache"
	"mailfs/remote"
)

// Source is what the filesystem needs of one account: its mailboxes, their
// listings and message bodies. *cache.Account implements it for IMAP; the
// POP3 store will implement it too.
type Source interface {
	// Mailboxes returns the account's mailboxes, refreshed from the server
	// when the known list is older than maxAge. With the server unreachable
	// it returns what is known.
	Mailboxes(ctx context.Context, maxAge time.Duration) ([]remote.Mailbox, error)
	// List returns the mailbox's listing, synced with the server first when
	// it was last checked longer than maxAge ago. With the server unreachable
	// it returns the cached listing.
	List(ctx context.Context, mailbox string, maxAge time.Duration) (*cache.Listing, error)
	// Open returns the message body as a read-only file, fetching it into
	// the cache first when needed. The caller closes it.
	Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error)
}
