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
	var refused *startTLSRefused
	if errors.As(err, &refused) {
		return s.newErr(op, remote.ErrUnavailable, refused.Error(),
			`the server does not offer STARTTLS: set tls = "implicit", usually on port 993`, nil)
	}
	if p, ok := clienterr.DescribeTLS(err, "imap"); ok {
		return s.newErr(op, remote.ErrUnavailable, p.Detail, p.Hint, clienterr.KeepCause(err))
	}
	return s.newErr(op, remote.ErrUnavailable, "connection failed: "+err.Error(), "", clienterr.KeepCause(err))
}

// codeKinds is the sentinel of each response code (RFC 5530, RFC 9051,
// RFC 7889) that says what kind of failure a tagged NO is. Codes not
// listed (ALERT, or none) are classified by serverErrKind from the text.
var codeKinds = map[imap.ResponseCode]error{
	// The thing is not there: ENOENT.
	imap.ResponseCodeNonExistent: remote.ErrNotFound,
	imap.ResponseCodeTryCreate:   remote.ErrNotFound,
	codeExpungeIssued:            remote.ErrNotFound,
	// The server's own trouble, often temporary: EIO.
	imap.ResponseCodeUnavailable: remote.ErrUnavailable,
	imap.ResponseCodeServerBug:   remote.ErrUnavailable,
	imap.ResponseCodeInUse:       remote.ErrUnavailable,
	imap.ResponseCodeLimit:       remote.ErrUnavailable,
	imap.ResponseCodeCorruption:  remote.ErrUnavailable,
	imap.ResponseCodeTooMany:     remote.ErrUnavailable,
	imap.ResponseCodeUnknownCTE:  remote.ErrUnavailable,
	// The server says mailfs spoke wrongly: a protocol disagreement the
	// user cannot fix, EIO.
	imap.ResponseCodeClientBug:  remote.ErrUnavailable,
	imap.ResponseCodeParse:      remote.ErrUnavailable,
	imap.ResponseCodeBadCharset: remote.ErrUnavailable,
	// The login or the account: EACCES.
	imap.ResponseCodeAuthenticationFailed: remote.ErrAuth,
	imap.ResponseCodeAuthorizationFailed:  remote.ErrAuth,
	imap.ResponseCodeExpired:              remote.ErrAuth,
	imap.ResponseCodePrivacyRequired:      remote.ErrAuth,
	imap.ResponseCodeContactAdmin:         remote.ErrAuth,
	// Refusals like a permission: EACCES.
	imap.ResponseCodeNoPerm:    remote.ErrRefused,
	imap.ResponseCodeCannot:    remote.ErrRefused,
	imap.ResponseCodeNoPrivate: remote.ErrRefused,
	codeReadOnly:               remote.ErrRefused,
	// Classes with an errno of their own.
	imap.ResponseCodeOverQuota:     remote.ErrQuota,    // EDQUOT
	imap.ResponseCodeTooBig:        remote.ErrTooBig,   // EFBIG
	imap.ResponseCodeAlreadyExists: remote.ErrExists,   // EEXIST
	imap.ResponseCodeHasChildren:   remote.ErrNotEmpty, // ENOTEMPTY
}

// codeExpungeIssued is RFC 5530's EXPUNGEISSUED, which go-imap does not
// name: some of the messages asked for were expunged by another session.
const codeExpungeIssued imap.ResponseCode = "EXPUNGEISSUED"

// codeReadOnly is READ-ONLY, the code of an EXAMINE's OK, which some
// servers also put on the NO to a change of a mailbox the user may only
// read.
const codeReadOnly imap.ResponseCode = "READ-ONLY"

// serverErrKind classifies a tagged NO or BAD. A BAD means the server did
// not understand what mailfs sent: ErrUnavailable. A NO with a known code
// gets the code's sentinel (codeKinds). A NO without one is read for words:
// "no such mailbox" is ErrNotFound, "permission denied", "read-only" and
// the like ErrRefused, "already exists" ErrExists, "has children"
// ErrNotEmpty; anything else is the server failing to carry out the
// command, ErrUnavailable — EACCES only when the server says it is a
// matter of permission.
func serverErrKind(ie *imap.Error) error {
	if ie.Type == imap.StatusResponseTypeBad {
		return remote.ErrUnavailable
	}
	if kind, ok := codeKinds[imap.ResponseCode(strings.ToUpper(string(ie.Code)))]; ok {
		return kind
	}
	switch {
	case looksLikeNoSuchMailbox(ie.Text):
		// IMAP4rev1 servers without RFC 5530 codes say it in words only.
		return remote.ErrNotFound
	case looksLikePermission(ie.Text):
		return remote.ErrRefused
	case containsAny(ie.Text, "already exists"):
		// CREATE or RENAME onto an existing mailbox, without ALREADYEXISTS.
		return remote.ErrExists
	case containsAny(ie.Text, "has children", "has inferior"):
		// DELETE of a mailbox with children, without HASCHILDREN.
		return remote.ErrNotEmpty
	}
	return remote.ErrUnavailable
}

// containsAny reports whether text contains one of words, ignoring case.
func containsAny(text string, words ...string) bool {
	t := strings.ToLower(text)
	for _, w := range words {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// serverTrouble reports whether a NO carries a code that puts the failure
// on the server (codeKinds maps it to ErrUnavailable): at login, such a NO
// says nothing about the credentials.
func serverTrouble(ie *imap.Error) bool {
	return ie.Type == imap.StatusResponseTypeNo && codeKinds[imap.ResponseCode(strings.ToUpper(string(ie.Code)))] == remote.ErrUnavailable
}

// expungeIssued reports whether err is a NO [EXPUNGEISSUED]: a FETCH
// whose answer lacks only the messages expunged meanwhile. Fetch, Flags
// and the listing take it as complete, since the contract has a missing
// UID mean an expunged message.
func expungeIssued(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && strings.EqualFold(string(ie.Code), string(codeExpungeIssued))
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

func looksLikePermission(text string) bool {
	t := strings.ToLower(text)
	for _, s := range []string{"permission denied", "access denied", "not allowed", "not permitted", "insufficient rights", "no permission", "read-only", "read only"} {
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
