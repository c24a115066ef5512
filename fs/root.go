package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// rootNode is the mount root: one directory per account, fixed at mount
// time, so listing it never reaches a Source. go-fuse serves Lookup and
// Readdir from the children added in OnAdd.
type rootNode struct {
	gofs.Inode
	st       *mountState
	accounts []*account
}

var (
	_ = (gofs.NodeOnAdder)((*rootNode)(nil))
	_ = (gofs.NodeGetattrer)((*rootNode)(nil))
)

// OnAdd adds the account directories.
func (r *rootNode) OnAdd(ctx context.Context) {
	for _, a := range r.accounts {
		dir := &folderNode{acct: a}
		ch := r.NewPersistentInode(ctx, dir, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: dirIno(a.name, nil)})
		r.AddChild(a.name, ch, true)
	}
}

// Getattr reports a read-only directory owned by the mounting user.
func (r *rootNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(r.st, &out.Attr)
	out.SetTimeout(dirTimeout)
	return 0
}
