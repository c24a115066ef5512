package fs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"

	"mailfs/outbox"
	"mailfs/remote"
)

// Errno maps an error from a Source, the outbox (or the files they hand
// out) to the errno the filesystem returns. It is the one place where this
// happens:
//
//   - nil: 0
//   - context.Canceled and context.DeadlineExceeded: EIO. The kernel's
//     INTERRUPT never cancels a request (see uninterruptible), so a
//     cancelled call is work the mount gave up (shutting down, a
//     timeout), not a caller that wants EINTR; EINTR is never an answer,
//     since programs do not retry stat, open or read on it
//   - remote.ErrNotFound: ENOENT
//   - outbox.ErrInvalid (a message that cannot be sent as written) and
//     outbox.ErrBadName: EINVAL
//   - outbox.ErrBusy (the message is being sent): EBUSY
//   - remote.ErrAuth and remote.ErrRefused: EACCES
//   - remote.ErrUIDValidity: ESTALE (the UIDs the kernel knows are void)
//   - remote.ErrUnavailable: EIO
//   - an error wrapping a syscall.Errno (a local file error, or a Source
//     that says which errno it means, such as ENOTEMPTY or EEXIST): that
//     errno, except EINTR, which becomes EIO
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
	case errors.Is(err, outbox.ErrInvalid), errors.Is(err, outbox.ErrBadName):
		return syscall.EINVAL
	case errors.Is(err, outbox.ErrBusy):
		return syscall.EBUSY
	case errors.Is(err, remote.ErrAuth), errors.Is(err, remote.ErrRefused):
		return syscall.EACCES
	case errors.Is(err, remote.ErrUIDValidity):
		return syscall.ESTALE
	case errors.Is(err, remote.ErrUnavailable):
		return syscall.EIO
	case errors.As(err, &errno) && errno == syscall.EINTR:
		return syscall.EIO
	case errors.As(err, &errno) && errno != 0:
		return errno
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, os.ErrClosed):
		return syscall.EBADF
	default:
		return syscall.EIO
	}
}
