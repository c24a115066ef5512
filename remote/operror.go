package remote

import (
	"errors"
	"fmt"
	"strings"
)

// OpError is the error a protocol client (remote/imap, remote/pop3, and
// remote/smtp while it connects) returns for a failed operation. It names the protocol, the account, the
// server and the command; it wraps one of this package's sentinels (Kind)
// and, where it is worth matching with errors.Is or errors.As, the
// underlying cause. Its text reads
//
//	imap account "work" (mail.example.org:993): SELECT "INBOX": not found: server said NO [NONEXISTENT] No such mailbox (hint)
//
// Library errors are reduced to their text in Detail; secrets never appear
// in it.
type OpError struct {
	// Protocol is the client's protocol in lower case, such as "imap".
	Protocol string
	// Account is the account's name.
	Account string
	// Addr is the server's address, host:port.
	Addr string
	// Op is the command, such as `UID FETCH "INBOX"` or "RETR 3".
	Op string
	// Kind is a sentinel of this package (ErrUnavailable, ErrAuth…); nil
	// for context errors and the caller's own errors, which are the Cause.
	Kind error
	// Detail says what happened, such as the server's words; may be empty,
	// and then the text shows Cause instead.
	Detail string
	// Hint says what the user can do about it, the one hint of the error:
	// callers add their own only when HintOf finds none. May be empty.
	Hint string
	// Cause is the underlying error when it is worth matching (a context,
	// network, TLS or certificate error, or the caller's own); may be nil.
	Cause error
}

// Error returns "PROTOCOL account "ACCOUNT" (ADDR): OP: KIND: DETAIL (HINT)",
// with Cause's text when Detail is empty and without the parts that are
// empty.
func (e *OpError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s account %q (%s): %s", e.Protocol, e.Account, e.Addr, e.Op)
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	switch {
	case e.Detail != "":
		b.WriteString(": ")
		b.WriteString(e.Detail)
	case e.Cause != nil:
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns Kind and Cause, those that are set, so that errors.Is
// finds the sentinel and errors.As the cause.
func (e *OpError) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// HintOf returns the Hint of the first *OpError in err's chain that has
// one, "" when there is none: a caller that wants to add advice adds it
// only then, so that an error carries one hint.
func HintOf(err error) string {
	for err != nil {
		var oe *OpError
		if !errors.As(err, &oe) {
			return ""
		}
		if oe.Hint != "" {
			return oe.Hint
		}
		err = oe.Cause
	}
	return ""
}
