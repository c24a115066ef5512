package fs

import (
	"context"
	"errors"
	"syscall"

	"mailfs/remote"
)

// Errno maps an error from a Source (or the files it hands out) to the errno
// the filesystem returns. It is the one place where this happens:
//
//   - nil: 0
//   - context.Canceled (the caller was interrupted): EINTR
//   - remote.ErrNotFound: ENOENT
//   - remote.ErrAuth and remote.ErrRefused: EACCES
//   - remote.ErrUIDValidity: ESTALE (the UIDs the kernel knows are void)
//   - remote.ErrUnavailable: EIO
//   - an error wrapping a syscall.Errno (a local file error): that errno
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
	case errors.Is(err, remote.ErrAuth), errors.Is(err, remote.ErrRefused):
		return syscall.EACCES
	case errors.Is(err, remote.ErrUIDValidity):
		return syscall.ESTALE
	case errors.Is(err, remote.ErrUnavailable):
		return syscall.EIO
	case errors.As(err, &errno) && errno != 0:
		return errno
	default:
		return syscall.EIO
	}
}
