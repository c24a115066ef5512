package imap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailfs/remote"
)

// opError is every error the package returns: it names the account, the
// server and the command, wraps a remote sentinel (kind) and, where it is a
// standard-library error, the cause. Library errors are reduced to their text.
type opError struct {
	account string
	addr    string
	op      string // the command, e.g. `UID FETCH "INBOX"`
	kind    error  // a remote sentinel; nil for context errors
	detail  string // what happened, e.g. the server's words
	hint    string // what to do, may be empty
	cause   error  // wrapped when it is a standard error; may be nil
}

func (e *opError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "imap account %q (%s): %s", e.account, e.addr, e.op)
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

// errNoResponse is the watchdog's verdict when the server stayed silent.
var errNoResponse = errors.New("no response from the server")

// newErr builds an opError for the store's account and server.
func (s *Store) newErr(op string, kind error, detail, hint string, cause error) error {
	return &opError{account: s.opts.Account, addr: s.addr, op: op, kind: kind, detail: detail, hint: hint, cause: cause}
}

// mapErr turns the error of a command into an opError. killed is the
// watchdog's reason when it closed the connection (ctx error or
// errNoResponse), nil otherwise: it takes precedence, since the command then
// failed only because its connection was closed under it.
func (s *Store) mapErr(op string, err, killed error) error {
	if err == nil && killed == nil {
		return nil
	}
	switch {
	case killed == errNoResponse:
		return s.newErr(op, remote.ErrUnavailable,
			fmt.Sprintf("no response from the server for %s, connection closed", s.opts.CommandTimeout),
			"check the network; the server may be overloaded", nil)
	case killed != nil:
		return s.newErr(op, nil, "", "", killed)
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return s.newErr(op, serverErrKind(ie), serverWords(ie), "", nil)
	}
	if ctxErr := contextErr(err); ctxErr != nil {
		return s.newErr(op, nil, "", "", ctxErr)
	}
	return s.newErr(op, remote.ErrUnavailable, "connection failed: "+err.Error(), tlsHint(err), keepCause(err))
}

// serverErrKind classifies a tagged NO or BAD.
func serverErrKind(ie *imap.Error) error {
	switch ie.Code {
	case imap.ResponseCodeNonExistent, imap.ResponseCodeTryCreate:
		return remote.ErrNotFound
	case imap.ResponseCodeUnavailable:
		return remote.ErrUnavailable
	case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed, imap.ResponseCodeExpired:
		return remote.ErrAuth
	}
	if ie.Code == "" && ie.Type == imap.StatusResponseTypeNo && looksLikeNoSuchMailbox(ie.Text) {
		// IMAP4rev1 servers without RFC 5530 codes say it in words only.
		return remote.ErrNotFound
	}
	return remote.ErrRefused
}

func looksLikeNoSuchMailbox(text string) bool {
	t := strings.ToLower(text)
	for _, s := range []string{"no such mailbox", "mailbox doesn't exist", "mailbox does not exist", "unknown mailbox", "mailbox not found"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// serverWords renders a NO/BAD as the server said it.
func serverWords(ie *imap.Error) string {
	var b strings.Builder
	b.WriteString("server said ")
	b.WriteString(string(ie.Type))
	if ie.Code != "" {
		b.WriteString(" [")
		b.WriteString(string(ie.Code))
		b.WriteString("]")
	}
	if ie.Text != "" {
		b.WriteString(" ")
		b.WriteString(ie.Text)
	}
	return b.String()
}

// isServerNo reports whether err is a tagged NO/BAD (the connection is fine).
func isServerNo(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie)
}

func contextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}

// keepCause returns err when its chain holds only standard-library errors
// worth matching (network, TLS, certificates, EOF), nil otherwise.
func keepCause(err error) error {
	var (
		netErr  net.Error
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
	)
	if errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &certErr) || errors.As(err, &recErr) ||
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
