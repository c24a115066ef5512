package fs

import (
	"context"
	"slices"
	"strings"
	"sync"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"mailfs/remote"
)

// watcher tells the kernel of the changes to one account's messages: those
// a Watched Source reports from the server, and the mount's own (made
// through one view, so the other must follow: account.own). It makes the
// kernel forget the names of new, vanished and re-flagged messages in the
// directories it knows, in the .eml tree and the Maildir view, and reports
// new mail (Options.OnNewMail). The Source's callback only queues a
// change; one goroutine at a time works through the queue, so changes are
// applied in the order they came and the Source never waits for the
// kernel.
type watcher struct {
	acct *account
	// dir is the account directory, maildir its directory in the Maildir
	// view.
	dir, maildir *gofs.Inode
	onNewMail    func(account string, paths []string)

	mu      sync.Mutex
	pending []pendingChange
	running bool // a goroutine works through pending
	stopped bool // the mount is gone: changes are dropped
}

// pendingChange is a queued change; own says the mount made it (it is
// not new mail).
type pendingChange struct {
	ch  remote.Change
	own bool
}

// watchAccounts gives each account of root its watcher, subscribed to the
// Source when it is Watched, and returns the function that stops them all
// (when the mount is gone; a Source has no way to unsubscribe).
func watchAccounts(root *rootNode, onNewMail func(account string, paths []string)) (stop func()) {
	var ws []*watcher
	var maildir *gofs.Inode
	if md := root.GetChild(maildirDirName); md != nil {
		maildir = md
	}
	for _, a := range root.accounts {
		w := &watcher{acct: a, dir: root.GetChild(a.name), onNewMail: onNewMail}
		if maildir != nil {
			w.maildir = maildir.GetChild(a.name)
		}
		a.watch = w
		if src, ok := a.src.(Watched); ok {
			src.Subscribe(w.changed)
		}
		ws = append(ws, w)
	}
	return func() {
		for _, w := range ws {
			w.stop()
		}
	}
}

// newMailFunc returns Options.OnNewMail; nil for nil Options.
func (o *Options) newMailFunc() func(string, []string) {
	if o == nil {
		return nil
	}
	return o.OnNewMail
}

// changed queues ch, a change the Source found on the server. It first
// gives the open descriptors of removed messages that have not read yet
// their body (pin), which the Source deletes once this returns; that costs
// a local open per such descriptor, nothing else blocks: it is the
// Source's callback.
func (w *watcher) changed(ch remote.Change) {
	if len(ch.Removed) > 0 {
		w.pin(ch)
	}
	w.queue(ch, false)
}

// queue queues ch, starting the goroutine that applies the queue when
// none runs.
func (w *watcher) queue(ch remote.Change, own bool) {
	w.acct.gen.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.pending = append(w.pending, pendingChange{ch, own})
	if !w.running {
		w.running = true
		go w.run()
	}
}

// stop drops queued changes and every change to come.
func (w *watcher) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.pending = nil
}

// run applies queued changes, in order, until the queue is empty.
func (w *watcher) run() {
	for {
		w.mu.Lock()
		if len(w.pending) == 0 || w.stopped {
			w.running = false
			w.mu.Unlock()
			return
		}
		p := w.pending[0]
		w.pending[0] = pendingChange{}
		w.pending = w.pending[1:]
		w.mu.Unlock()
		w.apply(p.ch, p.own)
	}
}

// apply tells the kernel of ch, with no lock held, then reports its new
// messages unless the mount made them. The mailbox list comes from what
// the Source knows (a change is found after a listing, so the list is
// known).
func (w *watcher) apply(ch remote.Change, own bool) {
	ctx := context.Background()
	mboxes, err := w.acct.src.Mailboxes(ctx, lookupMaxAge)
	if err != nil && mboxes == nil {
		w.acct.fail(ctx, "list mailboxes for changes on the server", err, "mailbox", ch.Mailbox)
		return
	}
	delim := delimiter(mboxes)
	style := w.acct.st.style
	for _, dir := range w.folders(delim, ch.Mailbox) {
		for _, m := range ch.Removed {
			name := FileName(m, style)
			if c := dir.GetChild(name); c != nil && isRemoved(c, ch, m.UID) {
				// The kernel drops the entry; a process holding the file
				// open keeps reading it (its handle has the body file,
				// pinned by changed).
				dir.NotifyDelete(name, c)
			} else {
				dir.NotifyEntry(name)
			}
		}
		for _, m := range ch.Added {
			// Drops a negative entry an earlier lookup left.
			dir.NotifyEntry(FileName(m, style))
		}
	}
	w.applyMaildir(delim, ch)
	if own || w.onNewMail == nil || ch.Reset || len(ch.Added) == 0 {
		return
	}
	if paths := newMailPaths(w.acct.name, mboxes, ch, style); len(paths) > 0 {
		w.mu.Lock()
		stopped := w.stopped
		w.mu.Unlock()
		if !stopped {
			w.onNewMail(w.acct.name, paths)
		}
	}
}

// applyMaildir tells the kernel of ch in the cur/ and new/ directories of
// the Maildir view it knows: the names of removed messages go, and so do
// the names of added and re-flagged ones that are no longer theirs (other
// flags, or the other directory); their names now are looked up anew.
func (w *watcher) applyMaildir(delim rune, ch remote.Change) {
	md := w.acct.md
	md.touch(ch.Mailbox)
	for _, m := range ch.Removed {
		md.setOld(messageKey{ch.Mailbox, ch.UIDValidity, m.UID}, false)
	}
	removed := make(map[uint32]bool, len(ch.Removed))
	for _, m := range ch.Removed {
		removed[m.UID] = true
	}
	now := make(map[uint32]remote.MessageInfo, len(ch.Added)+len(ch.Flagged))
	for _, m := range slices.Concat(ch.Added, ch.Flagged) {
		now[m.UID] = m
	}
	for _, folder := range w.maildirFolders(delim, ch.Mailbox) {
		boxes := map[string]*gofs.Inode{maildirCur: folder.GetChild(maildirCur), maildirNew: folder.GetChild(maildirNew)}
		for kind, box := range boxes {
			if box == nil {
				continue
			}
			for name, c := range box.Children() {
				m, ok := c.Operations().(*messageNode)
				if !ok {
					continue
				}
				if removed[m.info.UID] && isRemoved(c, ch, m.info.UID) {
					box.NotifyDelete(name, c)
					continue
				}
				if info, ok := now[m.info.UID]; ok && m.uidValidity == ch.UIDValidity &&
					(md.dir(ch.Mailbox, ch.UIDValidity, info) != kind || maildirName(ch.UIDValidity, info) != name) {
					// Not NotifyDelete: the message is still there (under
					// another name), and the kernel would take its inode
					// for deleted.
					box.NotifyEntry(name)
				}
			}
		}
		for _, info := range now {
			if box := boxes[md.dir(ch.Mailbox, ch.UIDValidity, info)]; box != nil {
				box.NotifyEntry(maildirName(ch.UIDValidity, info))
			}
		}
	}
}

// pin opens the body for the open handles of the messages ch removes
// (messageNode.pin), in the directories the kernel knows.
func (w *watcher) pin(ch remote.Change) {
	ctx := context.Background()
	mboxes, err := w.acct.src.Mailboxes(ctx, lookupMaxAge)
	if err != nil && mboxes == nil {
		return
	}
	delim := delimiter(mboxes)
	style := w.acct.st.style
	pinned := make(map[*messageNode]bool)
	pin := func(c *gofs.Inode, uid uint32) {
		if c != nil && isRemoved(c, ch, uid) {
			if m := c.Operations().(*messageNode); !pinned[m] {
				pinned[m] = true
				m.pin(ctx)
			}
		}
	}
	for _, dir := range w.folders(delim, ch.Mailbox) {
		for _, m := range ch.Removed {
			pin(dir.GetChild(FileName(m, style)), m.UID)
		}
	}
	for _, folder := range w.maildirFolders(delim, ch.Mailbox) {
		for _, kind := range []string{maildirCur, maildirNew} {
			if box := folder.GetChild(kind); box != nil {
				for _, m := range ch.Removed {
					pin(box.GetChild(maildirName(ch.UIDValidity, m)), m.UID)
				}
			}
		}
	}
}

// isRemoved reports whether the inode c is the message uid that ch
// removes: of ch's UIDVALIDITY, or of an older one after a reset.
func isRemoved(c *gofs.Inode, ch remote.Change, uid uint32) bool {
	m, ok := c.Operations().(*messageNode)
	return ok && m.info.UID == uid && (m.uidValidity == ch.UIDValidity) != ch.Reset
}

// folders returns the directory inodes of the .eml tree the kernel knows
// (looked up, not forgotten) that show mailbox.
func (w *watcher) folders(delim rune, mailbox string) []*gofs.Inode {
	return knownFolders(w.dir, delim, mailbox)
}

// maildirFolders returns the directory inodes of the Maildir view the
// kernel knows that show mailbox.
func (w *watcher) maildirFolders(delim rune, mailbox string) []*gofs.Inode {
	return knownFolders(w.maildir, delim, mailbox)
}

// mailboxDir is a directory that stands for a mailbox path: a folderNode
// or a maildirFolderNode.
type mailboxDir interface {
	levels() []string
}

func (n *folderNode) levels() []string        { return n.mailboxPath() }
func (n *maildirFolderNode) levels() []string { return n.path }

// knownFolders returns the directories under the account directory dir
// (nil: none) whose levels joined by delim give mailbox. Only directories
// on the way there are walked.
func knownFolders(dir *gofs.Inode, delim rune, mailbox string) []*gofs.Inode {
	var found []*gofs.Inode
	var walk func(dir *gofs.Inode)
	walk = func(dir *gofs.Inode) {
		for _, c := range dir.Children() {
			n, ok := c.Operations().(mailboxDir)
			if !ok {
				continue
			}
			name := joinPath(n.levels(), delim)
			switch {
			case name == mailbox:
				found = append(found, c)
			case delim != 0 && strings.HasPrefix(mailbox, name+string(delim)):
				walk(c)
			}
		}
	}
	if dir != nil {
		walk(dir)
	}
	return found
}

// newMailPaths returns the paths, relative to the mount point, of the
// messages ch adds, as the mount shows them: the account directory, the
// shown name of each level of the mailbox (describe: look-alikes and
// collision suffixes), the file name. A mailbox the mount does not show
// (not in the list, an empty level, a level that loses a name collision,
// not selectable) gives none, and neither does a message shadowed by a
// child directory of the same name.
func newMailPaths(account string, mboxes []remote.Mailbox, ch remote.Change, style string) []string {
	levels := mailboxLevels(mboxes, ch.Mailbox)
	if levels == nil {
		return nil
	}
	dir := account
	for i, c := range levels {
		d, ok := subdirOf(describe(mboxes, levels[:i]), c)
		if !ok {
			return nil
		}
		dir += "/" + d.name
	}
	lv := describe(mboxes, levels)
	if _, ok := lv.selectable(); !ok {
		return nil
	}
	var paths []string
	for _, m := range ch.Added {
		name := FileName(m, style)
		if _, shadowed := lv.subdir(name); shadowed {
			continue
		}
		paths = append(paths, dir+"/"+name)
	}
	return paths
}

// mailboxLevels returns the levels of the listed mailbox name; nil when
// the list does not have it.
func mailboxLevels(mboxes []remote.Mailbox, name string) []string {
	for _, m := range mboxes {
		if m.Name == name {
			return m.Path()
		}
	}
	return nil
}

// subdirOf returns the child directory of lv that stands for the level
// component as the server spells it.
func subdirOf(lv level, component string) (subdir, bool) {
	for _, d := range lv.subdirs {
		if d.component == component {
			return d, true
		}
	}
	return subdir{}, false
}
