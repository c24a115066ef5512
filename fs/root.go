package fs

import (
	"context"
	"slices"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// rootNode is the mount root: one directory per account, fixed at mount
// time, so listing it never reaches a Source, outbox/ when the mount has
// an outbox, and the Maildir view (.maildir, which Readdir does not list).
// go-fuse serves Lookup from the children added in OnAdd. Nothing can be
// created, removed or renamed here (EPERM).
type rootNode struct {
	gofs.Inode
	st       *mountState
	accounts []*account
}

var (
	_ = (gofs.NodeOnAdder)((*rootNode)(nil))
	_ = (gofs.NodeGetattrer)((*rootNode)(nil))
	_ = (gofs.NodeReaddirer)((*rootNode)(nil))
	_ = (gofs.NodeCreater)((*rootNode)(nil))
	_ = (gofs.NodeMkdirer)((*rootNode)(nil))
	_ = (gofs.NodeUnlinker)((*rootNode)(nil))
	_ = (gofs.NodeRmdirer)((*rootNode)(nil))
	_ = (gofs.NodeRenamer)((*rootNode)(nil))
)

// OnAdd adds the account directories, outbox/ and the Maildir view.
func (r *rootNode) OnAdd(ctx context.Context) {
	md := &maildirRootNode{st: r.st, accounts: r.accounts}
	r.AddChild(maildirDirName, r.NewPersistentInode(ctx, md, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: maildirIno("", nil, "")}), true)
	for _, a := range r.accounts {
		dir := newFolderNode(a, nil)
		ch := r.NewPersistentInode(ctx, dir, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: dirIno(a.name, nil)})
		r.AddChild(a.name, ch, true)
	}
	if r.st.outbox != nil {
		dir := &outboxDirNode{st: r.st}
		ch := r.NewPersistentInode(ctx, dir, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: outboxIno(outboxKindDir, "")})
		r.AddChild(outboxDirName, ch, true)
	}
}

// Getattr reports a read-only directory owned by the mounting user.
func (r *rootNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(r.st, &out.Attr, false)
	out.SetTimeout(dirTimeout)
	return 0
}

// Readdir lists the accounts and outbox/, not the Maildir view.
func (r *rootNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	var entries []fuse.DirEntry
	for name, ch := range r.Children() {
		if name != maildirDirName {
			entries = append(entries, fuse.DirEntry{Name: name, Mode: ch.Mode(), Ino: ch.StableAttr().Ino})
		}
	}
	slices.SortFunc(entries, func(a, b fuse.DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return gofs.NewListDirStream(entries), 0
}

// Create refuses new files: the root holds only the accounts and outbox/.
func (r *rootNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// Mkdir refuses new directories: accounts come from the configuration.
func (r *rootNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Unlink refuses: the root holds no files. (Without it go-fuse would
// report success.)
func (r *rootNode) Unlink(ctx context.Context, name string) syscall.Errno {
	return syscall.EPERM
}

// Rmdir refuses to remove an account directory or outbox/.
func (r *rootNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return syscall.EPERM
}

// Rename refuses to rename an account directory or outbox/.
func (r *rootNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EPERM
}
