package fs

import (
	"context"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/outbox"
)

// outboxFileNode is a file of the outbox, by name: a queued or failed
// message (outbox/NAME or outbox/failed/NAME: read-only), a held message or
// an editor's side file in outbox/, or a draft in outbox/drafts/ (ordinary
// files). It is described by the Outbox on every call, so one node serves
// a message as it moves from held to queued to failed (names are unique
// across all of them).
type outboxFileNode struct {
	gofs.Inode
	st  *mountState
	dir *outboxDirNode // outbox/, where writing a new message of this name goes

	mu   sync.Mutex
	area outbox.Area // where the file is when it is an ordinary file
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

// outboxFileChild returns the inode of the outbox file e of area, a child
// of parent (outbox/, failed/ or drafts/).
func outboxFileChild(ctx context.Context, parent *gofs.Inode, dir *outboxDirNode, area outbox.Area, e outbox.Entry, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	st := dir.st
	ops := &outboxFileNode{st: st, dir: dir, area: area, name: e.Name}
	// An ordinary file can be renamed, and its node moves with it: a
	// number derived from the name would make a later lookup of the old
	// name find the moved node. It takes an automatic number.
	ino := areaIno(area, e.Name)
	if ordinary(e) {
		ino = 0
	}
	ch := parent.NewInode(ctx, ops, gofs.StableAttr{Mode: fuse.S_IFREG, Ino: ino})
	if _, ok := ch.Operations().(*outboxFileNode); !ok {
		st.log.Error("inode number collision", "outbox", e.Name)
		return nil, syscall.EIO
	}
	outboxFileAttr(st, &out.Attr, e)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return ch, 0
}

// areaIno returns the inode number of the file name of area (a message of
// outbox/ keeps its number as it goes from held to queued to failed).
func areaIno(area outbox.Area, name string) uint64 {
	if area == outbox.AreaDrafts {
		return outboxIno(outboxKindDraft, name)
	}
	return outboxIno(outboxKindMessage, name)
}

// outboxFileAttr fills the attributes of an outbox file: an ordinary file
// (held message, side file, draft) with its mode, a queued or failed
// message read-only; its size and time.
func outboxFileAttr(st *mountState, a *fuse.Attr, e outbox.Entry) {
	a.Mode = fuse.S_IFREG | filePerm
	if ordinary(e) {
		a.Mode = fuse.S_IFREG | uint32(e.Mode.Perm())
	}
	a.Nlink = 1
	a.Size = uint64(max(e.Size, 0))
	setTimes(a, e.ModTime)
	a.Owner = fuse.Owner{Uid: st.uid, Gid: st.gid}
}

// ordinary reports whether e is an ordinary file of an outbox.Area.
func ordinary(e outbox.Entry) bool {
	switch e.State {
	case outbox.StateHeld, outbox.StateScratch, outbox.StateDraft:
		return true
	}
	return false
}

// current returns where the file is now.
func (n *outboxFileNode) current() (outbox.Area, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.area, n.name
}

// rename records that the file is now name in area.
func (n *outboxFileNode) rename(area outbox.Area, name string) {
	n.mu.Lock()
	n.area, n.name = area, name
	n.mu.Unlock()
}

// entry describes the file as the Outbox knows it now.
func (n *outboxFileNode) entry() (outbox.Entry, error) {
	area, name := n.current()
	if area == outbox.AreaOutbox {
		if e, err := n.st.outbox.Stat(name); err == nil {
			return e, nil
		}
	}
	return n.st.outbox.StatFile(area, name)
}

// Getattr describes the file as the Outbox knows it now.
func (n *outboxFileNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	e, err := n.entry()
	if err != nil {
		return syscall.ENOENT
	}
	outboxFileAttr(n.st, &out.Attr, e)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Setattr changes an ordinary file (truncate, chmod, touch). A message
// keeps its size, except for a new version of it just opened for writing
// (see Open), and accepts and ignores mode, owner and times, so that cp -p
// onto its name works.
func (n *outboxFileNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if h, ok := fh.(*draftHandle); ok {
		return h.setattr(ctx, in, out)
	}
	e, err := n.entry()
	if err != nil {
		return syscall.ENOENT
	}
	area, name := n.current()
	size, hasSize := in.GetSize()
	if e.State == outbox.StateScratch || e.State == outbox.StateDraft {
		var a outbox.FileAttr
		if h, ok := fh.(*plainHandle); ok && hasSize {
			if err := h.f.Truncate(int64(size)); err != nil {
				return Errno(err)
			}
		} else if hasSize {
			sz := int64(size)
			a.Size = &sz
		}
		if m, ok := in.GetMode(); ok {
			mode := os.FileMode(m).Perm()
			a.Mode = &mode
		}
		if t, ok := in.GetATime(); ok {
			a.Atime = &t
		}
		if t, ok := in.GetMTime(); ok {
			a.Mtime = &t
		}
		if err := n.st.outbox.SetFileAttr(area, name, a); err != nil {
			return outboxFail(ctx, n.st, "change file", err, name)
		}
		return n.Getattr(ctx, fh, out)
	}
	if hasSize {
		// open(O_TRUNC) truncates after OPEN, without the handle:
		// accept it when a new version of this message was just opened.
		if size != 0 || !n.dir.overwriting(name) {
			return syscall.EACCES
		}
	}
	return n.Getattr(ctx, fh, out)
}

// Open opens the file. An ordinary file opens as it is. A message opens
// read-only as it is; opening it for writing (cp, ">" or an editor's save
// onto its name) starts a new version of it instead: a held message is
// replaced by it (the send delay starts again), a queued one is kept and
// the new one gets a suffix when it is committed ("msg-2.eml"). Writing to
// a failed message is refused (EACCES). Pages are not kept across opens:
// a name can come back with another message.
func (n *outboxFileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	e, err := n.entry()
	if err != nil {
		return nil, 0, syscall.ENOENT
	}
	area, name := n.current()
	writing := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if e.State == outbox.StateScratch || e.State == outbox.StateDraft || (e.State == outbox.StateHeld && !writing) {
		h, errno := openPlain(ctx, n.st, area, name, flags, 0, false)
		if errno != 0 {
			return nil, 0, errno
		}
		return h, 0, 0
	}
	if writing {
		if e.State == outbox.StateFailed || (flags&syscall.O_APPEND != 0 && e.State != outbox.StateHeld) {
			return nil, 0, syscall.EACCES
		}
		h, errno := newDraftHandle(ctx, n.dir, name, true)
		if errno != 0 {
			return nil, 0, errno
		}
		if e.State == outbox.StateHeld && flags&syscall.O_TRUNC == 0 {
			// A write into the file, not a new one: the new version
			// starts as a copy of this one.
			if errno := h.seed(ctx, area, name); errno != 0 {
				h.Release(ctx)
				return nil, 0, errno
			}
		}
		return h, 0, 0
	}
	open := n.st.outbox.OpenQueued
	if e.State == outbox.StateFailed {
		open = n.st.outbox.OpenFailed
	}
	f, err := open(name)
	if err != nil {
		return nil, 0, outboxFail(ctx, n.st, "open outbox message", err, name)
	}
	return &messageHandle{f: f}, fuse.FOPEN_NOFLUSH, 0
}

// xattrs returns the extended attributes of the file: user.mail.state;
// for a message user.mail.account (once known) and user.mail.attempts;
// for a held one user.mail.send-at (RFC 3339) and user.mail.held-by (the
// editor file that keeps it, when one does); for a queued one
// user.mail.next-attempt and user.mail.last-error (when set); for a failed
// one user.mail.error.
func (n *outboxFileNode) xattrs() (xattrList, syscall.Errno) {
	e, err := n.entry()
	if err != nil {
		return nil, syscall.ENOENT
	}
	x := xattrList{{xattrState, e.State}}
	switch e.State {
	case outbox.StateScratch, outbox.StateDraft:
		return x, 0
	case outbox.StateHeld:
		if !e.NextAttempt.IsZero() {
			x = append(x, xattr{xattrSendAt, e.NextAttempt.Format(time.RFC3339)})
		}
		if e.HeldBy != "" {
			x = append(x, xattr{xattrHeldBy, e.HeldBy})
		}
		return x, 0
	}
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
