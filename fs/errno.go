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
//   - context.Canceled (the caller was interrupted): EINTR
//   - remote.ErrNotFound: ENOENT
//   - outbox.ErrInvalid (a message that cannot be sent as written) and
//     outbox.ErrBadName: EINVAL
//   - outbox.ErrBusy (the message is being sent): EBUSY
//   - remote.ErrAuth and remote.ErrRefused: EACCES
//   - remote.ErrUIDValidity: ESTALE (the UIDs the kernel knows are void)
//   - remote.ErrUnavailable: EIO
//   - an error wrapping a syscall.Errno (a local file error, or a Source
//     that says which errno it means, such as ENOTEMPTY or EEXIST): that
//     errno
//   - fs.ErrNotExist without an errno (the outbox has no such message):
//     ENOENT
//   - os.ErrClosed (writing to a draft that was already committed): EBADF
//   - anything else: EIO
func Errno(err error) syscall.Errno {
	var errno syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
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
