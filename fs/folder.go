package fs

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/remote"
)

// folderNode is a directory of an account: the account directory itself
// (empty path) or one level of its mailbox hierarchy. What it holds is
// computed on every Readdir and Lookup from the Source, so a node stays
// valid while mailboxes come and go.
type folderNode struct {
	gofs.Inode
	acct *account
	// path holds the mailbox name levels of this directory (a []string
	// never modified once stored); nil for the account directory. The
	// mailbox name is path joined by the delimiter. It changes only when
	// the directory, or one above it, is renamed (mv DIR).
	path atomic.Pointer[[]string]
}

func newFolderNode(a *account, path []string) *folderNode {
	n := &folderNode{acct: a}
	n.path.Store(&path)
	return n
}

// mailboxPath returns the mailbox name levels of the directory.
func (n *folderNode) mailboxPath() []string {
	return *n.path.Load()
}

var (
	_ = (gofs.NodeGetattrer)((*folderNode)(nil))
	_ = (gofs.NodeReaddirer)((*folderNode)(nil))
	_ = (gofs.NodeLookuper)((*folderNode)(nil))
)

// Getattr reports a read-only directory owned by the mounting user.
func (n *folderNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.acct.st, &out.Attr, n.acct.writable())
	out.SetTimeout(dirTimeout)
	return 0
}

// Readdir lists the child mailboxes and, for a selectable mailbox, its
// messages, syncing both with the server when older than StaleAfter.
func (n *folderNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	st := n.acct.st
	lv, errno := n.level(ctx, st.staleAfter)
	if errno != 0 {
		return nil, errno
	}
	entries := make([]fuse.DirEntry, 0, len(lv.subdirs))
	names := make(map[string]bool, len(lv.subdirs))
	for _, d := range lv.subdirs {
		names[d.name] = true
		entries = append(entries, fuse.DirEntry{
			Name: d.name,
			Mode: fuse.S_IFDIR,
			Ino:  dirIno(n.acct.name, n.childPath(d.component)),
		})
	}
	if mbox, ok := lv.selectable(); ok {
		l, errno := n.list(ctx, mbox.Name, st.staleAfter)
		if errno != 0 {
			return nil, errno
		}
		for _, m := range l.Messages {
			name := FileName(m, st.style)
			if names[name] { // a child mailbox shadows the message
				continue
			}
			entries = append(entries, fuse.DirEntry{
				Name: name,
				Mode: fuse.S_IFREG,
				Ino:  messageIno(n.acct.name, mbox.Name, l.UIDValidity, m.UID),
			})
		}
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds a child mailbox directory or a message file. It trusts the
// known mailbox list and listing for up to lookupMaxAge and asks the server
// (at most once, when they are older than StaleAfter) only for a name it does
// not find.
func (n *folderNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	st := n.acct.st
	if name == searchDirName && n.mailboxPath() == nil {
		return n.searchRoot(ctx, out)
	}
	if base, ok := strings.CutSuffix(name, partsSuffix); ok && strings.HasSuffix(base, emlExt) {
		mailbox, uidValidity, info, errno := n.findMessage(ctx, base)
		if errno != 0 {
			return nil, errno
		}
		return partsChild(ctx, &n.Inode, n.acct, mailbox, uidValidity, info, out)
	}
	uid, isMessage := ParseUID(name)
	var lv level
	for _, maxAge := range []time.Duration{lookupMaxAge, st.staleAfter} {
		var errno syscall.Errno
		if lv, errno = n.level(ctx, maxAge); errno != 0 {
			return nil, errno
		}
		if d, ok := lv.subdir(name); ok {
			return n.dirChild(ctx, d, out)
		}
		if _, ok := lv.selectable(); ok && isMessage {
			break // a message name: look in the listing
		}
	}
	mbox, ok := lv.selectable()
	if !ok || !isMessage {
		return nil, syscall.ENOENT
	}
	for _, maxAge := range []time.Duration{lookupMaxAge, st.staleAfter} {
		l, errno := n.list(ctx, mbox.Name, maxAge)
		if errno != 0 {
			return nil, errno
		}
		if info, ok := l.Find(uid); ok && FileName(info, st.style) == name {
			return n.messageChild(ctx, mbox.Name, l.UIDValidity, info, out)
		}
	}
	return nil, syscall.ENOENT
}

// level describes this directory from the account's mailbox list, refreshed
// when older than maxAge.
func (n *folderNode) level(ctx context.Context, maxAge time.Duration) (level, syscall.Errno) {
	return n.acct.level(ctx, n.mailboxPath(), maxAge)
}

// list returns the listing of mailbox, synced when older than maxAge.
func (n *folderNode) list(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, syscall.Errno) {
	return n.acct.list(ctx, mailbox, maxAge)
}

func (n *folderNode) childPath(component string) []string {
	return slices.Concat(n.mailboxPath(), []string{component})
}

// dirChild returns the inode of the child directory d.
func (n *folderNode) dirChild(ctx context.Context, d subdir, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	path := n.childPath(d.component)
	ops := newFolderNode(n.acct, path)
	ino := dirIno(n.acct.name, path)
	ch := n.NewInode(ctx, ops, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: ino})
	if _, ok := ch.Operations().(*folderNode); !ok {
		n.acct.st.log.Error("inode number collision", "account", n.acct.name, "path", path, "ino", ino)
		return nil, syscall.EIO
	}
	dirAttr(n.acct.st, &out.Attr, n.acct.writable())
	out.SetEntryTimeout(dirTimeout)
	out.SetAttrTimeout(dirTimeout)
	return ch, 0
}

// messageChild returns the inode of a message file.
func (n *folderNode) messageChild(ctx context.Context, mailbox string, uidValidity uint32, info remote.MessageInfo, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return messageInode(ctx, &n.Inode, n.acct, mailbox, uidValidity, info, out)
}

// messageInode returns the inode of a message file, a child of parent: one
// inode per message, whichever directory (the folder, or the Maildir
// view's cur/ or new/) it is looked up in, so both names share the
// kernel's pages.
func messageInode(ctx context.Context, parent *gofs.Inode, acct *account, mailbox string, uidValidity uint32, info remote.MessageInfo, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ops := newMessageNode(acct, mailbox, uidValidity, info)
	ino := messageIno(acct.name, mailbox, uidValidity, info.UID)
	ch := parent.NewInode(ctx, ops, gofs.StableAttr{Mode: fuse.S_IFREG, Ino: ino})
	// Concurrent or earlier lookups share one node, which may know a
	// corrected size.
	m, ok := ch.Operations().(*messageNode)
	if !ok {
		acct.st.log.Error("inode number collision", "account", acct.name, "mailbox", mailbox, "uid", info.UID, "ino", ino)
		return nil, syscall.EIO
	}
	m.fillAttr(&out.Attr)
	out.SetEntryTimeout(fileTimeout)
	out.SetAttrTimeout(fileTimeout)
	return ch, 0
}

// searchRoot returns the account's .search directory (searchRootNode),
// which Readdir does not list; it shadows a top-level mailbox of that name.
func (n *folderNode) searchRoot(ctx context.Context, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ch := n.NewInode(ctx, &searchRootNode{acct: n.acct}, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: searchIno(n.acct.name, "")})
	if _, ok := ch.Operations().(*searchRootNode); !ok {
		return nil, syscall.EIO
	}
	dirAttr(n.acct.st, &out.Attr, n.acct.canSearch())
	out.SetEntryTimeout(dirTimeout)
	out.SetAttrTimeout(dirTimeout)
	return ch, 0
}
