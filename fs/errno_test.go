package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"mailfs/cache/pop3store"
	"mailfs/outbox"
	"mailfs/remote"
)

func TestErrno(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("fetch INBOX/7: %w", err) }
	tests := []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{wrap(remote.ErrNotFound), syscall.ENOENT},
		{wrap(remote.ErrUnavailable), syscall.EIO},
		{wrap(remote.ErrAuth), syscall.EACCES},
		{wrap(remote.ErrRefused), syscall.EACCES},
		{wrap(remote.ErrUIDValidity), syscall.ESTALE},
		// Never EINTR: nothing retries it.
		{wrap(context.Canceled), syscall.EIO},
		{fmt.Errorf("a: %w", wrap(context.Canceled)), syscall.EIO},
		{errors.Join(context.Canceled, remote.ErrNotFound), syscall.EIO},
		{&os.PathError{Op: "read", Path: "/x", Err: syscall.EINTR}, syscall.EIO},
		{&os.PathError{Op: "open", Path: "/x", Err: syscall.ENOSPC}, syscall.ENOSPC},
		{wrap(fs.ErrNotExist), syscall.ENOENT}, // the outbox's "no such message"
		{wrap(outbox.ErrInvalid), syscall.EINVAL},
		{wrap(outbox.ErrBadName), syscall.EINVAL},
		{wrap(outbox.ErrBusy), syscall.EBUSY},
		{wrap(os.ErrClosed), syscall.EBADF},
		{wrap(pop3store.ErrNotEmpty), syscall.ENOTEMPTY},
		{wrap(pop3store.ErrExists), syscall.EEXIST},
		{wrap(pop3store.ErrInvalid), syscall.EINVAL},
		{wrap(context.DeadlineExceeded), syscall.EIO},
		{errors.New("boom"), syscall.EIO},
	}
	for _, tt := range tests {
		if got := Errno(tt.err); got != tt.want {
			t.Errorf("Errno(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
