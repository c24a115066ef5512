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

// Changes through the Maildir view, by the Maildir conventions:
//
//   - rename within a mailbox's cur/ and new/ to other flags: STORE FLAGS
//     (Flagger); a name without flags moved to cur/ adds \Seen, to new/
//     removes it; an unread message renamed into cur/ stays there (a
//     client's "old" mail) while the mount runs;
//   - rename that changes the unique part within a mailbox: EPERM;
//   - rename into another mailbox's cur/ or new/: MOVE (Mover), then the
//     new name's flags;
//   - unlink in cur/ or new/: the account's delete rule (Remover);
//   - a file created in tmp/ and renamed or linked into cur/ or new/:
//     APPEND (Appender) with the new name's flags; one created in cur/ or
//     new/ directly is appended on close, like cp into a folder.

var (
	_ = (gofs.NodeCreater)((*maildirBoxNode)(nil))
	_ = (gofs.NodeUnlinker)((*maildirBoxNode)(nil))
	_ = (gofs.NodeRenamer)((*maildirBoxNode)(nil))
	_ = (gofs.NodeLinker)((*maildirBoxNode)(nil))
	_ = (gofs.NodeMkdirer)((*maildirBoxNode)(nil))
)

// Create makes a file in tmp/, or starts a message written straight into
// cur/ or new/, appended on close with the flags its name gives (letters
// the view does not know are ignored).
func (b *maildirBoxNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	a := b.acct()
	if _, ok := a.src.(Appender); !ok {
		return nil, nil, 0, syscall.EACCES
	}
	mailbox, errno := b.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if b.kind != maildirTmp {
		_, info, hasInfo := splitMaildirName(name)
		fl, _ := maildirTargetFlags(nil, b.kind == maildirCur, info, hasInfo, false)
		return startAppend(ctx, a, &b.Inode, mailbox, name, fl, out)
	}
	sc, err := newScratch(a.st.tempDir)
	if err != nil {
		return nil, nil, 0, a.fail(ctx, "create temporary file", err, "mailbox", mailbox)
	}
	t := &tmpNode{st: a.st, sc: sc, mailbox: mailbox, name: name}
	ch := b.NewPersistentInode(ctx, t, gofs.StableAttr{Mode: fuse.S_IFREG})
	if !a.md.addTmp(t) {
		ch.ForgetPersistent()
		sc.close()
		return nil, nil, 0, syscall.EEXIST
	}
	t.addName()
	sc.fillAttr(a.st, &out.Attr, draftPerm)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return ch, t.open(), 0, 0
}

// Mkdir refuses: a Maildir's directories hold files only.
func (b *maildirBoxNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Unlink removes a message from cur/ or new/ by the account's delete rule
// (Remover; EACCES without one), or a file from tmp/.
func (b *maildirBoxNode) Unlink(ctx context.Context, name string) syscall.Errno {
	a := b.acct()
	mailbox, errno := b.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	if b.kind == maildirTmp {
		t := a.md.takeTmp(mailbox, name)
		if t == nil {
			return syscall.ENOENT
		}
		t.dropName()
		return 0
	}
	if al, ok := a.md.takeAlias(mailbox, b.kind, name); ok {
		return b.unlinkAlias(ctx, mailbox, al)
	}
	rm, ok := a.src.(Remover)
	if !ok {
		return syscall.EACCES
	}
	uidValidity, info, errno := b.find(ctx, mailbox, name)
	if errno != 0 {
		return errno
	}
	if err := rm.Remove(ctx, mailbox, info.UID); err != nil {
		return a.fail(ctx, "remove message", err, "mailbox", mailbox, "uid", info.UID)
	}
	a.md.setOld(messageKey{mailbox, uidValidity, info.UID}, false)
	a.own(remote.Change{Mailbox: mailbox, UIDValidity: uidValidity, Removed: []remote.MessageInfo{info}})
	return 0
}

// Rename changes a message's flags, moves it to another mailbox, or
// delivers a file of tmp/ (see above). A rename to another account or out
// of the view answers EXDEV, so that mv copies and removes.
func (b *maildirBoxNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	nb, ok := newParent.(*maildirBoxNode)
	switch {
	case flags&gofs.RENAME_EXCHANGE != 0:
		return syscall.EINVAL
	case !ok:
		switch newParent.(type) {
		case *maildirFolderNode, *maildirRootNode, *rootNode:
			return syscall.EPERM
		}
		return syscall.EXDEV
	case nb.acct() != b.acct():
		return syscall.EXDEV
	}
	a := b.acct()
	mailbox, errno := b.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	switch {
	case b.kind == maildirTmp && nb.kind == maildirTmp:
		return b.renameTmp(ctx, mailbox, name, nb, newName)
	case b.kind == maildirTmp:
		t := a.md.tmpFile(mailbox, name)
		if t == nil {
			return syscall.ENOENT
		}
		if errno := nb.deliver(ctx, t, newName); errno != 0 {
			return errno
		}
		if a.md.takeTmp(mailbox, name) == t {
			t.dropName()
		}
		return 0
	case nb.kind == maildirTmp:
		return syscall.EPERM
	}
	return b.renameMessage(ctx, mailbox, name, nb, newName)
}

// renameTmp renames a file of tmp/ within the tmp/ directories of the
// account.
func (b *maildirBoxNode) renameTmp(ctx context.Context, mailbox, name string, nb *maildirBoxNode, newName string) syscall.Errno {
	a := b.acct()
	to, errno := nb.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	if !a.md.moveTmp(mailbox, name, to, newName) {
		return syscall.ENOENT
	}
	return 0
}

// renameMessage gives the message called name in this directory (cur or
// new of mailbox) the name newName in nb (cur or new).
func (b *maildirBoxNode) renameMessage(ctx context.Context, mailbox, name string, nb *maildirBoxNode, newName string) syscall.Errno {
	a := b.acct()
	uidValidity, info, errno := b.find(ctx, mailbox, name)
	if errno != 0 {
		return errno
	}
	to, errno := nb.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	unique, newInfo, hasInfo := splitMaildirName(newName)
	flags, err := maildirTargetFlags(info.Flags, nb.kind == maildirCur, newInfo, hasInfo, true)
	if err != nil {
		a.st.log.Debug("maildir rename refused", "account", a.name, "mailbox", mailbox, "name", newName, "err", err)
		return syscall.EINVAL
	}
	if to != mailbox {
		return b.moveMessage(ctx, mailbox, uidValidity, info, nb, to, newName, flags)
	}
	if unique != maildirUnique(uidValidity, info) {
		return syscall.EPERM // a message's name is derived from it
	}
	if !sameFlags(flags, info.Flags) {
		f, ok := a.src.(Flagger)
		if !ok {
			return syscall.EACCES
		}
		if err := f.SetFlags(ctx, mailbox, info.UID, flags); err != nil {
			return a.fail(ctx, "set flags", err, "mailbox", mailbox, "uid", info.UID)
		}
	}
	a.md.setOld(messageKey{mailbox, uidValidity, info.UID}, nb.kind == maildirCur && !hasFlag(flags, `\Seen`))
	info.Flags = flags
	a.own(remote.Change{Mailbox: mailbox, UIDValidity: uidValidity, Flagged: []remote.MessageInfo{info}})
	if a.md.dir(mailbox, uidValidity, info) != nb.kind || maildirName(uidValidity, info) != newName {
		notifyEntry(&nb.Inode, newName) // not the name the message has
	}
	return 0
}

// moveMessage moves message info of mailbox into mailbox to (nb's), with
// flags: MOVE, then STORE of the flags when they differ.
func (b *maildirBoxNode) moveMessage(ctx context.Context, mailbox string, uidValidity uint32, info remote.MessageInfo, nb *maildirBoxNode, to, newName string, flags []string) syscall.Errno {
	a := b.acct()
	mv, ok := a.src.(Mover)
	if !ok {
		return syscall.EACCES
	}
	uid, err := mv.Move(ctx, mailbox, info.UID, to)
	if err != nil {
		return a.fail(ctx, "move message", err, "mailbox", mailbox, "uid", info.UID, "to", to)
	}
	a.md.setOld(messageKey{mailbox, uidValidity, info.UID}, false)
	a.own(remote.Change{Mailbox: mailbox, UIDValidity: uidValidity, Removed: []remote.MessageInfo{info}})
	if uid != 0 {
		if !sameFlags(flags, info.Flags) {
			if f, ok := a.src.(Flagger); ok {
				if err := f.SetFlags(ctx, to, uid, flags); err != nil {
					// The message moved; only its flags are as they were.
					a.fail(ctx, "set flags of the moved message", err, "mailbox", to, "uid", uid)
				}
			}
		}
	}
	a.placed(ctx, to, uid, nb.kind == maildirCur)
	// The kernel now has the old message under newName in nb; the message
	// has another UID there, and so another name.
	notifyEntry(&nb.Inode, newName)
	return 0
}

// placed records a message the mount put into mailbox to as uid (0:
// unknown, nothing to do): an unread one given a name in cur/ (old) stays
// there, and the kernel learns its names.
func (a *account) placed(ctx context.Context, to string, uid uint32, old bool) {
	if uid == 0 {
		return
	}
	l, errno := a.list(ctx, to, lookupMaxAge)
	if errno != 0 {
		return
	}
	info, ok := l.Find(uid)
	if !ok {
		return
	}
	a.md.setOld(messageKey{to, l.UIDValidity, uid}, old && !hasFlag(info.Flags, `\Seen`))
	a.own(remote.Change{Mailbox: to, UIDValidity: l.UIDValidity, Added: []remote.MessageInfo{info}})
}

// deliver appends the file t of tmp/ to this directory's mailbox (cur or
// new) with the flags newName gives: a Maildir delivery. t stays in tmp/.
func (b *maildirBoxNode) deliver(ctx context.Context, t *tmpNode, newName string) syscall.Errno {
	a := b.acct()
	app, ok := a.src.(Appender)
	if !ok {
		return syscall.EACCES
	}
	to, errno := b.mailbox(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	_, info, hasInfo := splitMaildirName(newName)
	flags, _ := maildirTargetFlags(nil, b.kind == maildirCur, info, hasInfo, false)
	msg, size, err := t.sc.content()
	if err != nil {
		return syscall.ENOENT
	}
	uid, err := app.Append(ctx, to, msg, size, flags)
	if err != nil {
		return a.fail(ctx, "append message", err, "mailbox", to, "name", newName)
	}
	a.st.log.Debug("message delivered", "account", a.name, "mailbox", to, "uid", uid)
	a.placed(ctx, to, uid, b.kind == maildirCur)
	// The message has the name its UID gives it; the client's name stays
	// a while for the client that delivered it (mutt sets its time,
	// notmuch insert indexes it).
	a.md.addAlias(to, b.kind, newName, t, uid)
	return 0
}

// unlinkAlias removes the message delivered under the client's name al:
// the client takes back what it delivered (notmuch insert does when it
// cannot index it).
func (b *maildirBoxNode) unlinkAlias(ctx context.Context, mailbox string, al tmpAlias) syscall.Errno {
	a := b.acct()
	if al.uid == 0 {
		return 0 // the server did not say where it went: nothing to name
	}
	rm, ok := a.src.(Remover)
	if !ok {
		return syscall.EACCES
	}
	if err := rm.Remove(ctx, mailbox, al.uid); err != nil {
		return a.fail(ctx, "remove message", err, "mailbox", mailbox, "uid", al.uid)
	}
	if l, errno := a.list(ctx, mailbox, lookupMaxAge); errno == 0 {
		a.own(remote.Change{Mailbox: mailbox, UIDValidity: l.UIDValidity, Removed: []remote.MessageInfo{{UID: al.uid}}})
	}
	return 0
}

// Link delivers a file of tmp/ into cur/ or new/ (the other way a Maildir
// delivery agent commits a message: link, then unlink the tmp/ name);
// EPERM for anything else, which makes mutt rename instead.
func (b *maildirBoxNode) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	t, ok := target.(*tmpNode)
	if !ok || b.kind == maildirTmp {
		return nil, syscall.EPERM
	}
	if errno := b.deliver(ctx, t, name); errno != 0 {
		return nil, errno
	}
	t.sc.fillAttr(b.acct().st, &out.Attr, draftPerm)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return &t.Inode, 0
}

// tmpNode is a file in a Maildir's tmp/: an ordinary file, kept in a
// scratch file (never on the server, so a crash before it is delivered
// appends nothing). Once delivered it is also, for a while, the file under
// the name the client gave in cur/ or new/ (an alias). It has names (its
// tmp/ entry, its aliases) and open handles; the node lives while it has
// a name, its bytes while it has a name or a handle.
type tmpNode struct {
	gofs.Inode
	st *mountState
	sc *scratch

	// mu guards the fields below; mailbox and name are those of its
	// entry in maildirState.tmp while it has one.
	mu      sync.Mutex
	mailbox string
	name    string
	names   int
	opens   int
}

var (
	_ = (gofs.NodeGetattrer)((*tmpNode)(nil))
	_ = (gofs.NodeSetattrer)((*tmpNode)(nil))
	_ = (gofs.NodeOpener)((*tmpNode)(nil))
	_ = (gofs.NodeSetxattrer)((*tmpNode)(nil))
)

// Getattr reports a 0600 file of the size written.
func (t *tmpNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	t.sc.fillAttr(t.st, &out.Attr, draftPerm)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Setattr truncates and ignores mode, owner and times.
func (t *tmpNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		if err := t.sc.truncate(int64(size)); err != nil {
			return syscall.EBADF
		}
	}
	return t.Getattr(ctx, fh, out)
}

// Open opens the file for reading and writing (O_TRUNC empties it).
func (t *tmpNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_TRUNC != 0 {
		if err := t.sc.truncate(0); err != nil {
			return nil, 0, syscall.ENOENT
		}
	}
	return t.open(), fuse.FOPEN_DIRECT_IO, 0
}

// Setxattr refuses (ENOTSUP, so that cp -p finds no ACLs to copy).
func (t *tmpNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

// open returns a new handle.
func (t *tmpNode) open() *tmpHandle {
	t.mu.Lock()
	t.opens++
	t.mu.Unlock()
	return &tmpHandle{t: t}
}

// addName counts one more name of the file.
func (t *tmpNode) addName() {
	t.mu.Lock()
	t.names++
	t.mu.Unlock()
}

// dropName counts one name less: without names the node is no longer
// kept for lookups, and its bytes go with the last handle.
func (t *tmpNode) dropName() {
	t.mu.Lock()
	t.names--
	unnamed, last := t.names == 0, t.names == 0 && t.opens == 0
	t.mu.Unlock()
	if unnamed {
		t.ForgetPersistent()
	}
	if last {
		t.sc.close()
	}
}

// tmpHandle is an open file of tmp/.
type tmpHandle struct {
	t    *tmpNode
	once sync.Once
}

var (
	_ = (gofs.FileReader)((*tmpHandle)(nil))
	_ = (gofs.FileWriter)((*tmpHandle)(nil))
	_ = (gofs.FileFsyncer)((*tmpHandle)(nil))
	_ = (gofs.FileFlusher)((*tmpHandle)(nil))
	_ = (gofs.FileReleaser)((*tmpHandle)(nil))
)

// Read reads what was written.
func (h *tmpHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.t.sc.readAt(dest, off)
	if err != nil {
		return nil, syscall.EBADF
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Write writes at off.
func (h *tmpHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.t.sc.writeAt(data, off)
	if err != nil {
		return uint32(n), Errno(err)
	}
	return uint32(n), 0
}

// Fsync does nothing: a file of tmp/ is not kept across a restart (a
// delivery commits by its rename, which appends to the server).
func (h *tmpHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno { return 0 }

// Flush does nothing.
func (h *tmpHandle) Flush(ctx context.Context) syscall.Errno { return 0 }

// Release drops the bytes when this was the last handle of a file that
// has no name left.
func (h *tmpHandle) Release(ctx context.Context) syscall.Errno {
	h.once.Do(func() {
		t := h.t
		t.mu.Lock()
		t.opens--
		last := t.opens == 0 && t.names == 0
		t.mu.Unlock()
		if last {
			t.sc.close()
		}
	})
	return 0
}

// addTmp adds t to its mailbox's tmp/; false when the name is taken.
func (s *maildirState) addTmp(t *tmpNode) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	files := s.tmp[t.mailbox]
	if files == nil {
		files = make(map[string]*tmpNode)
		s.tmp[t.mailbox] = files
	}
	if files[t.name] != nil {
		return false
	}
	files[t.name] = t
	return true
}

// tmpFile returns the file name of mailbox's tmp/, nil when there is none.
func (s *maildirState) tmpFile(mailbox, name string) *tmpNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tmp[mailbox][name]
}

// takeTmp removes the file name from mailbox's tmp/ and returns it; nil
// when there is none.
func (s *maildirState) takeTmp(mailbox, name string) *tmpNode {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tmp[mailbox][name]
	if t != nil {
		delete(s.tmp[mailbox], name)
	}
	return t
}

// moveTmp renames a file of tmp/, replacing what the new name had (whose
// bytes go with its last handle); false when there is no such file.
func (s *maildirState) moveTmp(mailbox, name, to, newName string) bool {
	s.mu.Lock()
	t := s.tmp[mailbox][name]
	if t == nil {
		s.mu.Unlock()
		return false
	}
	delete(s.tmp[mailbox], name)
	if s.tmp[to] == nil {
		s.tmp[to] = make(map[string]*tmpNode)
	}
	replaced := s.tmp[to][newName]
	s.tmp[to][newName] = t
	t.mu.Lock()
	t.mailbox, t.name = to, newName
	t.mu.Unlock()
	s.mu.Unlock()
	if replaced != nil && replaced != t {
		replaced.dropName()
	}
	return true
}

// tmpEntries lists mailbox's tmp/.
func (s *maildirState) tmpEntries(mailbox string) []fuse.DirEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tmp[mailbox]))
	for name := range s.tmp[mailbox] {
		names = append(names, name)
	}
	slices.Sort(names)
	entries := make([]fuse.DirEntry, 0, len(names))
	for _, name := range names {
		entries = append(entries, fuse.DirEntry{Name: name, Mode: fuse.S_IFREG, Ino: s.tmp[mailbox][name].StableAttr().Ino})
	}
	return entries
}

// aliasLifetime is how long the name a client gave a delivered message in
// cur/ or new/ keeps finding the delivered file.
const aliasLifetime = time.Minute

// tmpAlias is the name a client gave a file of tmp/ it delivered: the
// file, the UID the message got (0: unknown) and when the name goes.
type tmpAlias struct {
	t     *tmpNode
	uid   uint32
	until time.Time
}

// aliasKey is the directory of an alias: a mailbox's cur/ or new/.
type aliasKey struct {
	mailbox, kind string
}

// addAlias makes name in mailbox's directory kind the file t, delivered
// as uid, for aliasLifetime; it drops the aliases whose time is up.
func (s *maildirState) addAlias(mailbox, kind, name string, t *tmpNode, uid uint32) {
	t.addName()
	s.mu.Lock()
	expired := s.expireAliasesLocked(time.Now())
	k := aliasKey{mailbox, kind}
	if s.aliases[k] == nil {
		s.aliases[k] = make(map[string]tmpAlias)
	}
	if old, ok := s.aliases[k][name]; ok {
		expired = append(expired, old.t)
	}
	s.aliases[k][name] = tmpAlias{t: t, uid: uid, until: time.Now().Add(aliasLifetime)}
	s.mu.Unlock()
	for _, e := range expired {
		e.dropName()
	}
}

// alias returns the file a live alias names.
func (s *maildirState) alias(mailbox, kind, name string) (*tmpNode, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	al, ok := s.aliases[aliasKey{mailbox, kind}][name]
	if !ok || time.Now().After(al.until) {
		return nil, false
	}
	return al.t, true
}

// takeAlias removes a live alias and returns it.
func (s *maildirState) takeAlias(mailbox, kind, name string) (tmpAlias, bool) {
	s.mu.Lock()
	k := aliasKey{mailbox, kind}
	al, ok := s.aliases[k][name]
	if ok {
		delete(s.aliases[k], name)
	}
	s.mu.Unlock()
	if !ok {
		return tmpAlias{}, false
	}
	al.t.dropName()
	return al, !time.Now().After(al.until)
}

// expireAliasesLocked removes the aliases whose time is up and returns
// their files, whose names the caller drops without s.mu.
func (s *maildirState) expireAliasesLocked(now time.Time) []*tmpNode {
	var files []*tmpNode
	for k, m := range s.aliases {
		for name, al := range m {
			if now.After(al.until) {
				files = append(files, al.t)
				delete(m, name)
			}
		}
		if len(m) == 0 {
			delete(s.aliases, k)
		}
	}
	return files
}
