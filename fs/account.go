package fs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"syscall"
	"time"

	"mailfs/remote"
)

// account is one mounted account: its name, its Source and the mount's
// shared state. It is immutable.
type account struct {
	name string
	src  Source
	st   *mountState
	// md is the Maildir view's state of the account.
	md *maildirState
	// watch tells the kernel of changes, on the server or the mount's
	// own; set before the mount serves.
	watch *watcher
	// searches are the account's search folders.
	searches *searchState
	// gen counts the changes the account's watcher was given: a search's
	// results are kept only while it stays the same.
	gen atomic.Uint64
}

// generation returns the count of changes seen so far.
func (a *account) generation() uint64 { return a.gen.Load() }

// own tells the kernel of a change the mount made through one of its
// views, so that the other names of the messages follow (account.watch):
// a message removed through its .eml name leaves the Maildir view, one
// renamed to other flags in the Maildir view takes another name there.
func (a *account) own(ch remote.Change) {
	if a.watch != nil {
		a.watch.queue(ch, true)
	}
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

// level describes the directory of the mailbox levels path (nil for the
// account directory) from the account's mailbox list, refreshed when older
// than maxAge; ENOENT when the list has no such path.
func (a *account) level(ctx context.Context, path []string, maxAge time.Duration) (level, syscall.Errno) {
	mboxes, err := a.src.Mailboxes(ctx, maxAge)
	if err != nil && mboxes == nil {
		return level{}, a.fail(ctx, "list mailboxes", err, "path", path)
	}
	lv := describe(mboxes, path)
	if !lv.exists {
		return level{}, syscall.ENOENT
	}
	return lv, 0
}

// list returns the listing of mailbox, synced when older than maxAge.
func (a *account) list(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, syscall.Errno) {
	l, err := a.src.List(ctx, mailbox, maxAge)
	if err != nil && l == nil {
		return nil, a.fail(ctx, "list mailbox", err, "mailbox", mailbox)
	}
	if l == nil {
		l = &remote.Listing{}
	}
	return l, 0
}
