package pop3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"mailfs/remote"
)

// opError is every error the package returns: it names the account, the
// server and the command, wraps a remote sentinel (kind) and, where it is a
// standard-library error, the cause.
type opError struct {
	account string
	addr    string
	op      string // the command, e.g. "RETR 3"
	kind    error  // a remote sentinel; nil for context and local write errors
	detail  string // what happened, e.g. the server's words
	hint    string // what to do, may be empty
	cause   error  // wrapped; may be nil
}

func (e *opError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pop3 account %q (%s): %s", e.account, e.addr, e.op)
	if e.kind != nil {
		b.WriteString(": ")
		b.WriteString(e.kind.Error())
	}
	switch {
	case e.detail != "":
		b.WriteString(": ")
		b.WriteString(e.detail)
	case e.cause != nil:
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	if e.hint != "" {
		b.WriteString(" (")
		b.WriteString(e.hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *opError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

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

// temporary reports whether the reply says the maildrop is busy or the
// server is in trouble, rather than that the request is wrong.
func (e *serverError) temporary() bool {
	switch e.code() {
	case "IN-USE", "SYS/TEMP":
		return true
	}
	return false
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

// newErr builds an opError for the client's account and server.
func (c *Client) newErr(op string, kind error, detail, hint string, cause error) error {
	return &opError{account: c.opts.Account, addr: c.addr, op: op, kind: kind, detail: detail, hint: hint, cause: cause}
}

// mapErr turns the error of a command into an opError. killed is ctx's
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
		kind := remote.ErrRefused
		if se.temporary() {
			kind = remote.ErrUnavailable
		}
		return c.newErr(op, kind, scrub(se.Error(), secret), "", nil)
	case errors.As(err, &pe):
		return c.newErr(op, remote.ErrUnavailable, scrub(pe.Error(), secret), "the server broke the protocol; connection closed", nil)
	case errors.As(err, &we):
		return c.newErr(op, nil, "", "", we)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return c.newErr(op, nil, "", "", err)
	case isTimeout(err):
		return c.newErr(op, remote.ErrUnavailable,
			fmt.Sprintf("no response from the server for %s, connection closed", c.opts.CommandTimeout),
			"check the network; the server may be overloaded", errNoResponse)
	}
	return c.newErr(op, remote.ErrUnavailable, "connection failed: "+scrub(err.Error(), secret), tlsHint(err), keepCause(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// keepCause returns err when its chain holds only standard-library errors
// worth matching (network, TLS, certificates, EOF), nil otherwise.
func keepCause(err error) error {
	var (
		netErr  net.Error
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
	)
	if errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &certErr) || errors.As(err, &recErr) ||
		errors.As(err, &unknown) || errors.As(err, &hostErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// tlsHint says what to do about a TLS failure, "" when err is something else.
func tlsHint(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recErr    tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknownCA):
		return "the server's certificate is not signed by a trusted authority: check tls_ca_file"
	case errors.As(err, &hostErr):
		return "the certificate does not name this host: check host"
	case errors.As(err, &invalid):
		return "the server's certificate is invalid or expired: check tls_ca_file and the server's certificate"
	case errors.As(err, &recErr):
		return "the server does not speak TLS on this port: check tls (implicit, starttls) and port"
	}
	return ""
}

// scrub removes secret from text, in case a server echoes it.
func scrub(text, secret string) string {
	if secret == "" {
		return text
	}
	return strings.ReplaceAll(text, secret, "***")
}
