package imap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/clienterr"
	"mailfs/remote"
)

// errNoResponse is the watchdog's verdict when the server stayed silent.
var errNoResponse = errors.New("no response from the server")

// newErr builds a *remote.OpError for the store's account and server.
// Every error the package returns is one; library errors are reduced to
// their text.
func (s *Store) newErr(op string, kind error, detail, hint string, cause error) error {
	return &remote.OpError{Protocol: "imap", Account: s.opts.Account, Addr: s.addr, Op: op, Kind: kind, Detail: detail, Hint: hint, Cause: cause}
}

// mapErr turns the error of a command into a *remote.OpError. killed is the
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
	return s.newErr(op, remote.ErrUnavailable, "connection failed: "+err.Error(), clienterr.TLSHint(err), clienterr.KeepCause(err))
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
