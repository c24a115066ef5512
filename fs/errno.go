package fs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"syscall"

	"mailfs/outbox"
	"mailfs/remote"
)

// Errno maps an error from a Source, the outbox (or the files they hand
// out) to the errno the filesystem returns. It is the one place where this
// happens, in this order (the first that matches wins):
//
//   - nil: 0
//   - context.Canceled and context.DeadlineExceeded: EIO. The kernel's
//     INTERRUPT never cancels a request (see uninterruptible), so a
//     cancelled call is work the mount gave up (shutting down, a
//     timeout), not a caller that wants EINTR; EINTR is never an answer,
//     since programs do not retry stat, open or read on it
//   - remote.ErrNotFound: ENOENT
//   - outbox.ErrInvalid (a message that cannot be sent as written),
//     outbox.ErrBadName and remote.ErrInvalid (a flag or message the
//     user gave that cannot be stored): EINVAL
//   - outbox.ErrBusy (the message is being sent): EBUSY
//   - outbox.ErrNameInUse (a rename onto a queued or failed message's
//     name) and fs.ErrExist: EEXIST; outbox.ErrMessageName: EPERM
//   - remote.ErrQuota: EDQUOT; remote.ErrTooBig: EFBIG;
//     remote.ErrExists: EEXIST; remote.ErrNotEmpty: ENOTEMPTY
//   - remote.ErrUnsupported (the server lacks what the change needs,
//     such as UIDPLUS for removing one message): ENOTSUP
//   - remote.ErrAuth and remote.ErrRefused: EACCES
//   - remote.ErrUIDValidity: ESTALE (the UIDs the kernel knows are void)
//   - remote.ErrUnavailable: EIO
//   - a network, TLS or certificate error anywhere in the chain (a
//     *net.OpError, *net.DNSError, net.ErrClosed, tls.RecordHeaderError,
//     *tls.CertificateVerificationError, an x509 error) that reached here
//     without a sentinel: EIO. The errno such an error wraps (ECONNRESET,
//     EPIPE, ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH, even EACCES from a
//     firewalled connect) describes a socket, not the file: it never
//     passes through
//   - an error wrapping a syscall.Errno that a Source or a local file
//     operation means for the caller (passThrough: ENOENT, EEXIST,
//     ENOTEMPTY, EINVAL, ENOSPC, EDQUOT, EFBIG, EACCES, EPERM…): that
//     errno. Any other errno (EINTR, EAGAIN, EIO, ENOMEM…) becomes EIO
//   - fs.ErrNotExist without an errno (the outbox has no such message):
//     ENOENT
//   - os.ErrClosed (writing to a draft that was already committed): EBADF
//   - anything else: EIO
func Errno(err error) syscall.Errno {
	var errno syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return syscall.EIO
	case errors.Is(err, remote.ErrNotFound):
		return syscall.ENOENT
	case errors.Is(err, outbox.ErrInvalid), errors.Is(err, outbox.ErrBadName), errors.Is(err, remote.ErrInvalid):
		return syscall.EINVAL
	case errors.Is(err, outbox.ErrNameInUse):
		return syscall.EEXIST
	case errors.Is(err, outbox.ErrMessageName):
		return syscall.EPERM
	case errors.Is(err, outbox.ErrBusy):
		return syscall.EBUSY
	case errors.Is(err, remote.ErrQuota):
		return syscall.EDQUOT
	case errors.Is(err, remote.ErrTooBig):
		return syscall.EFBIG
	case errors.Is(err, remote.ErrExists):
		return syscall.EEXIST
	case errors.Is(err, remote.ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, remote.ErrUnsupported):
		return syscall.ENOTSUP
	case errors.Is(err, remote.ErrAuth), errors.Is(err, remote.ErrRefused):
		return syscall.EACCES
	case errors.Is(err, remote.ErrUIDValidity):
		return syscall.ESTALE
	case errors.Is(err, remote.ErrUnavailable):
		return syscall.EIO
	case isNetworkError(err):
		return syscall.EIO
	case errors.As(err, &errno) && passThrough[errno]:
		return errno
	case errno != 0: // set by the errors.As above: an errno not passed on
		return syscall.EIO
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, os.ErrClosed):
		return syscall.EBADF
	default:
		return syscall.EIO
	}
}

// passThrough holds the errnos that Errno passes on as they are: those a
// Source returns on purpose (pop3store's ENOTEMPTY, EEXIST, EINVAL) and
// those of local files (the cache, the POP3 store, the spool) that tell the
// caller something true about the file or the disk. An errno not listed
// here describes no file (EINTR, EAGAIN, the socket errnos) and becomes
// EIO.
var passThrough = map[syscall.Errno]bool{
	syscall.ENOENT:       true,
	syscall.EEXIST:       true,
	syscall.ENOTEMPTY:    true,
	syscall.ENOTDIR:      true,
	syscall.EISDIR:       true,
	syscall.ENAMETOOLONG: true,
	syscall.EINVAL:       true,
	syscall.EXDEV:        true,
	syscall.EACCES:       true,
	syscall.EPERM:        true,
	syscall.EROFS:        true,
	syscall.ENOSPC:       true,
	syscall.EDQUOT:       true,
	syscall.EFBIG:        true,
	syscall.EMFILE:       true,
	syscall.ENFILE:       true,
	syscall.EBADF:        true,
	syscall.ENOTSUP:      true,
}

// isNetworkError reports whether err's chain holds an error of a
// connection: the net package's (not net.Error, which every
// syscall.Errno satisfies), a deadline's, or a TLS or certificate failure.
func isNetworkError(err error) bool {
	var (
		opErr    *net.OpError
		dnsErr   *net.DNSError
		addrErr  *net.AddrError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.As(err, &addrErr) ||
		errors.As(err, &recErr) || errors.As(err, &alertErr) || errors.As(err, &certErr) ||
		errors.As(err, &unknown) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded)
}
