package fs

import (
	"context"
	"io"
	"os"
	"time"

	"mailfs/remote"
)

// Source is what the filesystem needs of one account: its mailboxes, their
// listings and message bodies. *cache.Account implements it for IMAP and
// *pop3store.Store for POP3. Changes (rm, mv, mkdir, cp into a folder,
// flags) go through the optional interfaces that follow.
type Source interface {
	// Mailboxes returns the account's mailboxes, refreshed from the server
	// when the known list is older than maxAge. With the server unreachable
	// it returns what is known.
	Mailboxes(ctx context.Context, maxAge time.Duration) ([]remote.Mailbox, error)
	// List returns the mailbox's listing, synced with the server first when
	// it was last checked longer than maxAge ago. With the server unreachable
	// it returns the cached listing.
	List(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, error)
	// Open returns the message body as a read-only file, fetching it into
	// the cache first when needed. The caller closes it.
	Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error)
}

// The optional interfaces below are the changes a Source may support. The
// filesystem checks for each with a type assertion, per operation; a Source
// without one answers that operation with EACCES (see the package
// documentation). Directories of an account whose Source implements
// Remover, Mover, FolderEditor or Appender are shown 0700, others 0500.
// *pop3store.Store and *cache.Account implement all of them.
//
// Every change must be visible to the Source's own reads when the call
// returns: after Remove, List no longer lists the message (whatever maxAge
// says); after Move it lists it in the target mailbox only; after the
// folder calls, Mailboxes returns the new list. The filesystem relies on it
// for "rm FILE; ls" and "mkdir D; ls".

// Remover removes messages: rm FILE.
type Remover interface {
	// Remove deletes message uid from mailbox (for IMAP, moves it to
	// Trash or expunges it, as the account is configured).
	Remove(ctx context.Context, mailbox string, uid uint32) error
}

// Mover moves messages between the mailboxes of one account: mv FILE DIR/.
type Mover interface {
	// Move moves message uid from mailbox from to mailbox to and returns
	// its UID there (0 when the server does not say).
	Move(ctx context.Context, from string, uid uint32, to string) (uint32, error)
}

// FolderEditor creates, deletes and renames mailboxes: mkdir, rmdir and
// mv DIR. Mailbox names are full names, levels joined by the account's
// delimiter.
type FolderEditor interface {
	// CreateMailbox creates mailbox name; its parent exists.
	CreateMailbox(ctx context.Context, name string) error
	// DeleteMailbox deletes mailbox name, which must hold no message and
	// no child mailbox (an error wrapping syscall.ENOTEMPTY otherwise).
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox renames mailbox oldName, and every mailbox under it,
	// to newName.
	RenameMailbox(ctx context.Context, oldName, newName string) error
}

// Flagger replaces message flags: setfattr of the user.mail.flags
// extended attribute (which reads them from the listing).
type Flagger interface {
	// SetFlags replaces the flags of message uid with flags; a flag that
	// is not an IMAP flag gives an error wrapping remote.ErrInvalid.
	SetFlags(ctx context.Context, mailbox string, uid uint32, flags []string) error
}

// Appender stores new messages: cp FILE.eml DIR/.
type Appender interface {
	// Append stores the size bytes of msg in mailbox with flags (nil for
	// none) and returns its UID (0 when the server does not say). A
	// message that does not parse, or a flag that is not an IMAP flag,
	// gives an error wrapping EINVAL (or remote.ErrInvalid) and stores
	// nothing.
	Append(ctx context.Context, mailbox string, msg io.ReaderAt, size int64, flags []string) (uint32, error)
}

// Watched is a Source that finds changes on the server by itself (IMAP IDLE and polling) and reports them.
type Watched interface {
	// Subscribe adds fn to be called with every change found; fn must not block.
	Subscribe(fn func(remote.Change))
}
