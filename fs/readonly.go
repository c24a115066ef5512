package fs

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/remote"
)

// A read-only mount (Options.ReadOnly) answers every change with EROFS
// before any node sees it, shows every directory 0500 (its accounts'
// Sources are seen without their optional change interfaces) and has no
// outbox/. The kernel is told too (the "ro" mount option), so most changes
// never reach the filesystem at all; readOnly is what answers those that do.

// readOnly refuses every FUSE request that would change something.
type readOnly struct {
	fuse.RawFileSystem
}

// writeOpenFlags are the open(2) flags of an open that may change a file.
const writeOpenFlags = syscall.O_WRONLY | syscall.O_RDWR | syscall.O_TRUNC | syscall.O_APPEND

// Open refuses an open for writing, truncating or appending.
func (r readOnly) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	if in.Flags&writeOpenFlags != 0 {
		return fuse.EROFS
	}
	return r.RawFileSystem.Open(cancel, in, out)
}

// SetAttr refuses every attribute change: size, mode, owner and times.
func (r readOnly) SetAttr(<-chan struct{}, *fuse.SetAttrIn, *fuse.AttrOut) fuse.Status {
	return fuse.EROFS
}

// Mknod refuses to make a node.
func (r readOnly) Mknod(<-chan struct{}, *fuse.MknodIn, string, *fuse.EntryOut) fuse.Status {
	return fuse.EROFS
}

// Mkdir refuses to make a directory.
func (r readOnly) Mkdir(<-chan struct{}, *fuse.MkdirIn, string, *fuse.EntryOut) fuse.Status {
	return fuse.EROFS
}

// Unlink refuses to remove a file.
func (r readOnly) Unlink(<-chan struct{}, *fuse.InHeader, string) fuse.Status {
	return fuse.EROFS
}

// Rmdir refuses to remove a directory.
func (r readOnly) Rmdir(<-chan struct{}, *fuse.InHeader, string) fuse.Status {
	return fuse.EROFS
}

// Rename refuses to rename or move.
func (r readOnly) Rename(<-chan struct{}, *fuse.RenameIn, string, string) fuse.Status {
	return fuse.EROFS
}

// Link refuses to make a hard link.
func (r readOnly) Link(<-chan struct{}, *fuse.LinkIn, string, *fuse.EntryOut) fuse.Status {
	return fuse.EROFS
}

// Symlink refuses to make a symbolic link.
func (r readOnly) Symlink(<-chan struct{}, *fuse.InHeader, string, string, *fuse.EntryOut) fuse.Status {
	return fuse.EROFS
}

// SetXAttr refuses to set an extended attribute (message flags).
func (r readOnly) SetXAttr(<-chan struct{}, *fuse.SetXAttrIn, string, []byte) fuse.Status {
	return fuse.EROFS
}

// RemoveXAttr refuses to remove an extended attribute.
func (r readOnly) RemoveXAttr(<-chan struct{}, *fuse.InHeader, string) fuse.Status {
	return fuse.EROFS
}

// Create refuses to create a file.
func (r readOnly) Create(<-chan struct{}, *fuse.CreateIn, string, *fuse.CreateOut) fuse.Status {
	return fuse.EROFS
}

// Write refuses to write.
func (r readOnly) Write(<-chan struct{}, *fuse.WriteIn, []byte) (uint32, fuse.Status) {
	return 0, fuse.EROFS
}

// CopyFileRange refuses to copy into a file.
func (r readOnly) CopyFileRange(<-chan struct{}, *fuse.CopyFileRangeIn) (uint32, fuse.Status) {
	return 0, fuse.EROFS
}

// Fallocate refuses to allocate file space.
func (r readOnly) Fallocate(<-chan struct{}, *fuse.FallocateIn) fuse.Status {
	return fuse.EROFS
}

// readOnlySource shows a Source without its change interfaces (Remover,
// Mover, FolderEditor, Flagger, Appender), so that the account's
// directories are 0500; what only reads (Searcher, Parter, TrashFinder)
// passes through.
type readOnlySource struct {
	Source
}

// Search runs a search, which changes nothing, when the Source can.
func (r readOnlySource) Search(ctx context.Context, mailbox string, uidValidity uint32, q remote.Query) ([]uint32, error) {
	if s, ok := r.Source.(Searcher); ok {
		return s.Search(ctx, mailbox, uidValidity, q)
	}
	return nil, fmt.Errorf("search %s: %w", mailbox, remote.ErrUnsupported)
}

// TrashFolder names the Trash, which searches leave out, when the Source
// can.
func (r readOnlySource) TrashFolder(ctx context.Context) (string, error) {
	if tf, ok := r.Source.(TrashFinder); ok {
		return tf.TrashFolder(ctx)
	}
	return "", nil
}

// Structure reads a message's structure when the Source can.
func (r readOnlySource) Structure(ctx context.Context, mailbox string, uidValidity, uid uint32) (remote.Part, error) {
	if p, ok := r.Source.(Parter); ok {
		return p.Structure(ctx, mailbox, uidValidity, uid)
	}
	return remote.Part{}, fmt.Errorf("structure of %s/%d: %w", mailbox, uid, remote.ErrUnsupported)
}

// OpenPart reads a message's part when the Source can.
func (r readOnlySource) OpenPart(ctx context.Context, mailbox string, uidValidity, uid uint32, section string) (*os.File, error) {
	if p, ok := r.Source.(Parter); ok {
		return p.OpenPart(ctx, mailbox, uidValidity, uid, section)
	}
	return nil, fmt.Errorf("part %s of %s/%d: %w", section, mailbox, uid, remote.ErrUnsupported)
}

// readOnlyWatchedSource is readOnlySource for a Watched Source: changes
// on the server are still shown.
type readOnlyWatchedSource struct {
	readOnlySource
	Watched
}

// readOnlyAccount returns a with a Source that supports no change.
func readOnlyAccount(a Account) Account {
	if a.Source == nil {
		return a
	}
	ro := readOnlySource{a.Source}
	if w, ok := a.Source.(Watched); ok {
		a.Source = readOnlyWatchedSource{ro, w}
	} else {
		a.Source = ro
	}
	return a
}
