package remote

import (
	"context"
	"time"
)

// Query is a search over a mailbox's messages, as IMAP SEARCH defines its
// keys: a leaf tests one thing of a message, And, Or and Not combine
// queries. The zero Query (QueryAll) matches every message.
type Query struct {
	Op QueryOp
	// Args are the operands of QueryAnd (any number; none matches all),
	// QueryOr (at least two) and QueryNot (exactly one).
	Args []Query
	// Text is the string QueryFrom, QueryTo, QuerySubject, QueryBody and
	// QueryText look for: a substring, compared without case.
	Text string
	// Date is the day of QuerySince and QueryBefore: its year, month and
	// day (in its own location) are used, not the time.
	Date time.Time
	// Size is the byte count of QueryLarger.
	Size int64
}

// QueryOp says what a Query tests.
type QueryOp int

// The kinds of Query. The leaves mean what the IMAP SEARCH key of the same
// name means (RFC 3501 6.4.4).
const (
	// QueryAll matches every message (ALL).
	QueryAll QueryOp = iota
	// QueryAnd matches what every Arg matches.
	QueryAnd
	// QueryOr matches what any Arg matches.
	QueryOr
	// QueryNot matches what its one Arg does not.
	QueryNot
	// QueryFrom: the From header contains Text.
	QueryFrom
	// QueryTo: the To header contains Text.
	QueryTo
	// QuerySubject: the Subject header contains Text.
	QuerySubject
	// QueryBody: the body (after the header) contains Text.
	QueryBody
	// QueryText: the header or the body contains Text.
	QueryText
	// QuerySince: INTERNALDATE is on or after Date's day.
	QuerySince
	// QueryBefore: INTERNALDATE is before Date's day.
	QueryBefore
	// QueryUnseen: no \Seen flag.
	QueryUnseen
	// QueryFlagged: the \Flagged flag.
	QueryFlagged
	// QueryLarger: RFC822.SIZE is larger than Size.
	QueryLarger
)

// Searcher is a Store whose server searches a mailbox itself (IMAP
// SEARCH): a query costs one round trip, not a read of every message.
type Searcher interface {
	// Search returns, ascending, the UIDs of the messages of mailbox that
	// match q. The mailbox's UIDVALIDITY must be uidValidity (an error
	// wrapping ErrUIDValidity otherwise).
	Search(ctx context.Context, mailbox string, uidValidity uint32, q Query) ([]uint32, error)
}
