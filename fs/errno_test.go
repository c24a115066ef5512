package fs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"

	"mailfs/cache/pop3store"
	"mailfs/outbox"
	"mailfs/remote"
)

// netErr is a socket error as the net package returns it: the errno
// wrapped in an *os.SyscallError inside a *net.OpError.
func netErr(op string, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
}

// opErr is an error of a protocol client, as remote/imap returns it.
func opErr(kind, cause error) error {
	return &remote.OpError{Protocol: "imap", Account: "a", Addr: "h:993", Op: "UID FETCH", Kind: kind, Detail: "x", Cause: cause}
}

func TestErrno(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("fetch INBOX/7: %w", err) }
	tests := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"nil", nil, 0},
		{"not found", wrap(remote.ErrNotFound), syscall.ENOENT},
		{"unavailable", wrap(remote.ErrUnavailable), syscall.EIO},
		{"auth", wrap(remote.ErrAuth), syscall.EACCES},
		{"refused", wrap(remote.ErrRefused), syscall.EACCES},
		{"uidvalidity", wrap(remote.ErrUIDValidity), syscall.ESTALE},
		{"quota", wrap(remote.ErrQuota), syscall.EDQUOT},
		{"too big", wrap(remote.ErrTooBig), syscall.EFBIG},
		{"unsupported", wrap(remote.ErrUnsupported), syscall.ENOTSUP},
		{"invalid flag", wrap(remote.ErrInvalid), syscall.EINVAL},
		{"exists", wrap(remote.ErrExists), syscall.EEXIST},
		{"not empty", wrap(remote.ErrNotEmpty), syscall.ENOTEMPTY},
		// Never EINTR: nothing retries it.
		{"canceled", wrap(context.Canceled), syscall.EIO},
		{"canceled, twice wrapped", fmt.Errorf("a: %w", wrap(context.Canceled)), syscall.EIO},
		{"canceled beside not found", errors.Join(context.Canceled, remote.ErrNotFound), syscall.EIO},
		{"EINTR of a file", &os.PathError{Op: "read", Path: "/x", Err: syscall.EINTR}, syscall.EIO},
		{"deadline", wrap(context.DeadlineExceeded), syscall.EIO},
		// Local files and Sources: the errno they mean passes.
		{"disk full", &os.PathError{Op: "open", Path: "/x", Err: syscall.ENOSPC}, syscall.ENOSPC},
		{"quota of the local disk", &os.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}, syscall.EDQUOT},
		{"cache dir not readable", &os.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, syscall.EACCES},
		{"read-only disk", &os.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}, syscall.EROFS},
		{"pop3store not empty", wrap(pop3store.ErrNotEmpty), syscall.ENOTEMPTY},
		{"pop3store exists", wrap(pop3store.ErrExists), syscall.EEXIST},
		{"pop3store invalid", wrap(pop3store.ErrInvalid), syscall.EINVAL},
		// An errno that describes no file becomes EIO.
		{"EAGAIN", &os.PathError{Op: "read", Path: "/x", Err: syscall.EAGAIN}, syscall.EIO},
		{"EIO of the disk", &os.PathError{Op: "read", Path: "/x", Err: syscall.EIO}, syscall.EIO},
		{"outbox: no such message", wrap(fs.ErrNotExist), syscall.ENOENT},
		{"outbox invalid", wrap(outbox.ErrInvalid), syscall.EINVAL},
		{"outbox bad name", wrap(outbox.ErrBadName), syscall.EINVAL},
		{"outbox busy", wrap(outbox.ErrBusy), syscall.EBUSY},
		{"outbox name in use", wrap(outbox.ErrNameInUse), syscall.EEXIST},
		{"outbox message name", wrap(outbox.ErrMessageName), syscall.EPERM},
		{"exists", wrap(fs.ErrExist), syscall.EEXIST},
		{"draft closed", wrap(os.ErrClosed), syscall.EBADF},
		{"anything else", errors.New("boom"), syscall.EIO},
	}
	for _, tt := range tests {
		if got := Errno(tt.err); got != tt.want {
			t.Errorf("%s: Errno(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestErrnoNetwork: a network, TLS or certificate failure is EIO however it
// arrives — with remote.ErrUnavailable as a protocol client maps it, or
// bare, as a callback's own error that wrapped a connection's read. The
// socket's errno never passes through, not even one (EACCES, EPERM) that a
// local file could mean.
func TestErrnoNetwork(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("write cached body: %w", err) }
	causes := []struct {
		name string
		err  error
	}{
		{"reset", netErr("read", syscall.ECONNRESET)},
		{"broken pipe", netErr("write", syscall.EPIPE)},
		{"timed out", netErr("read", syscall.ETIMEDOUT)},
		{"refused", netErr("dial", syscall.ECONNREFUSED)},
		{"host unreachable", netErr("dial", syscall.EHOSTUNREACH)},
		{"network unreachable", netErr("dial", syscall.ENETUNREACH)},
		{"aborted", netErr("read", syscall.ECONNABORTED)},
		{"firewalled connect", netErr("dial", syscall.EACCES)},
		{"not permitted connect", netErr("dial", syscall.EPERM)},
		{"closed", fmt.Errorf("read: %w", net.ErrClosed)},
		{"deadline", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}},
		{"dns", &net.DNSError{Err: "no such host", Name: "imap.example", IsNotFound: true}},
		{"unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}},
		{"wrong host", x509.HostnameError{Host: "imap.example"}},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}},
		{"TLS alert", tls.AlertError(40)},
		{"EOF mid-body", io.ErrUnexpectedEOF},
	}
	for _, c := range causes {
		for _, e := range []struct {
			how string
			err error
		}{
			{"bare", c.err},
			{"wrapped by a callback", wrap(c.err)},
			{"ErrUnavailable with the cause", opErr(remote.ErrUnavailable, c.err)},
			{"OpError without a kind", opErr(nil, c.err)},
			{"cache around the client", fmt.Errorf("fetch a/INBOX/7: %w", opErr(remote.ErrUnavailable, c.err))},
		} {
			if got := Errno(e.err); got != syscall.EIO {
				t.Errorf("%s, %s: Errno(%v) = %v (%d), want EIO", c.name, e.how, e.err, got, int(got))
			}
		}
	}
}
