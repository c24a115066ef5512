package fs

import (
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Permission bits. The filesystem is read-only for now; directories become
// 0700 when mkdir, rm and mv arrive.
const (
	dirPerm  = 0o500
	filePerm = 0o444
)

// dirAttr fills the attributes of a directory.
func dirAttr(st *mountState, a *fuse.Attr) {
	a.Mode = fuse.S_IFDIR | dirPerm
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
