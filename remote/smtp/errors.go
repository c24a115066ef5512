package smtp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailfs/internal/clienterr"
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

// setupErr is classify for the steps between the TCP connect and EHLO
// (greeting, TLS, STARTTLS), where op names the step: a TLS problem the
// user can fix (an untrusted certificate, tls set wrongly for the port)
// becomes a *remote.OpError that says what is wrong and what to set, once;
// anything else is left to classify, with op and the server's address.
func (s *Sender) setupErr(ctx context.Context, op string, err error) error {
	if ctx.Err() == nil {
		if p, ok := clienterr.DescribeTLS(err, "smtp"); ok {
			return &remote.OpError{Protocol: "smtp", Account: s.opts.Account, Addr: s.addr, Op: op,
				Kind: remote.ErrUnavailable, Detail: p.Detail, Hint: p.Hint, Cause: clienterr.KeepCause(err)}
		}
	}
	return classify(ctx, op+" with "+s.addr, err)
}

// isReply reports whether err is a reply of the server (the connection is
// still in step), as opposed to a network or protocol failure.
func isReply(err error) bool {
	var re *ReplyError
	return errors.As(err, &re)
}

// TooManyRecipients reports whether the reply to a RCPT says that the
// transaction holds as many recipients as the server takes in one: 452
// (RFC 5321 4.5.3.1.10) without an enhanced code or with X.5.3, or 552
// 5.5.3 from servers older than that rule. The recipients from this one
// on go in another transaction.
func (e *ReplyError) TooManyRecipients() bool {
	switch e.Code {
	case 452:
		return e.Enhanced[0] == 0 || (e.Enhanced[1] == 5 && e.Enhanced[2] == 3)
	case 552:
		return e.Enhanced == [3]int{5, 5, 3}
	}
	return false
}

// Closing reports whether the server is closing the connection (421).
func (e *ReplyError) Closing() bool { return e.Code == 421 }

// Refusal is a recipient the server refused for good.
type Refusal struct {
	// Addr is the recipient, a bare address.
	Addr string
	// Reply is the server's 5xx reply to its RCPT.
	Reply *ReplyError
}

// RecipientsError is the failure of a message some of whose recipients the
// server refused with a 5xx reply. Such a message can never reach every
// recipient, so the error is permanent (errors.Is(err,
// remote.ErrPermanent)), also when the server then stopped the session
// (Postfix answers 421 after 20 refused recipients) before every recipient
// was tried. Nothing was sent to the recipients it counts: the
// transactions holding a refused recipient were reset before DATA.
type RecipientsError struct {
	// Refused are the refused recipients, in envelope order.
	Refused []Refusal
	// Total is the number of recipients the message was still to be sent
	// to: the envelope less those reached in earlier transactions.
	Total int
	// Untried is the number of recipients never asked about because the
	// server stopped the session (see Stop).
	Untried int
	// Stop is why the check ended before every recipient was tried, such
	// as a 421 reply or a lost connection; nil when every recipient was
	// tried.
	Stop error
	// Delivered is the number of recipients of the envelope that got the
	// message in earlier transactions of the same Send, when Send (not
	// SendProgress) was called: its caller learns it only from here.
	Delivered int
}

// maxListed bounds the addresses a RecipientsError lists, to keep its
// line short.
const maxListed = 30

// Error returns one line: "2 of 3 recipients refused, nothing sent:
// <a@x>, <b@x>: 550 5.1.1 User unknown", the refused recipients grouped by
// reply (an address the reply repeats is left out of it), at most
// maxListed addresses.
func (e *RecipientsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d recipients refused, nothing sent", len(e.Refused), e.Total)
	if e.Delivered > 0 {
		fmt.Fprintf(&b, " to these %d (the other %d got it in an earlier transaction)", e.Total, e.Delivered)
	}
	b.WriteString(": ")
	type group struct {
		reply string
		addrs []string
	}
	var groups []*group
	byReply := map[string]*group{}
	for _, r := range e.Refused {
		rep := replyWithout(r.Reply, r.Addr)
		g := byReply[rep]
		if g == nil {
			g = &group{reply: rep}
			byReply[rep] = g
			groups = append(groups, g)
		}
		g.addrs = append(g.addrs, "<"+r.Addr+">")
	}
	listed := 0
	for i, g := range groups {
		if i > 0 {
			b.WriteString("; ")
		}
		n := min(len(g.addrs), max(maxListed-listed, 1))
		b.WriteString(strings.Join(g.addrs[:n], ", "))
		if n < len(g.addrs) {
			fmt.Fprintf(&b, " and %d more", len(g.addrs)-n)
		}
		listed += n
		b.WriteString(": " + g.reply)
	}
	if e.Stop != nil {
		fmt.Fprintf(&b, "; %d more not tried: %v", e.Untried, e.Stop)
	}
	return b.String()
}

// Is makes errors.Is(err, remote.ErrPermanent) and errors.Is(err,
// remote.ErrRefused) true.
func (e *RecipientsError) Is(target error) bool {
	return target == remote.ErrPermanent || target == remote.ErrRefused
}

// replyWithout returns the reply of r without the "<addr>: " Postfix and
// others repeat at the start of their text, so that the replies to several
// recipients read as one.
func replyWithout(r *ReplyError, addr string) string {
	c := *r
	if rest, ok := cutPrefixFold(c.Message, "<"+addr+">"); ok {
		c.Message = strings.TrimLeft(strings.TrimPrefix(rest, ":"), " ")
	}
	return c.Reply()
}

// cutPrefixFold is strings.CutPrefix, ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
