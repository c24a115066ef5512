package fs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

// Message parts: beside each NAME.eml, NAME.eml.d/ holds the message's
// MIME parts as plain files: headers (decoded, one field per line), text
// and html (the main text parts, decoded to UTF-8) and every attachment
// under its own file name (decoded, made safe like folder names,
// duplicates numbered). Like .maildir and .search it is not listed, so ls,
// grep -r and find see only the .eml files; it is there for whoever names
// it. The structure comes from the Source's Parter (IMAP BODYSTRUCTURE, or
// the cached body parsed), and each file from one part (BODY.PEEK[n]), so
// reading the text of a large message costs the text.

// partsSuffix ends the name of a message's parts directory.
const partsSuffix = ".d"

// Names of the parts directory's fixed files.
const (
	partHeaders = "headers"
	partText    = "text"
	partHTML    = "html"
)

// Parter is a Source that serves a message's MIME parts. *cache.Account
// (from the cached body, else part by part from the server) and
// *pop3store.Store implement it.
type Parter interface {
	// Structure returns the MIME structure of message uid of mailbox.
	Structure(ctx context.Context, mailbox string, uidValidity, uid uint32) (remote.Part, error)
	// OpenPart returns the body of part section as transferred (in its
	// Content-Transfer-Encoding), or the message's header for section
	// "HEADER", as a read-only file; the caller closes it.
	OpenPart(ctx context.Context, mailbox string, uidValidity, uid uint32, section string) (*os.File, error)
}

// partFile is one file of a parts directory.
type partFile struct {
	name string
	kind mimeparts.FileKind // unused for headers
	part remote.Part
	// headers says the file is the decoded header.
	headers bool
}

// partFiles returns the files of a message's parts directory: headers,
// then mimeparts.Files with their names made safe and unique.
func partFiles(root remote.Part) []partFile {
	files := []partFile{{name: partHeaders, headers: true}}
	taken := map[string]bool{partHeaders: true}
	for _, f := range mimeparts.Files(root) {
		name := safePartName(f.Name)
		if taken[name] {
			ext := path.Ext(name)
			stem := strings.TrimSuffix(name, ext)
			for i := 2; ; i++ {
				if n := componentName(fmt.Sprintf("%s~%d%s", stem, i, ext)); !taken[n] {
					name = n
					break
				}
			}
		}
		taken[name] = true
		files = append(files, partFile{name: name, kind: f.Kind, part: f.Part})
	}
	return files
}

// safePartName makes a part's file name one the mount can show, by the
// rules of folder names (componentName: look-alikes for "/", control
// characters and invalid UTF-8, "." and "..", at most 255 bytes); an empty
// name becomes "part".
func safePartName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "part"
	}
	return componentName(name)
}

// partsDirNode is NAME.eml.d/: the files of one message's parts.
type partsDirNode struct {
	gofs.Inode
	refuseRemoval
	acct        *account
	mailbox     string
	uidValidity uint32
	info        remote.MessageInfo

	mu    sync.Mutex
	files []partFile // nil until the structure is known
}

var (
	_ = (gofs.NodeGetattrer)((*partsDirNode)(nil))
	_ = (gofs.NodeReaddirer)((*partsDirNode)(nil))
	_ = (gofs.NodeLookuper)((*partsDirNode)(nil))
)

// partsChild returns the inode of the parts directory of message info,
// a child of parent; ENOENT when the Source has no parts.
func partsChild(ctx context.Context, parent *gofs.Inode, acct *account, mailbox string, uidValidity uint32, info remote.MessageInfo, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if _, ok := acct.src.(Parter); !ok {
		return nil, syscall.ENOENT
	}
	ino := partsIno(acct.name, mailbox, uidValidity, info.UID)
	ch := parent.NewInode(ctx, &partsDirNode{acct: acct, mailbox: mailbox, uidValidity: uidValidity, info: info}, gofs.StableAttr{Mode: fuse.S_IFDIR, Ino: ino})
	if _, ok := ch.Operations().(*partsDirNode); !ok {
		acct.st.log.Error("inode number collision", "account", acct.name, "mailbox", mailbox, "uid", info.UID, "ino", ino)
		return nil, syscall.EIO
	}
	partsDirAttr(acct.st, &out.Attr, info)
	out.SetEntryTimeout(fileTimeout)
	out.SetAttrTimeout(fileTimeout)
	return ch, 0
}

// partsDirAttr fills the attributes of a parts directory: read-only, with
// the message's time.
func partsDirAttr(st *mountState, a *fuse.Attr, info remote.MessageInfo) {
	dirAttr(st, a, false)
	setTimes(a, info.InternalDate)
}

// Getattr reports a read-only directory with the message's time.
func (n *partsDirNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	partsDirAttr(n.acct.st, &out.Attr, n.info)
	out.SetTimeout(fileTimeout)
	return 0
}

// list returns the directory's files, asking the Source for the
// structure once.
func (n *partsDirNode) list(ctx context.Context) ([]partFile, syscall.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.files != nil {
		return n.files, 0
	}
	root, err := n.acct.src.(Parter).Structure(ctx, n.mailbox, n.uidValidity, n.info.UID)
	if err != nil {
		return nil, n.acct.fail(ctx, "read message structure", err, "mailbox", n.mailbox, "uid", n.info.UID)
	}
	n.files = partFiles(root)
	return n.files, 0
}

// Readdir lists the files.
func (n *partsDirNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	files, errno := n.list(ctx)
	if errno != 0 {
		return nil, errno
	}
	entries := make([]fuse.DirEntry, 0, len(files))
	for _, f := range files {
		entries = append(entries, fuse.DirEntry{Name: f.name, Mode: fuse.S_IFREG, Ino: n.fileIno(f.name)})
	}
	return gofs.NewListDirStream(entries), 0
}

func (n *partsDirNode) fileIno(name string) uint64 {
	return dirIno(n.acct.name, []string{"\x00part", n.mailbox, fmt.Sprint(n.uidValidity), fmt.Sprint(n.info.UID), name})
}

// Lookup finds a file.
func (n *partsDirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	files, errno := n.list(ctx)
	if errno != 0 {
		return nil, errno
	}
	for _, f := range files {
		if f.name == name {
			ch := n.NewInode(ctx, &partFileNode{dir: n, file: f}, gofs.StableAttr{Mode: fuse.S_IFREG, Ino: n.fileIno(name)})
			pn, ok := ch.Operations().(*partFileNode)
			if !ok {
				return nil, syscall.EIO
			}
			pn.fillAttr(&out.Attr)
			out.SetEntryTimeout(fileTimeout)
			out.SetAttrTimeout(dirTimeout) // the size is exact once read
			return ch, 0
		}
	}
	return nil, syscall.ENOENT
}

// partFileNode is one file of a parts directory. Its size is an estimate
// from the structure until it is first opened, when it is decoded into a
// scratch file and its size becomes exact.
type partFileNode struct {
	gofs.Inode
	dir  *partsDirNode
	file partFile

	mu sync.Mutex
	sc *scratch // the decoded file, once opened
}

var (
	_ = (gofs.NodeGetattrer)((*partFileNode)(nil))
	_ = (gofs.NodeOpener)((*partFileNode)(nil))
	_ = (gofs.NodeOnForgetter)((*partFileNode)(nil))
)

// estimatedSize guesses a part's decoded size from its encoded one.
func estimatedSize(p remote.Part) int64 {
	if p.Encoding == "base64" {
		return p.Size * 57 / 78 // 76 characters and CRLF hold 57 bytes
	}
	return p.Size
}

func (n *partFileNode) fillAttr(a *fuse.Attr) {
	n.mu.Lock()
	sc := n.sc
	n.mu.Unlock()
	if sc != nil {
		sc.fillAttr(n.dir.acct.st, a, filePerm)
		setTimes(a, n.dir.info.InternalDate)
		return
	}
	a.Mode = fuse.S_IFREG | filePerm
	a.Nlink = 1
	a.Size = uint64(max(estimatedSize(n.file.part), 0))
	setTimes(a, n.dir.info.InternalDate)
	a.Owner = fuse.Owner{Uid: n.dir.acct.st.uid, Gid: n.dir.acct.st.gid}
}

// Getattr reports a read-only file with the message's time and the
// part's size (estimated until the file is read).
func (n *partFileNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fillAttr(&out.Attr)
	out.SetTimeout(dirTimeout)
	return 0
}

// Open decodes the part into a scratch file the first time (fetching the
// part through the Source), and reads from it. Reads bypass the kernel's
// page cache (the size it was told may have been an estimate).
func (n *partFileNode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EACCES
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sc == nil {
		sc, errno := n.decode(ctx)
		if errno != 0 {
			return nil, 0, errno
		}
		n.sc = sc
	}
	return &partHandle{sc: n.sc}, fuse.FOPEN_DIRECT_IO, 0
}

// decode fetches the part and writes it, decoded, into a new scratch file.
func (n *partFileNode) decode(ctx context.Context) (*scratch, syscall.Errno) {
	d := n.dir
	a := d.acct
	section := n.file.part.Section
	if n.file.headers {
		section = "HEADER"
	}
	f, err := a.src.(Parter).OpenPart(ctx, d.mailbox, d.uidValidity, d.info.UID, section)
	if err != nil {
		return nil, a.fail(ctx, "read message part", err, "mailbox", d.mailbox, "uid", d.info.UID, "section", section)
	}
	defer f.Close()
	var r io.Reader
	if n.file.headers {
		b, err := mimeparts.Headers(f)
		if err != nil {
			return nil, a.fail(ctx, "decode message header", err, "mailbox", d.mailbox, "uid", d.info.UID)
		}
		r = strings.NewReader(string(b))
	} else {
		r = mimeparts.Decode(n.file.part, f)
	}
	sc, err := newScratch(a.st.tempDir)
	if err != nil {
		return nil, a.fail(ctx, "create temporary file", err, "mailbox", d.mailbox)
	}
	if _, err := io.Copy(scratchWriter{sc}, r); err != nil {
		sc.close()
		return nil, a.fail(ctx, "decode message part", err, "mailbox", d.mailbox, "uid", d.info.UID, "section", section)
	}
	return sc, 0
}

// OnForget drops the decoded file.
func (n *partFileNode) OnForget() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sc != nil {
		n.sc.close()
		n.sc = nil
	}
}

// scratchWriter appends to a scratch file.
type scratchWriter struct{ sc *scratch }

func (w scratchWriter) Write(p []byte) (int, error) {
	_, size, err := w.sc.content()
	if err != nil {
		return 0, err
	}
	return w.sc.writeAt(p, size)
}

// partHandle reads a decoded part.
type partHandle struct{ sc *scratch }

var _ = (gofs.FileReader)((*partHandle)(nil))

// Read reads the decoded part at off.
func (h *partHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.sc.readAt(dest, off)
	if err != nil {
		return nil, syscall.EBADF
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// partsIno returns the inode number of a message's parts directory.
func partsIno(account, mailbox string, uidValidity, uid uint32) uint64 {
	return dirIno(account, []string{"\x00parts", mailbox, fmt.Sprint(uidValidity), fmt.Sprint(uid)})
}
