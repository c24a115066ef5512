package remote

import (
	"context"
	"io"
)

// DropMessage is one message waiting in a POP3 maildrop.
type DropMessage struct {
	// Number is the message number, valid for one session only.
	Number int
	// UID is the server's unique id (UIDL), or a fallback key derived from
	// the message's identifying headers when the server lacks UIDL.
	UID string
	// Size is the size the server announces (LIST), in bytes.
	Size int64
}

// Downloader opens sessions on a download-only server such as POP3.
type Downloader interface {
	// Connect logs in and returns a session that holds the maildrop lock.
	Connect(ctx context.Context) (DropSession, error)
}

// DropSession is one POP3 session. It is not safe for concurrent use.
type DropSession interface {
	// List returns every message in the maildrop with its UID and size.
	List(ctx context.Context) ([]DropMessage, error)
	// Retrieve streams message n byte for byte (dot-unstuffed, line endings
	// as the server sent them) into w and returns the bytes written.
	Retrieve(ctx context.Context, n int, w io.Writer) (int64, error)
	// Delete marks message n for deletion; it takes effect at Quit.
	Delete(ctx context.Context, n int) error
	// Quit ends the session, committing deletions.
	Quit(ctx context.Context) error
	// Close drops the connection without committing deletions.
	Close() error
}
