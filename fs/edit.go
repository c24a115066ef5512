package fs

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/remote"
)

var (
	_ = (gofs.NodeUnlinker)((*folderNode)(nil))
	_ = (gofs.NodeRenamer)((*folderNode)(nil))
	_ = (gofs.NodeMkdirer)((*folderNode)(nil))
	_ = (gofs.NodeRmdirer)((*folderNode)(nil))
)

// Unlink removes a message through the Source's Remover (EACCES without
// one).
func (n *folderNode) Unlink(ctx context.Context, name string) syscall.Errno {
	rm, ok := n.acct.src.(Remover)
	if !ok {
		return syscall.EACCES
	}
	mailbox, uidValidity, info, errno := n.findMessage(ctx, name)
	if errno != 0 {
		return errno
	}
	if err := rm.Remove(ctx, mailbox, info.UID); err != nil {
		return n.acct.fail(ctx, "remove message", err, "mailbox", mailbox, "uid", info.UID)
	}
	n.acct.own(remote.Change{Mailbox: mailbox, UIDValidity: uidValidity, Removed: []remote.MessageInfo{info}})
	return 0
}

// Rename moves a message into another mailbox of the account (Mover) or
// renames a mailbox (FolderEditor); EACCES when the Source cannot. A moved
// message takes the name its new UID gives it, whatever name the command
// gave. Renaming a message within its mailbox is refused (EPERM: names are
// derived from the message), so is moving one into a directory that cannot
// hold messages or to the root; a rename to another account or to the
// outbox answers EXDEV, so that mv copies and removes.
func (n *folderNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*folderNode)
	switch {
	case !ok:
		if _, ok := newParent.(*rootNode); ok {
			return syscall.EPERM
		}
		return syscall.EXDEV
	case np.acct != n.acct:
		return syscall.EXDEV
	case flags&gofs.RENAME_EXCHANGE != 0:
		return syscall.EINVAL
	}
	mboxes, errno := n.mailboxes(ctx)
	if errno != 0 {
		return errno
	}
	lv := describe(mboxes, n.mailboxPath())
	if !lv.exists {
		return syscall.ENOENT
	}
	if d, ok := lv.subdir(name); ok {
		return n.renameDir(ctx, mboxes, d, np, newName)
	}
	return n.moveMessage(ctx, name, np, newName)
}

// moveMessage moves the message called name into np's mailbox.
func (n *folderNode) moveMessage(ctx context.Context, name string, np *folderNode, newName string) syscall.Errno {
	mv, ok := n.acct.src.(Mover)
	if !ok {
		return syscall.EACCES
	}
	from, uidValidity, info, errno := n.findMessage(ctx, name)
	if errno != 0 {
		return errno
	}
	lv, errno := np.level(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	to, ok := lv.selectable()
	if !ok || to.Name == from {
		return syscall.EPERM
	}
	uid, err := mv.Move(ctx, from, info.UID, to.Name)
	if err != nil {
		return n.acct.fail(ctx, "move message", err, "mailbox", from, "uid", info.UID, "to", to.Name)
	}
	n.acct.own(remote.Change{Mailbox: from, UIDValidity: uidValidity, Removed: []remote.MessageInfo{info}})
	n.acct.placed(ctx, to.Name, uid, false)
	// The kernel now has the old message under newName in np; the
	// message has another UID there, and so another name.
	notifyEntry(&np.Inode, newName)
	return 0
}

// renameDir renames the mailbox shown as d (and every mailbox under it) to
// np's path plus newName.
func (n *folderNode) renameDir(ctx context.Context, mboxes []remote.Mailbox, d subdir, np *folderNode, newName string) syscall.Errno {
	fe, ok := n.acct.src.(FolderEditor)
	if !ok {
		return syscall.EACCES
	}
	delim := delimiter(mboxes)
	oldPath, newPath := n.childPath(d.component), np.childPath(newName)
	if errno := checkMailboxPath(newPath, delim); errno != 0 {
		return errno
	}
	oldName, newMailbox := joinPath(oldPath, delim), joinPath(newPath, delim)
	if oldName == newMailbox {
		return 0
	}
	if err := fe.RenameMailbox(ctx, oldName, newMailbox); err != nil {
		return n.acct.fail(ctx, "rename mailbox", err, "mailbox", oldName, "to", newMailbox)
	}
	// The kernel keeps the directory's inode (and those under it) under
	// the new name: they must now stand for the new mailbox names.
	if ch := n.GetChild(d.name); ch != nil {
		relocate(ch, oldPath, newPath, delim)
	}
	return 0
}

// relocate makes the directory or message node ch, and every node under
// it, stand for the mailbox names under newPath instead of oldPath.
func relocate(ch *gofs.Inode, oldPath, newPath []string, delim rune) {
	switch ops := ch.Operations().(type) {
	case *folderNode:
		if p := ops.mailboxPath(); len(p) >= len(oldPath) && slices.Equal(p[:len(oldPath)], oldPath) {
			p = slices.Concat(newPath, p[len(oldPath):])
			ops.path.Store(&p)
		}
		for _, c := range ch.Children() {
			relocate(c, oldPath, newPath, delim)
		}
	case *messageNode:
		oldName := joinPath(oldPath, delim)
		if mb := ops.mailboxName(); mb == oldName || strings.HasPrefix(mb, oldName+string(delim)) {
			mb = joinPath(newPath, delim) + mb[len(oldName):]
			ops.mailbox.Store(&mb)
		}
	}
}

// Mkdir creates a mailbox through the Source's FolderEditor (EACCES
// without one): account.createMailbox.
func (n *folderNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if errno := n.acct.createMailbox(ctx, n.mailboxPath(), name); errno != 0 {
		return nil, errno
	}
	return n.dirChild(ctx, subdir{name: name, component: name}, out)
}

// Rmdir deletes an empty mailbox through the Source's FolderEditor
// (EACCES without one): account.deleteMailbox.
func (n *folderNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.acct.deleteMailbox(ctx, n.mailboxPath(), name)
}

// createMailbox creates the mailbox name under the levels parent through
// the Source's FolderEditor (EACCES without one). A name holding the
// account's delimiter is refused (EINVAL), and so is a nested one when the
// account has no delimiter (EPERM).
func (a *account) createMailbox(ctx context.Context, parent []string, name string) syscall.Errno {
	fe, ok := a.src.(FolderEditor)
	if !ok {
		return syscall.EACCES
	}
	mboxes, errno := a.mailboxes(ctx, parent)
	if errno != 0 {
		return errno
	}
	lv := describe(mboxes, parent)
	if !lv.exists {
		return syscall.ENOENT
	}
	if _, ok := lv.subdir(name); ok {
		return syscall.EEXIST
	}
	delim := delimiter(mboxes)
	path := slices.Concat(parent, []string{name})
	if errno := checkMailboxPath(path, delim); errno != 0 {
		return errno
	}
	mailbox := joinPath(path, delim)
	if err := fe.CreateMailbox(ctx, mailbox); err != nil {
		return a.fail(ctx, "create mailbox", err, "mailbox", mailbox)
	}
	return 0
}

// deleteMailbox deletes the mailbox shown as name under the levels parent
// through the Source's FolderEditor (EACCES without one). A directory with
// sub-directories or messages, or one only implied by its children, is not
// empty (ENOTEMPTY); the listing is synced first, so mail that just
// arrived is not deleted with it.
func (a *account) deleteMailbox(ctx context.Context, parent []string, name string) syscall.Errno {
	fe, ok := a.src.(FolderEditor)
	if !ok {
		return syscall.EACCES
	}
	mboxes, errno := a.mailboxes(ctx, parent)
	if errno != 0 {
		return errno
	}
	d, ok := describe(mboxes, parent).subdir(name)
	if !ok {
		return syscall.ENOENT
	}
	child := describe(mboxes, slices.Concat(parent, []string{d.component}))
	if len(child.subdirs) > 0 || child.self == nil {
		return syscall.ENOTEMPTY
	}
	mailbox := child.self.Name
	if child.self.Selectable() {
		l, err := a.src.List(ctx, mailbox, 0)
		if err != nil && l == nil {
			return a.fail(ctx, "list mailbox", err, "mailbox", mailbox)
		}
		if l != nil && len(l.Messages) > 0 {
			return syscall.ENOTEMPTY
		}
	}
	if err := fe.DeleteMailbox(ctx, mailbox); err != nil {
		return a.fail(ctx, "delete mailbox", err, "mailbox", mailbox)
	}
	return 0
}

// mailboxes returns the account's mailbox list, refreshed when older than
// StaleAfter.
func (n *folderNode) mailboxes(ctx context.Context) ([]remote.Mailbox, syscall.Errno) {
	return n.acct.mailboxes(ctx, n.mailboxPath())
}

// mailboxes returns the account's mailbox list, refreshed when older than
// StaleAfter; path names the directory asking, for the log.
func (a *account) mailboxes(ctx context.Context, path []string) ([]remote.Mailbox, syscall.Errno) {
	mboxes, err := a.src.Mailboxes(ctx, a.st.staleAfter)
	if err != nil && mboxes == nil {
		return nil, a.fail(ctx, "list mailboxes", err, "path", path)
	}
	return mboxes, 0
}

// findMessage returns the mailbox, UIDVALIDITY and listing entry of the
// message file called name in this directory.
func (n *folderNode) findMessage(ctx context.Context, name string) (string, uint32, remote.MessageInfo, syscall.Errno) {
	uid, ok := ParseUID(name)
	if !ok {
		return "", 0, remote.MessageInfo{}, syscall.ENOENT
	}
	lv, errno := n.level(ctx, lookupMaxAge)
	if errno != 0 {
		return "", 0, remote.MessageInfo{}, errno
	}
	mbox, ok := lv.selectable()
	if !ok {
		return "", 0, remote.MessageInfo{}, syscall.ENOENT
	}
	for _, maxAge := range []time.Duration{lookupMaxAge, n.acct.st.staleAfter} {
		l, errno := n.list(ctx, mbox.Name, maxAge)
		if errno != 0 {
			return "", 0, remote.MessageInfo{}, errno
		}
		if info, ok := l.Find(uid); ok && FileName(info, n.acct.st.style) == name {
			return mbox.Name, l.UIDValidity, info, 0
		}
	}
	return "", 0, remote.MessageInfo{}, syscall.ENOENT
}

// delimiter returns the account's hierarchy delimiter: the first one a
// mailbox reports, 0 when none has one.
func delimiter(mboxes []remote.Mailbox) rune {
	for _, m := range mboxes {
		if m.Delim != 0 {
			return m.Delim
		}
	}
	return 0
}

// checkMailboxPath checks that the levels of path make a mailbox name with
// delim: no level holds the delimiter (EINVAL), and a nested name needs
// one (EPERM).
func checkMailboxPath(path []string, delim rune) syscall.Errno {
	switch {
	case len(path) > 1 && delim == 0:
		return syscall.EPERM
	case delim != 0 && strings.ContainsRune(path[len(path)-1], delim):
		return syscall.EINVAL
	}
	return 0
}

// joinPath returns the mailbox name of the levels of path.
func joinPath(path []string, delim rune) string {
	return strings.Join(path, string(delim))
}
