package fs

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/outbox"
)

const (
	// outboxDirName is the outbox's directory at the mount root.
	outboxDirName = "outbox"
	// failedDirName is the directory of failed messages in outbox/.
	failedDirName = "failed"
	// errorSuffix names the file beside a failed message that says why.
	errorSuffix = ".error"
)

// outboxDirNode is MOUNT/outbox/: the queued messages (queued or being
// sent) and failed/. Creating a file starts a draft; everything listed is
// read from the Outbox on each call, since messages leave when they are
// sent.
type outboxDirNode struct {
	gofs.Inode
	st *mountState

	// mu guards overwrites: the number of open drafts by name that were
	// opened over a queued or failed message of that name.
	mu         sync.Mutex
	overwrites map[string]int
}

// addOverwrite counts delta more open drafts over the message name.
func (n *outboxDirNode) addOverwrite(name string, delta int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.overwrites == nil {
		n.overwrites = make(map[string]int)
	}
	n.overwrites[name] += delta
	if n.overwrites[name] <= 0 {
		delete(n.overwrites, name)
	}
}

// overwriting reports whether a draft over the message name is open.
func (n *outboxDirNode) overwriting(name string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.overwrites[name] > 0
}

var (
	_ = (gofs.NodeOnAdder)((*outboxDirNode)(nil))
	_ = (gofs.NodeGetattrer)((*outboxDirNode)(nil))
	_ = (gofs.NodeReaddirer)((*outboxDirNode)(nil))
	_ = (gofs.NodeLookuper)((*outboxDirNode)(nil))
	_ = (gofs.NodeCreater)((*outboxDirNode)(nil))
	_ = (gofs.NodeMkdirer)((*outboxDirNode)(nil))
	_ = (gofs.NodeUnlinker)((*outboxDirNode)(nil))
	_ = (gofs.NodeRmdirer)((*outboxDirNode)(nil))
	_ = (gofs.NodeRenamer)((*outboxDirNode)(nil))
)

// OnAdd adds failed/ and drafts/.
func (n *outboxDirNode) OnAdd(ctx context.Context) {
	failed := &failedDirNode{st: n.st, outboxDir: n}
	ch := n.NewPersistentInode(ctx, failed, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: outboxIno(outboxKindFailedDir, "")})
	n.AddChild(failedDirName, ch, true)
	drafts := &draftsDirNode{st: n.st, outboxDir: n}
	ch = n.NewPersistentInode(ctx, drafts, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: outboxIno(outboxKindDraftsDir, "")})
	n.AddChild(outbox.DraftsDir, ch, true)
}

// Getattr reports a directory the user can write.
func (n *outboxDirNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.st, &out.Attr, true)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Readdir lists failed/, drafts/, the queued messages in sending order,
// then the files (held messages and side files) by name.
func (n *outboxDirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	queued := n.st.outbox.Queued()
	files, err := n.st.outbox.Files(outbox.AreaOutbox)
	if err != nil {
		return nil, outboxFail(ctx, n.st, "list outbox", err, "")
	}
	entries := make([]fuse.DirEntry, 0, len(queued)+len(files)+2)
	entries = append(entries,
		fuse.DirEntry{Name: failedDirName, Mode: fuse.S_IFDIR, Ino: outboxIno(outboxKindFailedDir, "")},
		fuse.DirEntry{Name: outbox.DraftsDir, Mode: fuse.S_IFDIR, Ino: outboxIno(outboxKindDraftsDir, "")})
	for _, e := range append(queued, files...) {
		entries = append(entries, fuse.DirEntry{Name: e.Name, Mode: fuse.S_IFREG, Ino: outboxIno(outboxKindMessage, e.Name)})
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds failed/, drafts/, a queued message or a file.
func (n *outboxDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if name == failedDirName || name == outbox.DraftsDir {
		ch := n.GetChild(name)
		dirAttr(n.st, &out.Attr, true)
		out.SetEntryTimeout(outboxTimeout)
		out.SetAttrTimeout(outboxTimeout)
		return ch, 0
	}
	e, err := n.st.outbox.Stat(name)
	if err != nil {
		e, err = n.st.outbox.StatFile(outbox.AreaOutbox, name)
	}
	if err != nil || e.State == outbox.StateFailed {
		return nil, syscall.ENOENT
	}
	return outboxFileChild(ctx, &n.Inode, n, outbox.AreaOutbox, e, out)
}

// Create makes an editor's side file an ordinary file, and starts a new
// message otherwise: what is written is validated as it comes, and the
// close (FLUSH) makes it a held message.
func (n *outboxDirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	if outbox.IsSideFile(name) {
		return createPlain(ctx, &n.Inode, n, outbox.AreaOutbox, name, flags, mode, out)
	}
	h, errno := newDraftHandle(ctx, n, name, false)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	node := &draftNode{h: h}
	// An automatic inode number: the draft's name is settled only at
	// Commit, and a queued message may have it meanwhile.
	ch := n.NewInode(ctx, node, gofs.StableAttr{Mode: fuse.S_IFREG})
	node.fillAttr(&out.Attr)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return ch, h, 0, 0
}

// Mkdir refuses: outbox/ holds messages and failed/ only.
func (n *outboxDirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Unlink cancels a queued message (EBUSY while it is being sent) or a held
// one, or deletes a side file.
func (n *outboxDirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if e, err := n.st.outbox.Stat(name); err == nil && e.State != outbox.StateFailed {
		if err := n.st.outbox.Remove(name); err != nil {
			return outboxFail(ctx, n.st, "remove queued message", err, name)
		}
		return 0
	}
	if err := n.st.outbox.RemoveFile(outbox.AreaOutbox, name); err != nil {
		return outboxFail(ctx, n.st, "remove file", err, name)
	}
	return 0
}

// Rmdir refuses to remove failed/ and drafts/.
func (n *outboxDirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if name == failedDirName || name == outbox.DraftsDir {
		return syscall.EPERM
	}
	return syscall.ENOTDIR
}

// Rename renames a held message or a side file within outbox/ or into
// drafts/ (a file that becomes a message is validated first and held; one
// that stops being one is no longer sent). A queued message keeps its
// name (EPERM); moving it out of the outbox answers EXDEV, so mv copies it
// and then cancels it.
func (n *outboxDirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if _, err := n.st.outbox.StatFile(outbox.AreaOutbox, name); err == nil {
		return renameFile(ctx, n.st, &n.Inode, outbox.AreaOutbox, name, newParent, newName, flags)
	}
	return outboxRename(newParent)
}

// failedDirNode is MOUNT/outbox/failed/: the messages that cannot be sent,
// each with NAME.error beside it.
type failedDirNode struct {
	gofs.Inode
	st        *mountState
	outboxDir *outboxDirNode
}

var (
	_ = (gofs.NodeGetattrer)((*failedDirNode)(nil))
	_ = (gofs.NodeReaddirer)((*failedDirNode)(nil))
	_ = (gofs.NodeLookuper)((*failedDirNode)(nil))
	_ = (gofs.NodeCreater)((*failedDirNode)(nil))
	_ = (gofs.NodeMkdirer)((*failedDirNode)(nil))
	_ = (gofs.NodeUnlinker)((*failedDirNode)(nil))
	_ = (gofs.NodeRmdirer)((*failedDirNode)(nil))
	_ = (gofs.NodeRenamer)((*failedDirNode)(nil))
)

// Getattr reports a directory the user can write (rm, mv).
func (n *failedDirNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	dirAttr(n.st, &out.Attr, true)
	out.SetTimeout(outboxTimeout)
	return 0
}

// Readdir lists every failed message followed by its NAME.error.
func (n *failedDirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	failed := n.st.outbox.Failed()
	entries := make([]fuse.DirEntry, 0, 2*len(failed))
	for _, e := range failed {
		entries = append(entries,
			fuse.DirEntry{Name: e.Name, Mode: fuse.S_IFREG, Ino: outboxIno(outboxKindMessage, e.Name)},
			fuse.DirEntry{Name: e.Name + errorSuffix, Mode: fuse.S_IFREG, Ino: outboxIno(outboxKindError, e.Name)},
		)
	}
	return gofs.NewListDirStream(entries), 0
}

// Lookup finds a failed message or its NAME.error.
func (n *failedDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if e, err := n.st.outbox.Stat(name); err == nil && e.State == outbox.StateFailed {
		return outboxFileChild(ctx, &n.Inode, n.outboxDir, outbox.AreaOutbox, e, out)
	}
	base, ok := strings.CutSuffix(name, errorSuffix)
	if !ok {
		return nil, syscall.ENOENT
	}
	e, err := n.st.outbox.Stat(base)
	if err != nil || e.State != outbox.StateFailed {
		return nil, syscall.ENOENT
	}
	ops := &errorFileNode{st: n.st, name: base}
	ch := n.NewInode(ctx, ops, gofs.StableAttr{Mode: fuse.S_IFREG, Ino: outboxIno(outboxKindError, base)})
	if _, ok := ch.Operations().(*errorFileNode); !ok {
		n.st.log.Error("inode number collision", "outbox", name)
		return nil, syscall.EIO
	}
	ops.fillAttr(&out.Attr, e, len(e.Error)+1)
	out.SetEntryTimeout(outboxTimeout)
	out.SetAttrTimeout(outboxTimeout)
	return ch, 0
}

// Create refuses: messages are dropped into outbox/, not failed/.
func (n *failedDirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// Mkdir refuses: failed/ holds messages only.
func (n *failedDirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Unlink deletes a failed message together with its NAME.error. Removing
// NAME.error alone is refused (EPERM): the reason goes with its message.
func (n *failedDirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	err := n.st.outbox.RemoveFailed(name)
	if errors.Is(err, fs.ErrNotExist) {
		if base, ok := strings.CutSuffix(name, errorSuffix); ok {
			if e, err := n.st.outbox.Stat(base); err == nil && e.State == outbox.StateFailed {
				return syscall.EPERM
			}
		}
	}
	if err != nil {
		return outboxFail(ctx, n.st, "remove failed message", err, name)
	}
	// The kernel drops the entry of NAME; NAME.error went too.
	notifyEntry(&n.Inode, name+errorSuffix)
	return 0
}

// Rmdir refuses: failed/ has no directories.
func (n *failedDirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return syscall.ENOTDIR
}

// Rename of a failed message into outbox/ (under any name) retries it: the
// message goes back into the queue under its own name. Any other rename in
// the outbox is refused with EPERM, and one out of it answers EXDEV.
func (n *failedDirNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if _, ok := newParent.(*outboxDirNode); !ok {
		return outboxRename(newParent)
	}
	if flags&gofs.RENAME_EXCHANGE != 0 || newName == failedDirName {
		return syscall.EPERM
	}
	if err := n.st.outbox.Retry(name); err != nil {
		return outboxFail(ctx, n.st, "retry failed message", err, name)
	}
	// The kernel now shows the message as outbox/newName and forgets
	// failed/NAME; NAME.error is gone, and when newName is not NAME the
	// message is really outbox/NAME.
	notifyEntry(&n.Inode, name+errorSuffix)
	if newName != name {
		notifyEntry(&n.outboxDir.Inode, newName)
		notifyEntry(&n.outboxDir.Inode, name)
	}
	return 0
}

// outboxRename answers a rename of an outbox file that is not a retry:
// EXDEV when it leaves the outbox (mv then copies and removes), EPERM
// within the outbox.
func outboxRename(newParent gofs.InodeEmbedder) syscall.Errno {
	switch newParent.(type) {
	case *outboxDirNode, *failedDirNode, *draftsDirNode:
		return syscall.EPERM
	}
	return syscall.EXDEV
}

// outboxFail logs a failed outbox operation and returns its errno. What the
// user caused (no such message, an invalid message, a message being sent)
// is logged at debug level only; the outbox logs what it did.
func outboxFail(ctx context.Context, st *mountState, op string, err error, name string) syscall.Errno {
	errno := Errno(err)
	level := slog.LevelWarn
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, outbox.ErrInvalid) || errors.Is(err, outbox.ErrBusy) ||
		errors.Is(err, outbox.ErrBadName) || errors.Is(err, os.ErrClosed) || errors.Is(err, fs.ErrExist) ||
		errors.Is(err, outbox.ErrNameInUse) || errors.Is(err, outbox.ErrMessageName) {
		level = slog.LevelDebug
	}
	if errors.Is(err, outbox.ErrInvalid) && op == "rename" {
		// The file stays where it was; the log is where the reason is.
		level = slog.LevelWarn
	}
	st.log.Log(ctx, level, op+" failed", "outbox", name, "errno", errno.Error(), "err", err)
	return errno
}
