package fs

import (
	"context"
	"errors"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var _ = (gofs.NodeCreater)((*folderNode)(nil))

// Create starts a message copied into the mailbox (cp FILE.eml DIR/): it is
// buffered in a scratch file and appended through the Source's Appender
// when the file is closed. EACCES without an Appender, EPERM in a directory
// that cannot hold messages.
func (n *folderNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	lv, errno := n.level(ctx, lookupMaxAge)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	mbox, ok := lv.selectable()
	if !ok {
		if _, ok := n.acct.src.(Appender); !ok {
			return nil, nil, 0, syscall.EACCES
		}
		return nil, nil, 0, syscall.EPERM
	}
	return startAppend(ctx, n.acct, &n.Inode, mbox.Name, name, nil, out)
}

// startAppend creates the file name in the directory parent, whose
// close appends it to mailbox with flags.
func startAppend(ctx context.Context, acct *account, parent *gofs.Inode, mailbox, name string, flags []string, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	app, ok := acct.src.(Appender)
	if !ok {
		return nil, nil, 0, syscall.EACCES
	}
	sc, err := newScratch(acct.st.tempDir)
	if err != nil {
		return nil, nil, 0, acct.fail(ctx, "create temporary file", err, "mailbox", mailbox)
	}
	h := &appendHandle{app: app, acct: acct, parent: parent, name: name, mailbox: mailbox, flags: flags, sc: sc}
	ch := parent.NewInode(ctx, &appendNode{h: h}, gofs.StableAttr{Mode: fuse.S_IFREG})
	h.fillAttr(&out.Attr)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return ch, h, 0, 0
}

// appendHandle is a message being copied into a mailbox. FLUSH appends it
// (once: later flushes answer the same), so close fails with EINVAL when it
// is not a message, and nothing is stored; RELEASE drops the scratch file.
type appendHandle struct {
	app     Appender
	acct    *account
	parent  *gofs.Inode // the directory the file was created in
	name    string      // the name the writer gave
	mailbox string
	flags   []string
	sc      *scratch

	// mu guards the fields below.
	mu   sync.Mutex
	done bool // the message was appended, or refused
	err  error
}

var (
	_ = (gofs.FileWriter)((*appendHandle)(nil))
	_ = (gofs.FileReader)((*appendHandle)(nil))
	_ = (gofs.FileFlusher)((*appendHandle)(nil))
	_ = (gofs.FileFsyncer)((*appendHandle)(nil))
	_ = (gofs.FileReleaser)((*appendHandle)(nil))
)

// Write writes into the scratch file.
func (h *appendHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return 0, syscall.EBADF
	}
	n, err := h.sc.writeAt(data, off)
	if err != nil {
		return uint32(n), h.fail(ctx, "write message", err)
	}
	return uint32(n), 0
}

// Read reads back what was written.
func (h *appendHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.sc.readAt(dest, off)
	if err != nil {
		return nil, h.fail(ctx, "read message", err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Flush appends the message. Nothing happens while the file is empty (a
// shell redirection closes the new file once before writing it).
func (h *appendHandle) Flush(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return Errno(h.err)
	}
	msg, size, err := h.sc.content()
	if err != nil || size == 0 {
		return 0
	}
	uid, err := h.app.Append(ctx, h.mailbox, msg, size, h.flags)
	h.done, h.err = true, err
	h.sc.close()
	if err != nil {
		return h.fail(ctx, "append message", err)
	}
	h.acct.st.log.Debug("message appended", "account", h.acct.name, "mailbox", h.mailbox, "uid", uid)
	// The kernel knows this file under the writer's name; the message has
	// the name its UID gives it.
	notifyEntry(h.parent, h.name)
	return 0
}

// Fsync does nothing: Append makes the message durable.
func (h *appendHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return 0
}

// Release drops the scratch file.
func (h *appendHandle) Release(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sc.close()
	h.done = true
	return 0
}

// setattr truncates the file (O_TRUNC, ftruncate) and accepts and ignores
// mode, owner and times (cp -p).
func (h *appendHandle) setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		h.mu.Lock()
		errno := syscall.Errno(0)
		if h.done {
			errno = syscall.EACCES
		} else if err := h.sc.truncate(int64(size)); err != nil {
			errno = h.fail(ctx, "truncate message", err)
		}
		h.mu.Unlock()
		if errno != 0 {
			return errno
		}
	}
	h.fillAttr(&out.Attr)
	out.SetTimeout(outboxTimeout)
	return 0
}

// fillAttr fills the attributes of the file: writable, of the size written
// so far; read-only once appended.
func (h *appendHandle) fillAttr(a *fuse.Attr) {
	h.mu.Lock()
	perm := uint32(draftPerm)
	if h.done {
		perm = filePerm
	}
	h.mu.Unlock()
	h.sc.fillAttr(h.acct.st, a, perm)
}

// fail logs a failed operation on the file and returns its errno.
func (h *appendHandle) fail(ctx context.Context, op string, err error) syscall.Errno {
	if errors.Is(err, errScratchClosed) {
		return syscall.EBADF
	}
	return h.acct.fail(ctx, op, err, "mailbox", h.mailbox, "name", h.name)
}

// appendNode is the file a Create in a mailbox made. The kernel knows it
// under the writer's name for at most a second; the directory lists the
// appended message under its own name instead.
type appendNode struct {
	gofs.Inode
	h *appendHandle
}

var (
	_ = (gofs.NodeGetattrer)((*appendNode)(nil))
	_ = (gofs.NodeSetattrer)((*appendNode)(nil))
	_ = (gofs.NodeOpener)((*appendNode)(nil))
	_ = (gofs.NodeSetxattrer)((*appendNode)(nil))
)

// Setxattr refuses (ENOTSUP, so that cp -p finds no ACLs to copy): flags
// can be set once the message is in the mailbox.
func (n *appendNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

// Getattr reports the size written so far.
func (n *appendNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.h.fillAttr(&out.Attr)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Setattr truncates the file and ignores mode, owner and times.
func (n *appendNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return n.h.setattr(ctx, in, out)
}

// Open refuses a second descriptor: the file belongs to its writer until
// it is appended (EBUSY), and then the message has another name (ENOENT).
func (n *appendNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	n.h.mu.Lock()
	defer n.h.mu.Unlock()
	if n.h.done {
		return nil, 0, syscall.ENOENT
	}
	return nil, 0, syscall.EBUSY
}
