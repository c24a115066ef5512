package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/outbox"
)

// draftHandle is a message being written into outbox/: WRITE goes to
// Draft.WriteAt (an invalid header fails the write that completes it with
// EINVAL), FLUSH commits (the close fails with EINVAL for an invalid
// message, which then is in failed/, or with the I/O error that kept it
// from the queue), RELEASE aborts what was never committed.
type draftHandle struct {
	st *mountState
	// dir is outbox/.
	dir *outboxDirNode
	// name is the name the writer gave; the message may get another one
	// when it is committed.
	name    string
	d       *outbox.Draft
	created time.Time
	// overwrite is set for a draft opened over a queued or failed
	// message's name (see outboxFileNode.Open).
	overwrite bool
	// committed is set once a Commit did something: queued the message,
	// moved it to failed/ or dropped it after an I/O error.
	committed atomic.Bool
}

var (
	_ = (gofs.FileWriter)((*draftHandle)(nil))
	_ = (gofs.FileReader)((*draftHandle)(nil))
	_ = (gofs.FileFlusher)((*draftHandle)(nil))
	_ = (gofs.FileFsyncer)((*draftHandle)(nil))
	_ = (gofs.FileReleaser)((*draftHandle)(nil))
)

// newDraftHandle starts a draft called name in outbox/; overwrite says
// that it was opened over a queued or failed message's name.
func newDraftHandle(ctx context.Context, dir *outboxDirNode, name string, overwrite bool) (*draftHandle, syscall.Errno) {
	d, err := dir.st.outbox.Create(name)
	if err != nil {
		return nil, outboxFail(ctx, dir.st, "create draft", err, name)
	}
	if overwrite {
		dir.addOverwrite(name, 1)
	}
	return &draftHandle{st: dir.st, dir: dir, name: name, d: d, created: time.Now(), overwrite: overwrite}, 0
}

// Write writes into the draft. The write that completes an invalid header,
// and every later one, fails with EINVAL.
func (h *draftHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.d.WriteAt(data, off)
	if err != nil {
		return 0, outboxFail(ctx, h.st, "write draft", err, h.name)
	}
	return uint32(n), 0
}

// Read reads back what was written.
func (h *draftHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.d.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, outboxFail(ctx, h.st, "read draft", err, h.name)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Flush commits the draft, so that close reports whether the message is
// queued. Commit is idempotent (a dup'd descriptor flushes again and gets
// the same answer) and does nothing for a draft nothing was written to
// yet (a shell redirection closes the new file once before writing).
func (h *draftHandle) Flush(ctx context.Context) syscall.Errno {
	size := h.d.Size()
	err := h.d.Commit()
	if (size > 0 || err != nil) && h.committed.CompareAndSwap(false, true) {
		h.forgetName(err)
	}
	if err != nil {
		return outboxFail(ctx, h.st, "send", err, h.name)
	}
	return 0
}

// forgetName tells the kernel to look up again the names the commit
// changed: the writer's name, which the kernel knows as this draft but
// which is now the queued message, another message or none (a suffix was
// added, or the message failed), and the new entries of failed/.
func (h *draftHandle) forgetName(err error) {
	final := h.d.Name()
	// At once, before close returns, so that the writer's next stat sees
	// the truth (a message that failed is no longer in outbox/). FLUSH
	// holds no directory lock, so the kernel can take outbox/'s.
	h.dir.NotifyEntry(h.name)
	if err != nil {
		if failed := h.dir.GetChild(failedDirName); failed != nil {
			notifyEntry(failed, final)
			notifyEntry(failed, final+errorSuffix)
		}
	}
}

// seed copies the held message name of area into the new version, for a
// writer that changes the file rather than replacing it.
func (h *draftHandle) seed(ctx context.Context, area outbox.Area, name string) syscall.Errno {
	f, err := h.st.outbox.OpenFile(area, name, os.O_RDONLY, 0)
	if err != nil {
		return outboxFail(ctx, h.st, "open held message", err, name)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		if n > 0 {
			if _, werr := h.d.WriteAt(buf[:n], off); werr != nil {
				return outboxFail(ctx, h.st, "copy held message", werr, name)
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil {
			return outboxFail(ctx, h.st, "copy held message", err, name)
		}
	}
}

// Fsync does nothing: Commit makes the message durable.
func (h *draftHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return 0
}

// Release discards a draft that was never committed (the kernel flushes
// before it releases, so that is a file nothing was written to).
func (h *draftHandle) Release(ctx context.Context) syscall.Errno {
	h.d.Abort()
	if h.overwrite {
		h.dir.addOverwrite(h.name, -1)
	}
	return 0
}

// setattr truncates the draft (O_TRUNC, ftruncate) and accepts and ignores
// mode, owner and times (cp -p).
func (h *draftHandle) setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if h.committed.Load() {
			return syscall.EACCES
		}
		if err := h.d.Truncate(int64(size)); err != nil {
			return outboxFail(ctx, h.st, "truncate draft", err, h.name)
		}
	}
	h.fillAttr(&out.Attr)
	out.SetTimeout(outboxTimeout)
	return 0
}

// fillAttr fills the attributes of the draft: a writable file of the size
// written so far; once committed, the queued message's.
func (h *draftHandle) fillAttr(a *fuse.Attr) {
	if h.committed.Load() {
		if e, err := h.st.outbox.Stat(h.d.Name()); err == nil {
			outboxFileAttr(h.st, a, e)
			return
		}
	}
	a.Mode = fuse.S_IFREG | draftPerm
	if h.committed.Load() {
		a.Mode = fuse.S_IFREG | filePerm
	}
	a.Nlink = 1
	a.Size = uint64(max(h.d.Size(), 0))
	setTimes(a, h.created)
	a.Owner = fuse.Owner{Uid: h.st.uid, Gid: h.st.gid}
}

// draftNode is the file a Create in outbox/ made. The kernel knows it under
// the writer's name for at most outboxTimeout; outbox/ does not list it
// until it is committed, and then lists the queued message instead. Once
// committed, the node answers as the queued (or failed) message does.
type draftNode struct {
	gofs.Inode
	h *draftHandle

	// renamed is the file the committed draft became by a rename (an
	// editor moving the saved file aside), nil until then.
	renamed atomic.Pointer[outboxFileNode]
}

// rename records that the committed draft is now the file name of area.
func (n *draftNode) rename(area outbox.Area, name string) {
	n.renamed.Store(&outboxFileNode{st: n.h.st, dir: n.h.dir, area: area, name: name})
}

var (
	_ = (gofs.NodeGetattrer)((*draftNode)(nil))
	_ = (gofs.NodeSetattrer)((*draftNode)(nil))
	_ = (gofs.NodeOpener)((*draftNode)(nil))
	_ = (gofs.NodeGetxattrer)((*draftNode)(nil))
	_ = (gofs.NodeListxattrer)((*draftNode)(nil))
	_ = (gofs.NodeSetxattrer)((*draftNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*draftNode)(nil))
)

func (n *draftNode) fillAttr(a *fuse.Attr) { n.h.fillAttr(a) }

// message returns the queued or failed message the draft became, or nil
// while it is written.
func (n *draftNode) message() *outboxFileNode {
	if !n.h.committed.Load() {
		return nil
	}
	if m := n.renamed.Load(); m != nil {
		return m
	}
	return &outboxFileNode{st: n.h.st, dir: n.h.dir, name: n.h.d.Name()}
}

// Getattr reports the draft's current size while it is written.
func (n *draftNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.h.fillAttr(&out.Attr)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Setattr truncates the draft and ignores mode, owner and times.
func (n *draftNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if h, ok := fh.(*draftHandle); ok && h != n.h {
		return h.setattr(ctx, in, out) // a new message opened on this name
	}
	if m := n.message(); m != nil {
		return m.Setattr(ctx, fh, in, out)
	}
	return n.h.setattr(ctx, in, out)
}

// Open of the draft by its name (another descriptor) is refused while it
// is written (EBUSY); once committed it opens as the message does.
func (n *draftNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	m := n.message()
	if m == nil {
		return nil, 0, syscall.EBUSY
	}
	return m.Open(ctx, flags)
}

// Getxattr answers as the message does once committed; a draft has none.
func (n *draftNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if m := n.message(); m != nil {
		return m.Getxattr(ctx, attr, dest)
	}
	return 0, syscall.ENODATA
}

// Listxattr answers as the message does once committed; a draft has none.
func (n *draftNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	if m := n.message(); m != nil {
		return m.Listxattr(ctx, dest)
	}
	return 0, 0
}

// Setxattr refuses, as it does for messages.
func (n *draftNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return readOnlyXattr(attr)
}

// Removexattr refuses, as it does for messages.
func (n *draftNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return readOnlyXattr(attr)
}
