// Package remote is the protocol-neutral contract between mailfs and a mail
// server: the mailboxes an account has, the messages in each and their bodies.
//
// It imports no other package of the project. Protocol packages
// (remote/imap, and later remote/pop3 and remote/smtp) implement it; the cache
// decorates it; the filesystem consumes the cache. Library types never cross
// this boundary.
package remote

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Sentinel errors. Implementations wrap them with context; callers compare
// with errors.Is, and the fs package maps them to errno in one place.
var (
	// ErrNotFound means the mailbox or message does not exist on the server.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable means the server could not be reached, the connection
	// broke (network error, reset, timeout, TLS or certificate failure), or
	// the server failed to carry out a command for reasons of its own
	// (IMAP SERVERBUG, UNAVAILABLE, INUSE, LIMIT, CORRUPTION, BAD; POP3
	// [SYS/TEMP], [SYS/PERM], [IN-USE], [LOGIN-DELAY]; a reply that breaks
	// the protocol). The operation may succeed later.
	ErrUnavailable = errors.New("server unavailable")
	// ErrAuth means the server rejected the credentials or the login
	// itself (IMAP AUTHENTICATIONFAILED, AUTHORIZATIONFAILED, EXPIRED,
	// PRIVACYREQUIRED, CONTACTADMIN; POP3 [AUTH]).
	ErrAuth = errors.New("authentication failed")
	// ErrUIDValidity means the mailbox's UIDVALIDITY is not the one the caller
	// named: every UID the caller knows for it is void.
	ErrUIDValidity = errors.New("UIDVALIDITY changed")
	// ErrRefused means the server understood the command and refused it
	// for a reason like a permission: the user may not do this (IMAP
	// NOPERM, CANNOT, a NO saying "permission denied"; a POP3 -ERR
	// without a code).
	ErrRefused = errors.New("refused by server")
	// ErrQuota means the account is over its storage quota (IMAP
	// OVERQUOTA).
	ErrQuota = errors.New("over quota")
	// ErrTooBig means the message is larger than the server accepts (IMAP
	// TOOBIG, RFC 7889).
	ErrTooBig = errors.New("message too big for the server")
	// ErrExists means the mailbox to create already exists (IMAP
	// ALREADYEXISTS).
	ErrExists = errors.New("already exists")
	// ErrNotEmpty means the mailbox to delete still has children (IMAP
	// HASCHILDREN).
	ErrNotEmpty = errors.New("mailbox has children")
)

// Mailbox is a folder on the server.
type Mailbox struct {
	// Name is the full name in UTF-8, hierarchy levels separated by Delim.
	Name string
	// Delim is the hierarchy delimiter, 0 when the server has none.
	Delim rune
	// Attrs holds the LIST attributes, such as `\Noselect`, `\HasChildren`
	// and special-use attributes like `\Sent` and `\Trash`.
	Attrs []string
}

// Path returns the hierarchy levels of the mailbox name.
func (m Mailbox) Path() []string {
	if m.Delim == 0 {
		return []string{m.Name}
	}
	return strings.Split(m.Name, string(m.Delim))
}

// HasAttr reports whether the mailbox has the attribute attr (case-insensitive).
func (m Mailbox) HasAttr(attr string) bool {
	for _, a := range m.Attrs {
		if strings.EqualFold(a, attr) {
			return true
		}
	}
	return false
}

// Selectable reports whether the mailbox can hold messages.
func (m Mailbox) Selectable() bool {
	return !m.HasAttr(`\Noselect`) && !m.HasAttr(`\NonExistent`)
}

// MailboxStatus is what a cheap STATUS or SELECT says about a mailbox.
type MailboxStatus struct {
	UIDValidity uint32
	// UIDNext is the UID the next message will get; a change means new mail.
	UIDNext uint32
	// Messages is the number of messages in the mailbox.
	Messages uint32
	// HighestModSeq is the CONDSTORE mod-sequence, 0 when not supported.
	HighestModSeq uint64
}

// MessageInfo is the listing entry of one message. Everything but Flags is
// immutable for a given (mailbox, UIDVALIDITY, UID).
type MessageInfo struct {
	UID uint32
	// Size is RFC822.SIZE: the exact size of the message in bytes.
	Size int64
	// InternalDate is the server's INTERNALDATE, in the zone the server gave.
	InternalDate time.Time
	// Flags are the message's flags, e.g. `\Seen`.
	Flags []string
	// Subject is the decoded subject (RFC 2047 encoded words resolved), UTF-8.
	Subject string
	// MessageID is the Message-ID header, without angle brackets.
	MessageID string
}

// FlagChanges is a Store that can say which messages' flags changed since
// a mod-sequence (IMAP CONDSTORE's CHANGEDSINCE), so that a resync costs
// what changed, not the whole mailbox.
type FlagChanges interface {
	// ChangedFlags returns, in ascending UID order, the UID and flags of
	// every message whose flags changed after mod-sequence since. It fails
	// with ErrUnsupported when the server cannot tell.
	ChangedFlags(ctx context.Context, mailbox string, uidValidity uint32, since uint64) ([]FlagState, error)
}

// FlagState is the current flags of one message.
type FlagState struct {
	UID   uint32
	Flags []string
}

// Store is a mail store that keeps mail on the server, such as an IMAP
// account. Implementations are safe for concurrent use and honour ctx.
//
// Every call that takes a uidValidity fails with an error wrapping
// ErrUIDValidity when the mailbox's UIDVALIDITY differs from it.
type Store interface {
	// Mailboxes lists every mailbox of the account.
	Mailboxes(ctx context.Context) ([]Mailbox, error)
	// Status returns the mailbox's counters without listing its messages.
	Status(ctx context.Context, mailbox string) (MailboxStatus, error)
	// Flags returns the UID and flags of every message in the mailbox, in
	// ascending UID order. A UID missing from it has been expunged.
	Flags(ctx context.Context, mailbox string, uidValidity uint32) ([]FlagState, error)
	// Messages calls fn with the listing entry of every message whose UID is
	// at least minUID, in ascending UID order, using as few round trips as
	// the protocol allows (never one per message).
	Messages(ctx context.Context, mailbox string, uidValidity, minUID uint32, fn func(MessageInfo) error) error
	// Fetch streams the full bodies of the messages uids, without marking
	// them read, calling fn once per message found with a reader that is
	// valid until fn returns. Messages that no longer exist are skipped;
	// the caller notices their absence.
	Fetch(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, fn func(uid uint32, body io.Reader) error) error
	// Close ends every connection.
	Close() error
}
