package fs

import (
	"context"
	"slices"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/remote"
)

// The Maildir view: MOUNT/.maildir/<account>/ shows every account's
// mailboxes again, each selectable one as a Maildir (cur/, new/, tmp/)
// nested like the .eml tree, for mail clients and indexers. Its message
// files are the .eml tree's messages under Maildir names (maildirname.go):
// the same inodes, so both names share one cache and the kernel's pages.
// Changes follow the Maildir conventions (maildiredit.go).

// maildirDirName is the root entry of the Maildir view. The root does not
// list it (like ZFS's hidden .zfs), so that grep -r and find over the
// mount read every message once; it is there for whoever names it.
const maildirDirName = ".maildir"

// The directories of a Maildir.
const (
	maildirCur = "cur"
	maildirNew = "new"
	maildirTmp = "tmp"
)

// isMaildirSubdir reports whether name is cur, new or tmp, which a
// mailbox's Maildir holds: a child mailbox of such a name is not shown in
// the view.
func isMaildirSubdir(name string) bool {
	return name == maildirCur || name == maildirNew || name == maildirTmp
}

// maildirState is the Maildir view's own state of one account, which the
// server does not keep: which unread messages a client moved to cur/ (a
// mail client's "old" mail: seen in a listing but not read), and the files
// in tmp/ directories.
type maildirState struct {
	mu  sync.Mutex
	old map[messageKey]struct{}
	tmp map[string]map[string]*tmpNode // by mailbox, then name
	// aliases are the names clients gave the files they delivered from
	// tmp/, by directory (maildiredit.go).
	aliases map[aliasKey]map[string]tmpAlias
	// changed is when the mount last saw each mailbox change (the mtime
	// of its cur/ and new/: mutt rescans a Maildir whose directories'
	// mtime moved).
	changed map[string]time.Time
}

// messageKey identifies a message of an account.
type messageKey struct {
	mailbox          string
	uidValidity, uid uint32
}

func newMaildirState() *maildirState {
	return &maildirState{old: make(map[messageKey]struct{}), tmp: make(map[string]map[string]*tmpNode),
		aliases: make(map[aliasKey]map[string]tmpAlias), changed: make(map[string]time.Time)}
}

// dir returns the Maildir directory (cur or new) that shows message info
// of mailbox: cur when it is \Seen, or unread but moved there by a client.
func (s *maildirState) dir(mailbox string, uidValidity uint32, info remote.MessageInfo) string {
	if hasFlag(info.Flags, `\Seen`) {
		return maildirCur
	}
	s.mu.Lock()
	_, old := s.old[messageKey{mailbox, uidValidity, info.UID}]
	s.mu.Unlock()
	if old {
		return maildirCur
	}
	return maildirNew
}

// touch records that mailbox changed now.
func (s *maildirState) touch(mailbox string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed[mailbox] = time.Now()
}

// changedAt returns when mailbox last changed, or since, whichever is
// later.
func (s *maildirState) changedAt(mailbox string, since time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.changed[mailbox]; t.After(since) {
		return t
	}
	return since
}

// setOld records whether the unread message k stays in cur/.
func (s *maildirState) setOld(k messageKey, old bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old {
		s.old[k] = struct{}{}
	} else {
		delete(s.old, k)
	}
}

// maildirRootNode is MOUNT/.maildir: one directory per account.
type maildirRootNode struct {
	gofs.Inode
	refuseRemoval
	st       *mountState
	accounts []*account
}

var (
	_ = (gofs.NodeOnAdder)((*maildirRootNode)(nil))
	_ = (gofs.NodeGetattrer)((*maildirRootNode)(nil))
)

// OnAdd adds the account directories.
func (r *maildirRootNode) OnAdd(ctx context.Context) {
	for _, a := range r.accounts {
		dir := &maildirFolderNode{acct: a}
		ch := r.NewPersistentInode(ctx, dir, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: maildirIno(a.name, nil, "")})
		r.AddChild(a.name, ch, true)
	}
}

// Getattr reports a read-only directory.
func (r *maildirRootNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(r.st, &out.Attr, false)
	out.SetTimeout(dirTimeout)
	return 0
}

// maildirFolderNode is a directory of an account in the Maildir view: the
// account directory (empty path) or one level of its mailbox hierarchy,
// holding cur/, new/ and tmp/ when the mailbox is selectable, and its child
// mailboxes. Unlike the .eml tree's, its path never changes: a mailbox
// renamed in the .eml tree is found under its new name.
type maildirFolderNode struct {
	gofs.Inode
	refuseRemoval
	acct *account
	path []string
}

var (
	_ = (gofs.NodeGetattrer)((*maildirFolderNode)(nil))
	_ = (gofs.NodeReaddirer)((*maildirFolderNode)(nil))
	_ = (gofs.NodeLookuper)((*maildirFolderNode)(nil))
	_ = (gofs.NodeMkdirer)((*maildirFolderNode)(nil))
	_ = (gofs.NodeRmdirer)((*maildirFolderNode)(nil))
	_ = (gofs.NodeRenamer)((*maildirFolderNode)(nil))
)

// Getattr reports a directory, writable when the account is.
func (n *maildirFolderNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.acct.st, &out.Attr, n.acct.writable())
	out.SetTimeout(dirTimeout)
	return 0
}

// Readdir lists the child mailboxes and, for a selectable mailbox, cur,
// new and tmp.
func (n *maildirFolderNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	lv, errno := n.acct.level(ctx, n.path, n.acct.st.staleAfter)
	if errno != 0 {
		return nil, errno
	}
	var entries []fuse.DirEntry
	if _, ok := lv.selectable(); ok {
		for _, kind := range []string{maildirCur, maildirNew, maildirTmp} {
			entries = append(entries, fuse.DirEntry{Name: kind, Mode: fuse.S_IFDIR, Ino: maildirIno(n.acct.name, n.path, kind)})
		}
	}
	for _, d := range lv.subdirs {
		if isMaildirSubdir(d.name) {
			continue
		}
		entries = append(entries, fuse.DirEntry{Name: d.name, Mode: fuse.S_IFDIR, Ino: maildirIno(n.acct.name, n.childPath(d.component), "")})
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds cur, new or tmp, or a child mailbox's directory.
func (n *maildirFolderNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	for _, maxAge := range []time.Duration{lookupMaxAge, n.acct.st.staleAfter} {
		lv, errno := n.acct.level(ctx, n.path, maxAge)
		if errno != 0 {
			return nil, errno
		}
		if isMaildirSubdir(name) {
			if _, ok := lv.selectable(); ok {
				return n.child(ctx, &maildirBoxNode{folder: n, kind: name}, maildirIno(n.acct.name, n.path, name), out)
			}
			continue
		}
		if d, ok := lv.subdir(name); ok {
			path := n.childPath(d.component)
			return n.child(ctx, &maildirFolderNode{acct: n.acct, path: path}, maildirIno(n.acct.name, path, ""), out)
		}
	}
	return nil, syscall.ENOENT
}

// child returns the inode of the child directory ops, of number ino.
func (n *maildirFolderNode) child(ctx context.Context, ops gofs.InodeEmbedder, ino uint64, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ch := n.NewInode(ctx, ops, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: ino})
	switch ch.Operations().(type) {
	case *maildirFolderNode, *maildirBoxNode:
	default:
		n.acct.st.log.Error("inode number collision", "account", n.acct.name, "path", n.path, "ino", ino)
		return nil, syscall.EIO
	}
	dirAttr(n.acct.st, &out.Attr, n.acct.writable())
	out.SetEntryTimeout(dirTimeout)
	out.SetAttrTimeout(dirTimeout)
	return ch, 0
}

func (n *maildirFolderNode) childPath(component string) []string {
	return slices.Concat(n.path, []string{component})
}

// Mkdir creates a mailbox (account.createMailbox), which is a Maildir at
// once: mkdir -p NAME/cur NAME/new NAME/tmp works. cur, new and tmp
// exist in a selectable mailbox (EEXIST) and cannot be made in another
// (EPERM).
func (n *maildirFolderNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if isMaildirSubdir(name) {
		lv, errno := n.acct.level(ctx, n.path, lookupMaxAge)
		if errno != 0 {
			return nil, errno
		}
		if _, ok := lv.selectable(); ok {
			return nil, syscall.EEXIST
		}
		return nil, syscall.EPERM
	}
	if errno := n.acct.createMailbox(ctx, n.path, name); errno != 0 {
		return nil, errno
	}
	return n.Lookup(ctx, name, out)
}

// Rmdir deletes an empty mailbox (account.deleteMailbox); cur, new and
// tmp cannot be removed (EPERM).
func (n *maildirFolderNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if isMaildirSubdir(name) {
		return syscall.EPERM
	}
	return n.acct.deleteMailbox(ctx, n.path, name)
}

// Rename refuses: mailboxes are renamed in the .eml tree (mv DIR), which
// keeps the nodes the kernel holds there in step.
func (n *maildirFolderNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EPERM
}

// maildirBoxNode is the cur/, new/ or tmp/ directory of a mailbox's
// Maildir. cur/ and new/ list the mailbox's messages by maildirState.dir;
// tmp/ holds the files written there until they are renamed into cur/ or
// new/.
type maildirBoxNode struct {
	gofs.Inode
	refuseRemoval
	folder *maildirFolderNode
	kind   string // maildirCur, maildirNew or maildirTmp
}

var (
	_ = (gofs.NodeGetattrer)((*maildirBoxNode)(nil))
	_ = (gofs.NodeReaddirer)((*maildirBoxNode)(nil))
	_ = (gofs.NodeLookuper)((*maildirBoxNode)(nil))
)

func (b *maildirBoxNode) acct() *account { return b.folder.acct }

// Getattr reports a directory, writable when the account is, whose mtime
// is when the mount last saw its mailbox change (the mount's start before
// that), so that a client that watches it (mutt) rescans.
func (b *maildirBoxNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	a := b.acct()
	dirAttr(a.st, &out.Attr, a.writable())
	if mailbox, errno := b.mailbox(ctx, lookupMaxAge); errno == 0 {
		setTimes(&out.Attr, a.md.changedAt(mailbox, a.st.started))
	}
	out.SetTimeout(dirTimeout)
	return 0
}

// mailbox returns the name of the directory's mailbox, from the mailbox
// list refreshed when older than maxAge; ENOENT when it is gone.
func (b *maildirBoxNode) mailbox(ctx context.Context, maxAge time.Duration) (string, syscall.Errno) {
	lv, errno := b.acct().level(ctx, b.folder.path, maxAge)
	if errno != 0 {
		return "", errno
	}
	mbox, ok := lv.selectable()
	if !ok {
		return "", syscall.ENOENT
	}
	return mbox.Name, 0
}

// Readdir lists the messages of the mailbox this directory shows (synced
// when older than StaleAfter), or the files of tmp/.
func (b *maildirBoxNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	a := b.acct()
	mailbox, errno := b.mailbox(ctx, a.st.staleAfter)
	if errno != 0 {
		return nil, errno
	}
	if b.kind == maildirTmp {
		return gofs.NewListDirStream(a.md.tmpEntries(mailbox)), 0
	}
	l, errno := a.list(ctx, mailbox, a.st.staleAfter)
	if errno != 0 {
		return nil, errno
	}
	entries := make([]fuse.DirEntry, 0, len(l.Messages))
	for _, m := range l.Messages {
		if a.md.dir(mailbox, l.UIDValidity, m) != b.kind {
			continue
		}
		entries = append(entries, fuse.DirEntry{
			Name: maildirName(l.UIDValidity, m),
			Mode: fuse.S_IFREG,
			Ino:  messageIno(a.name, mailbox, l.UIDValidity, m.UID),
		})
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds a message by its Maildir name, which must be the one the
// listing gives now, in this directory (another set of flags, or the
// other directory, is ENOENT), or a file of tmp/. It must not find a
// message under a name it does not list: rename(2) of a file to another
// name of the same inode does nothing, so new/X would never move to
// cur/X:2, were cur/X:2, found.
func (b *maildirBoxNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	a := b.acct()
	mailbox, errno := b.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return nil, errno
	}
	if b.kind == maildirTmp {
		t := a.md.tmpFile(mailbox, name)
		if t == nil {
			return nil, syscall.ENOENT
		}
		t.sc.fillAttr(a.st, &out.Attr, draftPerm)
		out.SetEntryTimeout(outboxTimeout)
		out.SetAttrTimeout(outboxTimeout)
		return &t.Inode, 0
	}
	uidValidity, info, errno := b.find(ctx, mailbox, name)
	if errno == syscall.ENOENT {
		if t, ok := a.md.alias(mailbox, b.kind, name); ok {
			t.sc.fillAttr(a.st, &out.Attr, draftPerm)
			out.SetEntryTimeout(outboxTimeout)
			out.SetAttrTimeout(outboxTimeout)
			return &t.Inode, 0
		}
	}
	if errno != 0 {
		return nil, errno
	}
	return messageInode(ctx, &b.Inode, a, mailbox, uidValidity, info, out)
}

// find returns the listing entry of the message called name in this
// directory (cur or new) of mailbox: its name now, in this directory. The
// listing is trusted for lookupMaxAge, then synced once.
func (b *maildirBoxNode) find(ctx context.Context, mailbox, name string) (uint32, remote.MessageInfo, syscall.Errno) {
	a := b.acct()
	unique, _, _ := splitMaildirName(name)
	uid, uidValidity, ok := parseMaildirUnique(unique)
	if !ok {
		return 0, remote.MessageInfo{}, syscall.ENOENT
	}
	for _, maxAge := range []time.Duration{lookupMaxAge, a.st.staleAfter} {
		l, errno := a.list(ctx, mailbox, maxAge)
		if errno != 0 {
			return 0, remote.MessageInfo{}, errno
		}
		if l.UIDValidity != uidValidity {
			continue
		}
		if info, ok := l.Find(uid); ok && maildirName(uidValidity, info) == name && a.md.dir(mailbox, uidValidity, info) == b.kind {
			return uidValidity, info, 0
		}
	}
	return 0, remote.MessageInfo{}, syscall.ENOENT
}

// maildirIno returns the inode number of a directory of the Maildir view:
// the directory of the mailbox levels path (kind empty; nil path for the
// account directory) or its cur, new or tmp.
func maildirIno(account string, path []string, kind string) uint64 {
	return dirIno(account, slices.Concat([]string{"\x00maildir", kind}, path))
}
