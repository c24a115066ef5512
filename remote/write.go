package remote

import (
	"context"
	"errors"
)

// ErrUnsupported means the server lacks what an operation needs and
// mailfs will not work around it unsafely: for example removing one
// message on a server without UIDPLUS, where the only EXPUNGE there is
// would also remove every message other clients marked \Deleted.
var ErrUnsupported = errors.New("not supported by the server")

// ErrTooManyDeletes means a removal was refused by a mass-deletion guard
// (the cache's max_deletes), which has logged it: more messages were
// removed within a short time than the account allows.
var ErrTooManyDeletes = errors.New("too many messages removed at once")

// Placed says where a copied, moved or appended message now is: its UID
// in the target mailbox and that mailbox's UIDVALIDITY. Both are zero
// when the server did not say (no UIDPLUS: no COPYUID or APPENDUID).
type Placed struct {
	UIDValidity uint32
	UID         uint32
}

// Known reports whether the server said where the message went.
func (p Placed) Known() bool { return p.UIDValidity != 0 && p.UID != 0 }

// Editor is a Store that changes mail on the server, such as an IMAP
// account. Every call that takes a uidValidity fails with an error wrapping
// ErrUIDValidity when the mailbox's UIDVALIDITY differs from it, before
// changing anything. A call that fails leaves the server as it was, except
// where its documentation says otherwise.
type Editor interface {
	// Move moves message uid from mailbox from to mailbox to (IMAP: UID
	// MOVE, or UID COPY, then UID STORE +FLAGS \Deleted and UID EXPUNGE
	// of that one UID when the server has UIDPLUS but not MOVE). Without
	// MOVE and without UIDPLUS it fails with ErrUnsupported before
	// sending any command. A COPY that fails deletes nothing; when the
	// COPY worked but the STORE or EXPUNGE after it failed, the message
	// is in both mailboxes: the error says so and Placed names the copy.
	Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (Placed, error)
	// Expunge removes message uid from mailbox for good (IMAP: UID STORE
	// +FLAGS \Deleted, then UID EXPUNGE of that UID). Without UIDPLUS it
	// fails with ErrUnsupported before sending any command: a plain
	// EXPUNGE is never sent.
	Expunge(ctx context.Context, mailbox string, uidValidity, uid uint32) error
	// SetFlags replaces the flags of message uid with exactly flags (IMAP:
	// UID STORE FLAGS.SILENT). It never leaves a connection in a state
	// where a later read could set \Seen.
	SetFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, flags []string) error
	// CreateMailbox creates mailbox name (full name, levels joined by the
	// account's delimiter).
	CreateMailbox(ctx context.Context, name string) error
	// DeleteMailbox deletes mailbox name.
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox renames mailbox oldName (and the mailboxes under it)
	// to newName.
	RenameMailbox(ctx context.Context, oldName, newName string) error
}
