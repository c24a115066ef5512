package fs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/internal/query"
	"mailfs/remote"
)

// Search folders: MOUNT/<account>/.search/ holds one directory per saved
// search, named by its query (internal/query's language), plus the
// built-in ones. A search directory lists the account's messages that
// match, from every selectable mailbox, under their file names and as the
// same inodes as in their folders (but Trash and Junk, which are left
// out); the Source's Searcher runs the query
// (IMAP SEARCH on the server, the POP3 store locally). Like .maildir at the
// root, .search is not listed in the account directory, so grep -r and find
// over the account read each message once.

// searchDirName is the account directory's entry of its search folders.
const searchDirName = ".search"

// Searcher is a Source that runs searches: the UIDs of the messages of
// one mailbox that match a query. *cache.Account (IMAP SEARCH on the
// server) and *pop3store.Store (locally) implement it.
type Searcher interface {
	// Search returns, ascending, the UIDs of the messages of mailbox that
	// match q; its UIDVALIDITY must be uidValidity.
	Search(ctx context.Context, mailbox string, uidValidity uint32, q remote.Query) ([]uint32, error)
}

// TrashFinder is a Source that names the mailbox rm moves messages to,
// so that searches leave it out. *cache.Account implements it
// (trash_folder, else the \Trash special-use mailbox).
type TrashFinder interface {
	// TrashFolder returns the name of the account's Trash mailbox, ""
	// when it has none.
	TrashFolder(ctx context.Context) (string, error)
}

// SearchStore keeps each account's saved searches across restarts
// (Options.Searches).
type SearchStore interface {
	// Searches returns the queries saved for account, in the order saved.
	Searches(account string) ([]string, error)
	// SetSearches replaces them, durably before it returns.
	SetSearches(account string, queries []string) error
}

// builtinSearches are the search folders every account has: a name and
// its query. They cannot be removed.
var builtinSearches = []struct{ name, query string }{
	{"unread", "unseen"},
	{"flagged", "flagged"},
	{"today", "since:today"},
}

// builtinQuery returns the query of the built-in search called name.
func builtinQuery(name string) (string, bool) {
	for _, b := range builtinSearches {
		if b.name == name {
			return b.query, true
		}
	}
	return "", false
}

// searchState is one account's saved searches and their last results.
type searchState struct {
	acct *account

	mu      sync.Mutex
	saved   []string // the user's queries, in the order made
	loaded  bool
	results map[string]*searchResult // by directory name
}

// searchResult is what one search found, and when.
type searchResult struct {
	at    time.Time
	gen   uint64 // the account's change generation it saw
	names map[string]searchHit
	order []string
}

// searchHit is one message a search found.
type searchHit struct {
	mailbox     string
	uidValidity uint32
	info        remote.MessageInfo
}

// loadLocked reads the saved searches once; the caller holds s.mu.
func (s *searchState) loadLocked() {
	if s.loaded {
		return
	}
	s.loaded = true
	store := s.acct.st.searches
	if store == nil {
		return
	}
	qs, err := store.Searches(s.acct.name)
	if err != nil {
		s.acct.st.log.Warn("cannot read the saved searches; showing the built-in ones", "account", s.acct.name, "err", err)
		return
	}
	s.saved = qs
}

// names returns the search directories: the built-in ones, then the saved.
func (s *searchState) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked()
	var out []string
	for _, b := range builtinSearches {
		out = append(out, b.name)
	}
	return append(out, s.saved...)
}

// query returns the query of the search directory name.
func (s *searchState) query(name string) (string, bool) {
	if q, ok := builtinQuery(name); ok {
		return q, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked()
	return name, slices.Contains(s.saved, name)
}

// add saves the search name; EEXIST when it exists, EINVAL (with the
// parser's reason in the log) when it is not a query.
func (s *searchState) add(ctx context.Context, name string) syscall.Errno {
	if _, ok := builtinQuery(name); ok {
		return syscall.EEXIST
	}
	if _, err := query.Parse(name, time.Now()); err != nil {
		s.acct.st.log.Warn("mkdir in .search: not a query", "account", s.acct.name, "query", name, "err", err)
		return syscall.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked()
	if slices.Contains(s.saved, name) {
		return syscall.EEXIST
	}
	saved := append(slices.Clone(s.saved), name)
	if err := s.persistLocked(saved); err != nil {
		return s.acct.fail(ctx, "save search", err, "query", name)
	}
	s.saved = saved
	return 0
}

// remove forgets the saved search name; EPERM for a built-in one.
func (s *searchState) remove(ctx context.Context, name string) syscall.Errno {
	if _, ok := builtinQuery(name); ok {
		return syscall.EPERM
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadLocked()
	i := slices.Index(s.saved, name)
	if i < 0 {
		return syscall.ENOENT
	}
	saved := slices.Delete(slices.Clone(s.saved), i, i+1)
	if err := s.persistLocked(saved); err != nil {
		return s.acct.fail(ctx, "remove saved search", err, "query", name)
	}
	s.saved = saved
	delete(s.results, name)
	return 0
}

func (s *searchState) persistLocked(saved []string) error {
	if store := s.acct.st.searches; store != nil {
		return store.SetSearches(s.acct.name, saved)
	}
	return nil
}

// run returns the results of the search directory name: the last ones
// when they are younger than maxAge and no change was seen since, else
// found anew (the query is parsed again, so "today" moves with the days).
func (s *searchState) run(ctx context.Context, name string, maxAge time.Duration) (*searchResult, syscall.Errno) {
	text, ok := s.query(name)
	if !ok {
		return nil, syscall.ENOENT
	}
	gen := s.acct.generation()
	s.mu.Lock()
	last := s.results[name]
	s.mu.Unlock()
	if last != nil && last.gen == gen && time.Since(last.at) < maxAge {
		return last, 0
	}
	q, err := query.Parse(text, time.Now())
	if err != nil {
		return nil, s.acct.fail(ctx, "parse saved search", err, "query", text)
	}
	r, err := s.search(ctx, q)
	if err != nil {
		if last != nil {
			s.acct.st.log.Warn("search failed; showing its last results", "account", s.acct.name, "query", text, "err", err)
			return last, 0
		}
		return nil, s.acct.fail(ctx, "search", err, "query", text)
	}
	r.gen = gen
	s.mu.Lock()
	if s.results == nil {
		s.results = make(map[string]*searchResult)
	}
	s.results[name] = r
	s.mu.Unlock()
	return r, 0
}

// searchParallel is how many mailboxes one search asks at once.
const searchParallel = 4

// search runs q over every selectable mailbox of the account.
func (s *searchState) search(ctx context.Context, q remote.Query) (*searchResult, error) {
	a := s.acct
	sr, ok := a.src.(Searcher)
	if !ok {
		return nil, fmt.Errorf("account %s cannot search: %w", a.name, remote.ErrUnsupported)
	}
	mboxes, err := a.src.Mailboxes(ctx, a.st.staleAfter)
	if err != nil && mboxes == nil {
		return nil, err
	}
	type found struct {
		mailbox string
		l       *remote.Listing
		uids    []uint32
		err     error
	}
	trash := a.trashFolder(ctx)
	var boxes []string
	for _, m := range mboxes {
		if m.Selectable() && !outOfSearch(m, trash) {
			boxes = append(boxes, m.Name)
		}
	}
	results := make([]found, len(boxes))
	sem := make(chan struct{}, searchParallel)
	var wg sync.WaitGroup
	for i, mb := range boxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			l, err := a.src.List(ctx, mb, a.st.staleAfter)
			if l == nil {
				results[i] = found{mailbox: mb, err: err}
				return
			}
			uids, err := sr.Search(ctx, mb, l.UIDValidity, q)
			results[i] = found{mailbox: mb, l: l, uids: uids, err: err}
		}()
	}
	wg.Wait()
	r := &searchResult{at: time.Now(), names: make(map[string]searchHit)}
	var errs []error
	var hits []searchHit
	for _, f := range results {
		if f.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.mailbox, f.err))
			continue
		}
		for _, uid := range f.uids {
			if info, ok := f.l.Find(uid); ok {
				hits = append(hits, searchHit{mailbox: f.mailbox, uidValidity: f.l.UIDValidity, info: info})
			}
		}
	}
	if len(errs) > 0 && len(hits) == 0 && len(errs) == len(boxes) {
		return nil, errors.Join(errs...)
	}
	for _, err := range errs {
		a.st.log.Warn("search skipped a mailbox", "account", a.name, "err", err)
	}
	// Oldest first, as ls shows them; a name two mailboxes give is kept
	// by the first mailbox in name order, and the others get a suffix of
	// their mailbox's hash.
	sort.SliceStable(hits, func(i, j int) bool {
		if !hits[i].info.InternalDate.Equal(hits[j].info.InternalDate) {
			return hits[i].info.InternalDate.Before(hits[j].info.InternalDate)
		}
		return hits[i].mailbox < hits[j].mailbox
	})
	byMailbox := slices.Clone(hits)
	sort.SliceStable(byMailbox, func(i, j int) bool { return byMailbox[i].mailbox < byMailbox[j].mailbox })
	type key struct {
		mailbox string
		uid     uint32
	}
	named := make(map[key]string, len(hits))
	for _, h := range byMailbox {
		name := FileName(h.info, a.st.style)
		if _, taken := r.names[name]; taken {
			name = strings.TrimSuffix(name, emlExt) + hashSuffix(h.mailbox) + emlExt
		}
		r.names[name] = h
		named[key{h.mailbox, h.info.UID}] = name
	}
	for _, h := range hits {
		r.order = append(r.order, named[key{h.mailbox, h.info.UID}])
	}
	return r, nil
}

// outOfSearch reports whether searches leave mailbox m out: the Trash
// (named trash, or with the \Trash attribute; else a message rm'd through
// a search folder would stay in it, from Trash) and Junk, as mail clients
// and Gmail leave them out.
func outOfSearch(m remote.Mailbox, trash string) bool {
	return m.Name == trash || m.HasAttr(`\Trash`) || m.HasAttr(`\Junk`)
}

// trashFolder returns the account's Trash mailbox when the Source names
// one, else "".
func (a *account) trashFolder(ctx context.Context) string {
	if tf, ok := a.src.(TrashFinder); ok {
		if trash, err := tf.TrashFolder(ctx); err == nil {
			return trash
		}
	}
	return ""
}

// searchRootNode is an account's .search/ directory.
type searchRootNode struct {
	gofs.Inode
	refuseRemoval
	acct *account
}

var (
	_ = (gofs.NodeGetattrer)((*searchRootNode)(nil))
	_ = (gofs.NodeReaddirer)((*searchRootNode)(nil))
	_ = (gofs.NodeLookuper)((*searchRootNode)(nil))
	_ = (gofs.NodeMkdirer)((*searchRootNode)(nil))
	_ = (gofs.NodeRmdirer)((*searchRootNode)(nil))
)

// Getattr reports a directory, writable (mkdir saves a search) unless the
// mount is read-only.
func (n *searchRootNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.acct.st, &out.Attr, n.acct.canSearch())
	out.SetTimeout(dirTimeout)
	return 0
}

// Readdir lists the built-in and the saved searches.
func (n *searchRootNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	var entries []fuse.DirEntry
	for _, name := range n.acct.searches.names() {
		entries = append(entries, fuse.DirEntry{Name: name, Mode: fuse.S_IFDIR, Ino: searchIno(n.acct.name, name)})
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds a search directory.
func (n *searchRootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if _, ok := n.acct.searches.query(name); !ok {
		return nil, syscall.ENOENT
	}
	return n.child(ctx, name, out)
}

func (n *searchRootNode) child(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ino := searchIno(n.acct.name, name)
	ch := n.NewInode(ctx, &searchDirNode{acct: n.acct, name: name}, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: ino})
	if _, ok := ch.Operations().(*searchDirNode); !ok {
		n.acct.st.log.Error("inode number collision", "account", n.acct.name, "search", name, "ino", ino)
		return nil, syscall.EIO
	}
	dirAttr(n.acct.st, &out.Attr, n.acct.writable())
	out.SetEntryTimeout(dirTimeout)
	out.SetAttrTimeout(dirTimeout)
	return ch, 0
}

// Mkdir saves a search: the name is its query (EINVAL when it does not
// parse, with the reason in the log; EEXIST when saved already).
func (n *searchRootNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if !n.acct.canSearch() {
		return nil, syscall.EACCES
	}
	if errno := n.acct.searches.add(ctx, name); errno != 0 {
		return nil, errno
	}
	return n.child(ctx, name, out)
}

// Rmdir forgets a saved search (its messages stay where they are); the
// built-in ones cannot be removed (EPERM).
func (n *searchRootNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.acct.searches.remove(ctx, name)
}

// canSearch reports whether the account's Source runs searches (a
// read-only mount's Sources are seen without it: no mkdir).
func (a *account) canSearch() bool {
	_, ok := a.src.(Searcher)
	return ok && !a.st.readOnly
}

// searchDirNode is one search directory: the messages that match.
type searchDirNode struct {
	gofs.Inode
	refuseRemoval
	acct *account
	name string
}

var (
	_ = (gofs.NodeGetattrer)((*searchDirNode)(nil))
	_ = (gofs.NodeReaddirer)((*searchDirNode)(nil))
	_ = (gofs.NodeLookuper)((*searchDirNode)(nil))
	_ = (gofs.NodeUnlinker)((*searchDirNode)(nil))
	_ = (gofs.NodeRenamer)((*searchDirNode)(nil))
)

// Getattr reports a directory, writable when the account is (rm).
func (n *searchDirNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.acct.st, &out.Attr, n.acct.writable())
	out.SetTimeout(dirTimeout)
	return 0
}

// Readdir runs the search when its last results are older than
// StaleAfter or the account changed since, and lists what it found.
func (n *searchDirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	r, errno := n.acct.searches.run(ctx, n.name, n.acct.st.staleAfter)
	if errno != 0 {
		return nil, errno
	}
	entries := make([]fuse.DirEntry, 0, len(r.order))
	for _, name := range r.order {
		h := r.names[name]
		entries = append(entries, fuse.DirEntry{Name: name, Mode: fuse.S_IFREG, Ino: messageIno(n.acct.name, h.mailbox, h.uidValidity, h.info.UID)})
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds a message among the last results (run when there are
// none, or when they are older than StaleAfter and the name is missing).
// The kernel keeps the entry for a second only: a message leaves a search
// as its flags change.
func (n *searchDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if base, ok := strings.CutSuffix(name, partsSuffix); ok && strings.HasSuffix(base, emlExt) {
		h, errno := n.find(ctx, base)
		if errno != 0 {
			return nil, errno
		}
		return partsChild(ctx, &n.Inode, n.acct, h.mailbox, h.uidValidity, h.info, out)
	}
	h, errno := n.find(ctx, name)
	if errno != 0 {
		return nil, errno
	}
	ch, errno := messageInode(ctx, &n.Inode, n.acct, h.mailbox, h.uidValidity, h.info, out)
	if errno == 0 {
		out.SetEntryTimeout(dirTimeout)
	}
	return ch, errno
}

// find returns the hit called name.
func (n *searchDirNode) find(ctx context.Context, name string) (searchHit, syscall.Errno) {
	for _, maxAge := range []time.Duration{lookupMaxAge, n.acct.st.staleAfter} {
		r, errno := n.acct.searches.run(ctx, n.name, maxAge)
		if errno != 0 {
			return searchHit{}, errno
		}
		if h, ok := r.names[name]; ok {
			return h, 0
		}
	}
	return searchHit{}, syscall.ENOENT
}

// Unlink removes the message from its mailbox by the account's delete
// rule, as rm in its folder does.
func (n *searchDirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	rm, ok := n.acct.src.(Remover)
	if !ok {
		return syscall.EACCES
	}
	h, errno := n.find(ctx, name)
	if errno != 0 {
		return errno
	}
	if err := rm.Remove(ctx, h.mailbox, h.info.UID); err != nil {
		return n.acct.fail(ctx, "remove message", err, "mailbox", h.mailbox, "uid", h.info.UID)
	}
	n.acct.own(remote.Change{Mailbox: h.mailbox, UIDValidity: h.uidValidity, Removed: []remote.MessageInfo{h.info}})
	return 0
}

// Rename moves a found message into a folder of the account (mv FILE
// DIR/, as from its own folder); EXDEV elsewhere, so that mv copies.
func (n *searchDirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*folderNode)
	if !ok || np.acct != n.acct {
		return syscall.EXDEV
	}
	mv, ok := n.acct.src.(Mover)
	if !ok {
		return syscall.EACCES
	}
	h, errno := n.find(ctx, name)
	if errno != 0 {
		return errno
	}
	lv, errno := np.level(ctx, lookupMaxAge)
	if errno != 0 {
		return errno
	}
	to, ok := lv.selectable()
	if !ok {
		return syscall.EPERM
	}
	if to.Name == h.mailbox {
		return 0
	}
	uid, err := mv.Move(ctx, h.mailbox, h.info.UID, to.Name)
	if err != nil {
		return n.acct.fail(ctx, "move message", err, "mailbox", h.mailbox, "uid", h.info.UID, "to", to.Name)
	}
	n.acct.own(remote.Change{Mailbox: h.mailbox, UIDValidity: h.uidValidity, Removed: []remote.MessageInfo{h.info}})
	n.acct.placed(ctx, to.Name, uid, false)
	notifyEntry(&np.Inode, newName)
	return 0
}

// searchIno returns the inode number of a search directory.
func searchIno(account, name string) uint64 {
	return dirIno(account, []string{"\x00search", name})
}
