package pop3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"mailfs/internal/clienterr"
	"mailfs/remote"
)

// serverError is an -ERR reply; the connection is still in step.
type serverError struct {
	text string // the reply without "-ERR "
}

func (e *serverError) Error() string { return "server said -ERR " + e.text }

// code returns the RFC 2449 response code of the reply ("IN-USE",
// "SYS/TEMP"…), upper case, or "".
func (e *serverError) code() string {
	if !strings.HasPrefix(e.text, "[") {
		return ""
	}
	end := strings.IndexByte(e.text, ']')
	if end < 0 {
		return ""
	}
	return strings.ToUpper(e.text[1:end])
}

// codeKinds is the sentinel of each RFC 2449/3206 response code that says
// what kind of failure an -ERR is. A code names a hierarchy
// ("SYS/TEMP/..."): its first levels decide.
var codeKinds = map[string]error{
	// The server's trouble, not the request's: EIO.
	"IN-USE":      remote.ErrUnavailable, // another session holds the maildrop
	"LOGIN-DELAY": remote.ErrUnavailable, // logged in too recently: later
	"SYS/TEMP":    remote.ErrUnavailable, // a temporary system failure
	"SYS/PERM":    remote.ErrUnavailable, // a lasting system failure (the maildrop is damaged…)
	// The credentials: EACCES.
	"AUTH": remote.ErrAuth,
}

// kind returns the sentinel of the reply's class: that of its code
// (codeKinds), and remote.ErrRefused for an -ERR without a known code,
// which says the server refuses this request (a wrong password at login,
// where authErr makes it remote.ErrAuth; a message it will not give).
func (e *serverError) kind() error {
	code := e.code()
	for c := code; c != ""; {
		if k, ok := codeKinds[c]; ok {
			return k
		}
		i := strings.LastIndexByte(c, '/')
		if i < 0 {
			break
		}
		c = c[:i]
	}
	return remote.ErrRefused
}

// protocolError is a reply that breaks the protocol: the session is out of
// step and its connection is closed.
type protocolError struct {
	msg string
}

func (e *protocolError) Error() string { return "protocol error: " + e.msg }

// writeError is a failure of the caller's writer during Retrieve.
type writeError struct {
	err error
}

func (e *writeError) Error() string { return "writing the message: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// errNoResponse is the verdict when the server stayed silent too long.
var errNoResponse = errors.New("no response from the server")

// newErr builds a *remote.OpError for the client's account and server.
// Every error the package returns is one.
func (c *Client) newErr(op string, kind error, detail, hint string, cause error) error {
	return &remote.OpError{Protocol: "pop3", Account: c.opts.Account, Addr: c.addr, Op: op, Kind: kind, Detail: detail, Hint: hint, Cause: cause}
}

// mapErr turns the error of a command into a *remote.OpError. killed is ctx's
// error when the context watcher closed the connection, nil otherwise: it
// takes precedence, since the command then failed only because its
// connection was closed under it. secret, when not empty, is scrubbed from
// every text.
func (c *Client) mapErr(op string, err, killed error, secret string) error {
	if err == nil && killed == nil {
		return nil
	}
	if killed != nil {
		return c.newErr(op, nil, "", "", killed)
	}
	var (
		se *serverError
		pe *protocolError
		we *writeError
	)
	switch {
	case errors.As(err, &se):
		return c.newErr(op, se.kind(), clienterr.Scrub(se.Error(), secret), "", nil)
	case errors.As(err, &pe):
		return c.newErr(op, remote.ErrUnavailable, clienterr.Scrub(pe.Error(), secret), "the server broke the protocol; connection closed", nil)
	case errors.As(err, &we):
		return c.newErr(op, nil, "", "", we)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return c.newErr(op, nil, "", "", err)
	case isTimeout(err):
		return c.newErr(op, remote.ErrUnavailable,
			fmt.Sprintf("no response from the server for %s, connection closed", c.opts.CommandTimeout),
			"check the network; the server may be overloaded", errNoResponse)
	}
	if p, ok := clienterr.DescribeTLS(err, "pop3"); ok {
		return c.newErr(op, remote.ErrUnavailable, p.Detail, p.Hint, clienterr.KeepCause(err))
	}
	return c.newErr(op, remote.ErrUnavailable, "connection failed: "+clienterr.Scrub(err.Error(), secret), "", clienterr.KeepCause(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
