package fs

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	"mailfs/remote"
)

// account is one mounted account: its name, its Source and the mount's
// shared state. It is immutable.
type account struct {
	name string
	src  Source
	st   *mountState
}

// fail logs a failed operation once, with the account and the given
// attributes (mailbox, uid), and returns its errno. An expected outcome (a
// missing message) is logged at debug level only; a cancelled call is not
// expected, since no request is cancelled by the kernel's INTERRUPT, and is
// logged as a failure like any other.
func (a *account) fail(ctx context.Context, op string, err error, attrs ...any) syscall.Errno {
	errno := Errno(err)
	level := slog.LevelWarn
	if errors.Is(err, remote.ErrNotFound) || errors.Is(err, remote.ErrTooManyDeletes) {
		level = slog.LevelDebug // the guard logs its refusals itself, once a minute
	}
	args := append([]any{"account", a.name}, attrs...)
	args = append(args, "errno", errno.Error(), "err", err)
	a.st.log.Log(ctx, level, op+" failed", args...)
	return errno
}

// writable reports whether the account's Source supports any change to
// its mailboxes (rm, mv, mkdir, rmdir, cp into a folder): its directories
// are then shown 0700.
func (a *account) writable() bool {
	switch a.src.(type) {
	case Remover, Mover, FolderEditor, Appender:
		return true
	}
	return false
}
