package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"mailfs/outbox"
)

// plainHandle is an open ordinary file of the outbox: an editor's side
// file in outbox/, a draft in outbox/drafts/, or a held message opened
// for reading. Reads and writes go to the spool file as they are.
type plainHandle struct {
	f *os.File
}

var (
	_ = (gofs.FileReader)((*plainHandle)(nil))
	_ = (gofs.FileWriter)((*plainHandle)(nil))
	_ = (gofs.FileFsyncer)((*plainHandle)(nil))
	_ = (gofs.FileFlusher)((*plainHandle)(nil))
	_ = (gofs.FileReleaser)((*plainHandle)(nil))
)

// openPlain opens the file name of area with the access flags of an OPEN
// or CREATE (creating it when create).
func openPlain(ctx context.Context, st *mountState, area outbox.Area, name string, flags uint32, mode uint32, create bool) (*plainHandle, syscall.Errno) {
	flag := int(flags) & (syscall.O_ACCMODE | syscall.O_TRUNC | syscall.O_APPEND)
	if create {
		flag |= os.O_CREATE | int(flags)&syscall.O_EXCL
	}
	f, err := st.outbox.OpenFile(area, name, flag, os.FileMode(mode).Perm())
	if err != nil {
		return nil, outboxFail(ctx, st, "open file", err, name)
	}
	return &plainHandle{f: f}, 0
}

// Read reads the file at off.
func (h *plainHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Errno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Write writes data at off (at the end for a file opened O_APPEND: the
// kernel gives its size as off).
func (h *plainHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.f.WriteAt(data, off)
	if err != nil {
		if errors.Is(err, os.ErrInvalid) { // WriteAt on an O_APPEND file
			n, err = h.f.Write(data)
		}
		if err != nil {
			return uint32(n), Errno(err)
		}
	}
	return uint32(n), 0
}

// Fsync makes the file durable.
func (h *plainHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if err := h.f.Sync(); err != nil {
		return Errno(err)
	}
	return 0
}

// Flush has nothing to report: every write went to the spool file.
func (h *plainHandle) Flush(ctx context.Context) syscall.Errno { return 0 }

// Release closes the file.
func (h *plainHandle) Release(ctx context.Context) syscall.Errno {
	h.f.Close()
	return 0
}

// draftsDirNode is MOUNT/outbox/drafts/: ordinary files kept in the spool
// and never sent; moving one into outbox/ sends it.
type draftsDirNode struct {
	gofs.Inode
	st        *mountState
	outboxDir *outboxDirNode
}

var (
	_ = (gofs.NodeGetattrer)((*draftsDirNode)(nil))
	_ = (gofs.NodeReaddirer)((*draftsDirNode)(nil))
	_ = (gofs.NodeLookuper)((*draftsDirNode)(nil))
	_ = (gofs.NodeCreater)((*draftsDirNode)(nil))
	_ = (gofs.NodeMkdirer)((*draftsDirNode)(nil))
	_ = (gofs.NodeUnlinker)((*draftsDirNode)(nil))
	_ = (gofs.NodeRmdirer)((*draftsDirNode)(nil))
	_ = (gofs.NodeRenamer)((*draftsDirNode)(nil))
)

// Getattr reports a directory the user can write.
func (n *draftsDirNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.st, &out.Attr, true)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Readdir lists the drafts.
func (n *draftsDirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	files, err := n.st.outbox.Files(outbox.AreaDrafts)
	if err != nil {
		return nil, outboxFail(ctx, n.st, "list drafts", err, "")
	}
	entries := make([]fuse.DirEntry, 0, len(files))
	for _, e := range files {
		entries = append(entries, fuse.DirEntry{Name: e.Name, Mode: fuse.S_IFREG, Ino: areaIno(outbox.AreaDrafts, e.Name)})
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds a draft.
func (n *draftsDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	e, err := n.st.outbox.StatFile(outbox.AreaDrafts, name)
	if err != nil {
		return nil, syscall.ENOENT
	}
	return outboxFileChild(ctx, &n.Inode, n.outboxDir, outbox.AreaDrafts, e, out)
}

// Create makes a new draft: an ordinary file, kept until it is moved or
// removed.
func (n *draftsDirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return createPlain(ctx, &n.Inode, n.outboxDir, outbox.AreaDrafts, name, flags, mode, out)
}

// createPlain creates the ordinary file name in area, a child of parent.
func createPlain(ctx context.Context, parent *gofs.Inode, dir *outboxDirNode, area outbox.Area, name string, flags, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	h, errno := openPlain(ctx, dir.st, area, name, flags, mode, true)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	e, err := dir.st.outbox.StatFile(area, name)
	if err != nil {
		h.f.Close()
		return nil, nil, 0, outboxFail(ctx, dir.st, "create file", err, name)
	}
	ch, errno := outboxFileChild(ctx, parent, dir, area, e, out)
	if errno != 0 {
		h.f.Close()
		return nil, nil, 0, errno
	}
	return ch, h, 0, 0
}

// Mkdir refuses: drafts/ holds files only.
func (n *draftsDirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Unlink deletes a draft.
func (n *draftsDirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if err := n.st.outbox.RemoveFile(outbox.AreaDrafts, name); err != nil {
		return outboxFail(ctx, n.st, "remove draft", err, name)
	}
	return 0
}

// Rmdir refuses: drafts/ has no directories.
func (n *draftsDirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return syscall.ENOTDIR
}

// Rename renames a draft within drafts/, or moves it into outbox/, which
// sends it (after the send delay) when its name is a message's: it is
// validated first, and an invalid one stays here (EPERM, the reason in
// the log).
func (n *draftsDirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return renameFile(ctx, n.st, &n.Inode, outbox.AreaDrafts, name, newParent, newName, flags)
}

// renameFile renames the ordinary file name of area (a child of parent)
// to newName in newParent, which must be outbox/ or drafts/.
func renameFile(ctx context.Context, st *mountState, parent *gofs.Inode, area outbox.Area, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	var to outbox.Area
	switch newParent.(type) {
	case *outboxDirNode:
		to = outbox.AreaOutbox
	case *draftsDirNode:
		to = outbox.AreaDrafts
	default:
		return outboxRename(newParent)
	}
	if flags&gofs.RENAME_EXCHANGE != 0 {
		return syscall.EINVAL
	}
	if err := st.outbox.RenameFile(area, name, to, newName, flags&unix.RENAME_NOREPLACE != 0); err != nil {
		errno := outboxFail(ctx, st, "rename", err, name)
		if errors.Is(err, outbox.ErrInvalid) {
			// Not EINVAL: mv words that as "cannot move to a subdirectory
			// of itself". The log line says why.
			errno = syscall.EPERM
		}
		return errno
	}
	// The node moves with the name (go-fuse moves it after this returns).
	if ch := parent.GetChild(name); ch != nil {
		if f, ok := ch.Operations().(*outboxFileNode); ok {
			f.rename(to, newName)
		}
		if d, ok := ch.Operations().(*draftNode); ok {
			d.rename(to, newName)
		}
	}
	return 0
}
