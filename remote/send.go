package remote

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrPermanent marks a failure that will not go away by retrying, such as an
// SMTP 5xx reply or a message the server cannot take as written. Errors not
// wrapping it are temporary.
var ErrPermanent = errors.New("permanent failure")

// Envelope is the SMTP envelope of one message.
type Envelope struct {
	// From is the envelope sender (MAIL FROM), a bare address.
	From string
	// To are the recipients (RCPT TO), bare addresses.
	To []string
}

// Sender transmits messages, such as an SMTP submission server.
// Implementations are safe for concurrent use and honour ctx.
type Sender interface {
	// Send transmits the message read from msg to the envelope's
	// recipients. msg is the message as it is to be delivered (Bcc already
	// removed); the sender may re-encode its transfer encoding for a server
	// that cannot take 8-bit data, never its content. The error wraps
	// ErrPermanent when retrying cannot help and carries the server's reply.
	Send(ctx context.Context, env Envelope, msg io.Reader) error
	// Close ends any connection kept open between messages.
	Close() error
}

// Appender adds a message to a mailbox, such as the IMAP APPEND command.
type Appender interface {
	// Append stores the message read from body (size bytes) in mailbox with
	// the given flags and internal date (zero: the server's clock), and
	// returns where it went when the server says (APPENDUID).
	Append(ctx context.Context, mailbox string, flags []string, date time.Time, body io.Reader, size int64) (Placed, error)
}
