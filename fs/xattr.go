package fs

import (
	"context"
	"strconv"
	"strings"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"

	"mailfs/remote"
)

// Extended attribute names.
const (
	xattrPrefix = "user.mail."
	// Message files.
	xattrFlags     = "user.mail.flags"
	xattrUID       = "user.mail.uid"
	xattrMessageID = "user.mail.message-id"
	// Outbox files.
	xattrState       = "user.mail.state"
	xattrAccount     = "user.mail.account"
	xattrAttempts    = "user.mail.attempts"
	xattrNextAttempt = "user.mail.next-attempt"
	xattrSendAt      = "user.mail.send-at"
	xattrHeldBy      = "user.mail.held-by"
	xattrLastError   = "user.mail.last-error"
	xattrError       = "user.mail.error"
)

// xattr is one extended attribute.
type xattr struct {
	name, value string
}

// xattrList is the extended attributes of a file, in listing order.
type xattrList []xattr

// get copies the value of attribute name into dest, answering as
// getxattr(2) does: ENODATA for a name not in the list, ERANGE (with the
// size) when dest is too small.
func (x xattrList) get(name string, dest []byte) (uint32, syscall.Errno) {
	for _, a := range x {
		if a.name == name {
			return copyXattr(dest, a.value)
		}
	}
	return 0, syscall.ENODATA
}

// list copies the NUL-terminated names into dest, as listxattr(2) does.
func (x xattrList) list(dest []byte) (uint32, syscall.Errno) {
	var b strings.Builder
	for _, a := range x {
		b.WriteString(a.name)
		b.WriteByte(0)
	}
	return copyXattr(dest, b.String())
}

// copyXattr copies v into dest, or answers ERANGE with v's size when dest
// is too small (go-fuse turns that into the size for a size query).
func copyXattr(dest []byte, v string) (uint32, syscall.Errno) {
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// readOnlyXattr answers a change of the attribute attr on a file whose
// attributes only report state: EPERM for the user.mail ones, ENOTSUP for
// any other (which tells cp -p that there are no ACLs to copy).
func readOnlyXattr(attr string) syscall.Errno {
	if strings.HasPrefix(attr, xattrPrefix) {
		return syscall.EPERM
	}
	return syscall.ENOTSUP
}

var (
	_ = (gofs.NodeGetxattrer)((*messageNode)(nil))
	_ = (gofs.NodeListxattrer)((*messageNode)(nil))
	_ = (gofs.NodeSetxattrer)((*messageNode)(nil))
	_ = (gofs.NodeRemovexattrer)((*messageNode)(nil))
)

// xattrs returns the extended attributes of the message: user.mail.flags
// (space-separated, e.g. `\Seen \Flagged`), user.mail.uid and, when the
// message has one, user.mail.message-id (without angle brackets).
func (n *messageNode) xattrs(ctx context.Context) (xattrList, syscall.Errno) {
	flags, errno := n.flags(ctx)
	if errno != 0 {
		return nil, errno
	}
	x := xattrList{
		{xattrFlags, strings.Join(flags, " ")},
		{xattrUID, strconv.FormatUint(uint64(n.info.UID), 10)},
	}
	if n.info.MessageID != "" {
		x = append(x, xattr{xattrMessageID, n.info.MessageID})
	}
	return x, 0
}

// flags returns the message's current flags: from its listing (synced
// when older than StaleAfter), else as the node was listed.
func (n *messageNode) flags(ctx context.Context) ([]string, syscall.Errno) {
	mailbox := n.mailboxName()
	l, err := n.acct.src.List(ctx, mailbox, n.acct.st.staleAfter)
	if l == nil {
		n.acct.fail(ctx, "list mailbox for flags", err, "mailbox", mailbox)
		return n.info.Flags, 0
	}
	if l.UIDValidity != n.uidValidity {
		return nil, syscall.ESTALE
	}
	info, ok := l.Find(n.info.UID)
	if !ok {
		return nil, syscall.ENOENT
	}
	return info.Flags, 0
}

// Getxattr reads one of the attributes xattrs lists; other user.* names
// answer ENODATA (names outside the user namespace never get here: see
// userXattrs).
func (n *messageNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	switch attr {
	case xattrFlags, xattrUID, xattrMessageID:
	default:
		return 0, syscall.ENODATA // without asking the Source
	}
	x, errno := n.xattrs(ctx)
	if errno != 0 {
		return 0, errno
	}
	return x.get(attr, dest)
}

// Listxattr lists the names of the attributes xattrs returns.
func (n *messageNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	x := xattrList{{xattrFlags, ""}, {xattrUID, ""}}
	if n.info.MessageID != "" {
		x = append(x, xattr{xattrMessageID, ""})
	}
	return x.list(dest)
}

// Setxattr replaces the message's flags (user.mail.flags, flags separated
// by white space) through the Source's Flagger; ENOTSUP when it has none.
// user.mail.uid and user.mail.message-id are read-only (EPERM); other
// names are not supported (ENOTSUP).
func (n *messageNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	switch attr {
	case xattrFlags:
		return n.setFlags(ctx, strings.Fields(string(data)))
	case xattrUID, xattrMessageID:
		return syscall.EPERM
	}
	return syscall.ENOTSUP
}

// Removexattr of user.mail.flags clears the flags; the other attributes
// cannot be removed (EPERM), and other names do not exist (ENODATA).
func (n *messageNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	switch attr {
	case xattrFlags:
		return n.setFlags(ctx, nil)
	case xattrUID, xattrMessageID:
		return syscall.EPERM
	}
	return syscall.ENODATA
}

func (n *messageNode) setFlags(ctx context.Context, flags []string) syscall.Errno {
	f, ok := n.acct.src.(Flagger)
	if !ok {
		return syscall.ENOTSUP
	}
	mailbox := n.mailboxName()
	if err := f.SetFlags(ctx, mailbox, n.info.UID, flags); err != nil {
		return n.acct.fail(ctx, "set flags", err, "mailbox", mailbox, "uid", n.info.UID)
	}
	if l, errno := n.acct.list(ctx, mailbox, lookupMaxAge); errno == 0 && l.UIDValidity == n.uidValidity {
		if info, ok := l.Find(n.info.UID); ok {
			n.acct.own(remote.Change{Mailbox: mailbox, UIDValidity: n.uidValidity, Flagged: []remote.MessageInfo{info}})
		}
	}
	return 0
}
