package fs

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/remote"
)

// messageNode is a message file. Its name, date and body never change; its
// size is the listed RFC822.SIZE until an opened body says otherwise.
type messageNode struct {
	gofs.Inode
	acct *account
	// mailbox is the name of the message's mailbox; it changes only when
	// the mailbox, or one above it, is renamed (mv DIR).
	mailbox     atomic.Pointer[string]
	uidValidity uint32
	info        remote.MessageInfo // immutable but for Flags, which are not used here
	// size is the size reported to the kernel: info.Size, or the size of
	// the body file once one was opened.
	size atomic.Int64
	// opened is set once a body was opened and size is its size: later
	// opens need not ask the Source before a READ does.
	opened atomic.Bool

	lazyMu sync.Mutex
	// lazy are the open handles that have no body file yet (guarded by
	// lazyMu): pin gives them one when the message is about to vanish.
	lazy map[*messageHandle]struct{}
}

var (
	_ = (gofs.NodeGetattrer)((*messageNode)(nil))
	_ = (gofs.NodeSetattrer)((*messageNode)(nil))
	_ = (gofs.NodeOpener)((*messageNode)(nil))
)

func newMessageNode(a *account, mailbox string, uidValidity uint32, info remote.MessageInfo) *messageNode {
	n := &messageNode{acct: a, uidValidity: uidValidity, info: info}
	n.mailbox.Store(&mailbox)
	n.size.Store(info.Size)
	return n
}

// mailboxName returns the name of the message's mailbox.
func (n *messageNode) mailboxName() string {
	return *n.mailbox.Load()
}

// fillAttr fills the attributes of the message file.
func (n *messageNode) fillAttr(a *fuse.Attr) {
	a.Mode = fuse.S_IFREG | filePerm
	a.Nlink = 2 // its .eml name and its name in the Maildir view
	a.Size = uint64(max(n.size.Load(), 0))
	setTimes(a, n.info.InternalDate)
	a.Owner = fuse.Owner{Uid: n.acct.st.uid, Gid: n.acct.st.gid}
}

// Getattr reports a read-only regular file with the message's size and
// INTERNALDATE as mtime; the kernel may keep it for an hour.
func (n *messageNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fillAttr(&out.Attr)
	out.SetTimeout(fileTimeout)
	return 0
}

// Setattr refuses every change (truncate, chmod, touch): messages are
// immutable.
func (n *messageNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EACCES
}

// Open opens the message read-only (anything else fails with EACCES). The
// first open opens the body through the Source (fetching it when it is not
// cached) and corrects the size; later ones answer from memory and leave
// the body to the first READ, which the kernel sends only for pages it
// does not have: it keeps them across opens. Such a handle is known to the
// node until it has a body file (lazy), so that when the Source reports
// the message gone, pin opens the body for it before the Source deletes
// the file: a descriptor reads its message to the end even when the
// message is expunged before its first READ.
func (n *messageNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EACCES
	}
	if n.opened.Load() {
		h := &messageHandle{n: n}
		n.lazyMu.Lock()
		if n.lazy == nil {
			n.lazy = map[*messageHandle]struct{}{}
		}
		n.lazy[h] = struct{}{}
		n.lazyMu.Unlock()
		return h, messageOpenFlags, 0
	}
	f, resized, errno := n.openBody(ctx)
	if errno != 0 {
		return nil, 0, errno
	}
	if resized {
		// Drop the attributes (and any pages) the kernel holds with the
		// old size before the first read. This is an inode notification:
		// it takes no directory lock, so it is safe inside Open.
		n.NotifyContent(0, 0)
	}
	return &messageHandle{n: n, f: f}, messageOpenFlags, 0
}

// forget drops h from the handles without a body file.
func (n *messageNode) forget(h *messageHandle) {
	n.lazyMu.Lock()
	delete(n.lazy, h)
	n.lazyMu.Unlock()
}

// pin opens the body for every open handle that has none yet, while the
// Source still has it: the message is about to vanish (see Watched).
func (n *messageNode) pin(ctx context.Context) {
	n.lazyMu.Lock()
	hs := make([]*messageHandle, 0, len(n.lazy))
	for h := range n.lazy {
		hs = append(hs, h)
	}
	n.lazyMu.Unlock()
	for _, h := range hs {
		h.file(ctx) // an error is the READ's to report
	}
}

// messageOpenFlags are the flags of an open message: the kernel keeps its
// pages across opens (FOPEN_KEEP_CACHE) and sends no FLUSH when it is
// closed (FOPEN_NOFLUSH: there is nothing to flush), so a warm read costs
// an OPEN, answered from memory, and a RELEASE, which close does not wait
// for.
const messageOpenFlags = fuse.FOPEN_KEEP_CACHE | fuse.FOPEN_NOFLUSH

// openBody opens the body through the Source and makes the size reported
// to the kernel the body's; resized says that it changed, and the caller
// tells the kernel.
func (n *messageNode) openBody(ctx context.Context) (f *os.File, resized bool, errno syscall.Errno) {
	mailbox := n.mailboxName()
	f, err := n.acct.src.Open(ctx, mailbox, n.uidValidity, n.info.UID)
	if err != nil {
		return nil, false, n.acct.fail(ctx, "open message", err, "mailbox", mailbox, "uid", n.info.UID)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, n.acct.fail(ctx, "stat message body", err, "mailbox", mailbox, "uid", n.info.UID)
	}
	size := fi.Size()
	if old := n.size.Swap(size); old != size {
		n.acct.st.log.Log(ctx, slog.LevelDebug, "message size differs from listing",
			"account", n.acct.name, "mailbox", mailbox, "uid", n.info.UID, "listed", n.info.Size, "size", size, "was", old)
		resized = true
	}
	n.opened.Store(true)
	return f, resized, 0
}
