package smtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailfs/remote"
)

// ReplyError is an SMTP reply the server gave instead of the one expected.
// Its message is the server's own text, so a user can read it in the
// outbox's .error file. It reports itself as remote.ErrRefused, as
// remote.ErrPermanent for 5xx replies and as remote.ErrAuth for a 5xx reply
// to AUTH.
type ReplyError struct {
	// Op is what was being done, such as "RCPT TO:<bob@example.org>".
	Op string
	// Code is the three-digit reply code, such as 550.
	Code int
	// Enhanced is the enhanced status code (RFC 3463), zero when the server
	// sent none.
	Enhanced [3]int
	// Message is the server's text.
	Message string
	// Auth marks a reply to AUTH.
	Auth bool
}

// Error returns "OP: server said: 550 5.1.1 TEXT".
func (e *ReplyError) Error() string {
	return e.Op + ": server said: " + e.Reply()
}

// Reply returns the reply as the server sent it: "550 5.1.1 TEXT".
func (e *ReplyError) Reply() string {
	s := fmt.Sprintf("%03d", e.Code)
	if e.Enhanced[0] > 0 {
		s += fmt.Sprintf(" %d.%d.%d", e.Enhanced[0], e.Enhanced[1], e.Enhanced[2])
	}
	if e.Message != "" {
		s += " " + e.Message
	}
	return s
}

// Permanent reports whether the reply is a 5xx one.
func (e *ReplyError) Permanent() bool { return e.Code >= 500 }

// Is makes errors.Is(err, remote.ErrPermanent) true for 5xx replies,
// errors.Is(err, remote.ErrAuth) true for a 5xx reply to AUTH and
// errors.Is(err, remote.ErrRefused) true for every reply.
func (e *ReplyError) Is(target error) bool {
	switch target {
	case remote.ErrPermanent:
		return e.Permanent()
	case remote.ErrAuth:
		return e.Auth && e.Permanent()
	case remote.ErrRefused:
		return true
	}
	return false
}

// permanentf returns a permanent failure that is not a server reply, such as
// an envelope the server cannot take. Its text is the formatted message
// alone; errors.Is(err, remote.ErrPermanent) is true.
func permanentf(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

type permanentError struct{ msg string }

func (e *permanentError) Error() string        { return e.msg }
func (e *permanentError) Is(target error) bool { return target == remote.ErrPermanent }

// classify turns an error from go-smtp, the network or TLS into one of the
// remote contract: a *ReplyError for a server reply, the context's error
// when ctx ended, and remote.ErrUnavailable for anything else (network,
// TLS, protocol). No library type is left in the chain of a reply error;
// network and TLS errors stay in the chain so that errors.As finds, say, an
// x509.UnknownAuthorityError.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var re *ReplyError
	if errors.As(err, &re) || errors.Is(err, remote.ErrPermanent) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w", op, context.Cause(ctx))
	}
	// The connection's deadline is the context's: it may strike a moment
	// before the context reports itself done.
	var ne net.Error
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) && errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
	}
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		r := &ReplyError{Op: op, Code: se.Code, Message: se.Message}
		if se.EnhancedCode[0] > 0 {
			r.Enhanced = [3]int(se.EnhancedCode)
		}
		return r
	}
	return fmt.Errorf("%s: %w: %w", op, remote.ErrUnavailable, err)
}

// isReply reports whether err is a reply of the server (the connection is
// still in step), as opposed to a network or protocol failure.
func isReply(err error) bool {
	var re *ReplyError
	return errors.As(err, &re)
}
