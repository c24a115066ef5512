package remote

import "context"

// Watcher is a Store that can be told when a mailbox changes on the server (IMAP IDLE).
type Watcher interface {
	// Watch watches mailbox until ctx is done, on a connection of its own (never one of the
	// pool that serves reads), and calls changed whenever the server reports that the mailbox
	// changed — new messages (EXISTS), expunged ones (EXPUNGE/VANISHED), changed flags
	// (FETCH FLAGS), a new UIDVALIDITY — and once after every (re)connection, since changes
	// may have been missed meanwhile. changed is never called concurrently with itself and must
	// not block for long; bursts may be coalesced into one call. A dropped connection or a
	// failed IDLE is retried with backoff (1 s doubling to 1 min, reset after a healthy minute),
	// logged once per outage. It returns ctx's error when ctx is done, or at once an error
	// wrapping ErrUnsupported when the server has no IDLE (the caller then polls), or one
	// wrapping ErrAuth / ErrNotFound (mailbox gone) when retrying cannot help.
	Watch(ctx context.Context, mailbox string, changed func()) error
}
