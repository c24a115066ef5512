package pop3store

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors of local changes. Each wraps the errno the filesystem
// should answer, so fs.Errno maps them without knowing this package
// (errors.As finds the syscall.Errno); callers test them with errors.Is.
// Missing mailboxes and messages give errors wrapping remote.ErrNotFound,
// refused operations (renaming or deleting INBOX) remote.ErrRefused.
var (
	// ErrNotEmpty means a mailbox to delete still holds messages or
	// child mailboxes.
	ErrNotEmpty = fmt.Errorf("mailbox not empty: %w", syscall.ENOTEMPTY)
	// ErrExists means a mailbox of that name already exists.
	ErrExists = fmt.Errorf("mailbox exists: %w", syscall.EEXIST)
	// ErrInvalid means an argument is unusable: a mailbox name that is
	// empty or malformed, or a message to append that does not parse.
	ErrInvalid = fmt.Errorf("invalid: %w", syscall.EINVAL)
)

// errClosed is returned by calls on a closed Store.
var errClosed = errors.New("pop3 store closed")
