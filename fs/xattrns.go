package fs

import (
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// userXattrs wraps the filesystem the server calls so that reading an
// extended attribute outside the user namespace answers ENOTSUP at once,
// without reaching a node: mailfs has user.mail.* attributes only.
//
// ls -l asks every file for security.selinux and system.posix_acl_access
// (and directories for system.posix_acl_default). The kernel has no cache
// for either here: each is a GETXATTR round trip. ENODATA ("this file has
// none") makes ls ask again for the next file; ENOTSUP ("this filesystem
// has none") makes GNU ls stop asking for the rest of the device, so a
// warm ls -l of a big folder costs two GETXATTRs, not two per file.
//
// The kernel could keep "no ACL" per inode itself with the POSIX ACL
// capability (MountOptions.EnableAcl), but that capability also turns on
// default_permissions: the kernel would then check the mode bits, and the
// owner of the mount would get EACCES from setfattr user.mail.flags on a
// 0444 message, from opening a queued 0444 outbox message for writing
// (which starts a new message) and from changes in the 0500 root (EPERM
// by design). GETXATTR answering ENOSYS would stop the requests too, but
// for every attribute of the connection, user.mail.* included.
type userXattrs struct {
	fuse.RawFileSystem
}

// GetXAttr answers ENOTSUP for a name outside the user namespace and asks
// the node for the others.
func (u userXattrs) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	if !strings.HasPrefix(attr, "user.") {
		return 0, fuse.ENOTSUP
	}
	return u.RawFileSystem.GetXAttr(cancel, h, attr, dest)
}
