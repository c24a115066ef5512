package fs

import (
	"context"
	"strconv"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/outbox"
)

// outboxFileNode is a queued or failed message, outbox/NAME or
// outbox/failed/NAME: read-only, described by the Outbox on every call, so
// one node serves the message as it moves between the two (names are
// unique across both).
type outboxFileNode struct {
	gofs.Inode
	st   *mountState
	dir  *outboxDirNode // outbox/, where writing a new message of this name goes
	name string
}

var (
	_ = (gofs.NodeGetattrer)((*outboxFileNode)(nil))
	_ = (gofs.NodeSetattrer)((*outboxFileNode)(nil))
	_ = (gofs.NodeOpener)((*outboxFileNode)(nil))
	_ = (gofs.NodeGetxattrer)((*outboxFileNode)(nil))
	_ = (gofs.NodeListxattrer)((*outboxFileNode)(nil))
	_ = (gofs.NodeSetxattrer)((*outboxFileNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*outboxFileNode)(nil))
)

// outboxFileChild returns the inode of the queued or failed message e, a
// child of parent (outbox/ or failed/).
func outboxFileChild(ctx context.Context, parent *gofs.Inode, dir *outboxDirNode, e outbox.Entry, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	st := dir.st
	ops := &outboxFileNode{st: st, dir: dir, name: e.Name}
	ch := parent.NewInode(ctx, ops, gofs.StableAttr{Mode: fuse.S_IFREG, Ino: outboxIno(outboxKindMessage, e.Name)})
	if _, ok := ch.Operations().(*outboxFileNode); !ok {
		st.log.Error("inode number collision", "outbox", e.Name)
		return nil, syscall.EIO
	}
	outboxFileAttr(st, &out.Attr, e)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return ch, 0
}

// outboxFileAttr fills the attributes of a queued or failed message:
// read-only, its size, and its commit time as mtime.
func outboxFileAttr(st *mountState, a *fuse.Attr, e outbox.Entry) {
	a.Mode = fuse.S_IFREG | filePerm
	a.Nlink = 1
	a.Size = uint64(max(e.Size, 0))
	setTimes(a, e.ModTime)
	a.Owner = fuse.Owner{Uid: st.uid, Gid: st.gid}
}

// Getattr describes the message as the Outbox knows it now.
func (n *outboxFileNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, err := n.st.outbox.Stat(n.name)
	if err != nil {
		return syscall.ENOENT
	}
	outboxFileAttr(n.st, &out.Attr, e)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Setattr truncates a new message that replaces this one (see Open);
// otherwise it refuses to change the size (EACCES) and accepts and ignores
// mode, owner and times, so that cp -p onto a queued name works.
func (n *outboxFileNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if h, ok := fh.(*draftHandle); ok {
		return h.setattr(ctx, in, out)
	}
	if size, ok := in.GetSize(); ok {
		// open(O_TRUNC) truncates after OPEN, without the handle:
		// accept it when a new message of this name was just opened.
		if size != 0 || !n.dir.overwriting(n.name) {
			return syscall.EACCES
		}
	}
	return n.Getattr(ctx, fh, out)
}

// Open opens the message read-only. Opening a queued message for writing
// (cp or ">" onto its name) starts a new message of the same name instead,
// which gets a suffix when it is committed ("msg-2.eml"); appending, and
// writing to a failed message, are refused (EACCES). Pages are not kept across opens: a name can come back with
// another message once the first was sent.
func (n *outboxFileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	e, err := n.st.outbox.Stat(n.name)
	if err != nil {
		return nil, 0, syscall.ENOENT
	}
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		if flags&syscall.O_APPEND != 0 || e.State == outbox.StateFailed {
			return nil, 0, syscall.EACCES
		}
		h, errno := newDraftHandle(ctx, n.dir, n.name, true)
		if errno != 0 {
			return nil, 0, errno
		}
		return h, 0, 0
	}
	open := n.st.outbox.OpenQueued
	if e.State == outbox.StateFailed {
		open = n.st.outbox.OpenFailed
	}
	f, err := open(n.name)
	if err != nil {
		return nil, 0, outboxFail(ctx, n.st, "open outbox message", err, n.name)
	}
	return &messageHandle{f: f}, fuse.FOPEN_NOFLUSH, 0
}

// xattrs returns the extended attributes of the message: user.mail.state,
// user.mail.account, user.mail.attempts, and for a queued message
// user.mail.next-attempt (RFC 3339) and user.mail.last-error (when set),
// for a failed one user.mail.error.
func (n *outboxFileNode) xattrs() (xattrList, syscall.Errno) {
	e, err := n.st.outbox.Stat(n.name)
	if err != nil {
		return nil, syscall.ENOENT
	}
	x := xattrList{{xattrState, e.State}}
	if e.Account != "" {
		x = append(x, xattr{xattrAccount, e.Account})
	}
	x = append(x, xattr{xattrAttempts, strconv.Itoa(e.Attempts)})
	if e.State == outbox.StateFailed {
		return append(x, xattr{xattrError, e.Error}), 0
	}
	if !e.NextAttempt.IsZero() {
		x = append(x, xattr{xattrNextAttempt, e.NextAttempt.Format(time.RFC3339)})
	}
	if e.LastError != "" {
		x = append(x, xattr{xattrLastError, e.LastError})
	}
	return x, 0
}

// Getxattr reads one of the attributes xattrs lists.
func (n *outboxFileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	x, errno := n.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return x.get(attr, dest)
}

// Listxattr lists the names of the attributes xattrs returns.
func (n *outboxFileNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	x, errno := n.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return x.list(dest)
}

// Setxattr refuses: the user.mail attributes report the outbox's state
// (EPERM), and no others are supported (ENOTSUP, which tells cp -p that
// there are no ACLs to copy).
func (n *outboxFileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return readOnlyXattr(attr)
}

// Removexattr refuses, as Setxattr does.
func (n *outboxFileNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return readOnlyXattr(attr)
}

// errorFileNode is outbox/failed/NAME.error: why NAME failed, one line.
type errorFileNode struct {
	gofs.Inode
	st   *mountState
	name string // the failed message's name
}

var (
	_ = (gofs.NodeGetattrer)((*errorFileNode)(nil))
	_ = (gofs.NodeSetattrer)((*errorFileNode)(nil))
	_ = (gofs.NodeOpener)((*errorFileNode)(nil))
)

// fillAttr fills the attributes of the file: read-only, size bytes, the
// message's commit time as mtime.
func (n *errorFileNode) fillAttr(a *fuse.Attr, e outbox.Entry, size int) {
	outboxFileAttr(n.st, a, e)
	a.Size = uint64(size)
}

// Getattr describes the file as the Outbox knows it now.
func (n *errorFileNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, err := n.st.outbox.Stat(n.name)
	if err != nil || e.State != outbox.StateFailed {
		return syscall.ENOENT
	}
	n.fillAttr(&out.Attr, e, len(e.Error)+1)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Setattr refuses to change the size (EACCES) and ignores the rest.
func (n *errorFileNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if _, ok := in.GetSize(); ok {
		return syscall.EACCES
	}
	return n.Getattr(ctx, fh, out)
}

// Open reads the reason once; writing is refused (EACCES).
func (n *errorFileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	text, err := n.st.outbox.FailedError(n.name)
	if err != nil {
		return nil, 0, outboxFail(ctx, n.st, "read failure reason", err, n.name)
	}
	return &bytesHandle{data: []byte(text)}, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
}

// bytesHandle is an open file whose content is in memory.
type bytesHandle struct {
	data []byte
}

var _ = (gofs.FileReader)((*bytesHandle)(nil))

// Read reads from the content at off.
func (h *bytesHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(h.data)))
	return fuse.ReadResultData(h.data[off:end]), 0
}
