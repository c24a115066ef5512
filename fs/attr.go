package fs

import (
	"context"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Permission bits. Directories whose content the user can change (the
// outbox, the folders of an account whose Source supports changes) are
// 0700, the others 0500; messages are 0444, and so are queued and failed
// outbox messages; a file being written (an outbox draft, a message being
// copied into a folder) is 0600.
const (
	dirPerm      = 0o500
	writeDirPerm = 0o700
	filePerm     = 0o444
	draftPerm    = 0o600
)

// dirAttr fills the attributes of a directory; writable gives 0700 instead
// of 0500.
func dirAttr(st *mountState, a *fuse.Attr, writable bool) {
	a.Mode = fuse.S_IFDIR | dirPerm
	if writable {
		a.Mode = fuse.S_IFDIR | writeDirPerm
	}
	a.Nlink = 2
	setTimes(a, st.started)
	a.Owner = fuse.Owner{Uid: st.uid, Gid: st.gid}
}

// setTimes sets mtime, ctime and atime to t.
func setTimes(a *fuse.Attr, t time.Time) {
	sec, nsec := uint64(0), uint32(0)
	if t.Unix() > 0 {
		sec, nsec = uint64(t.Unix()), uint32(t.Nanosecond())
	}
	a.Mtime, a.Mtimensec = sec, nsec
	a.Ctime, a.Ctimensec = sec, nsec
	a.Atime, a.Atimensec = sec, nsec
}

// refuseRemoval gives a directory node the removals it does not implement
// itself, refused with EPERM: without them go-fuse answers rm and rmdir
// with success and changes nothing.
type refuseRemoval struct{}

// Unlink refuses (EPERM).
func (refuseRemoval) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

// Rmdir refuses (EPERM).
func (refuseRemoval) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }
