package fs

import (
	"github.com/hanwen/go-fuse/v2/fuse"
)

// uninterruptible wraps the fuse.RawFileSystem that go-fuse's node bridge
// makes, so that no FUSE request is ever cancelled by the kernel's
// INTERRUPT.
//
// The kernel sends INTERRUPT for a waiting request whenever the calling
// thread receives any signal: SIGCHLD in shells, SIGWINCH, interval
// timers, SIGURG in every Go program. go-fuse then closes the request's
// cancel channel, which cancels the context the nodes pass to the Source;
// whatever the daemon answers becomes the syscall's result, and programs
// do not retry stat, open or read on EINTR. Here every method gets a nil
// cancel channel instead (a channel that is never ready: the context is
// never cancelled), so the work for a request runs to its end and is
// bounded by the Source's own timeouts (the IMAP watchdog). A fatal signal
// needs no help from the daemon: the caller dies and the kernel drops the
// answer.
//
// Every method of fuse.RawFileSystem is written out, none promoted from an
// embedded field, so that a method added by a go-fuse upgrade fails to
// compile here instead of passing the kernel's cancellation through.
type uninterruptible struct {
	fs fuse.RawFileSystem
}

var _ fuse.RawFileSystem = uninterruptible{}

func (u uninterruptible) String() string                { return u.fs.String() }
func (u uninterruptible) SetDebug(debug bool)           { u.fs.SetDebug(debug) }
func (u uninterruptible) Init(s *fuse.Server)           { u.fs.Init(s) }
func (u uninterruptible) OnUnmount()                    { u.fs.OnUnmount() }
func (u uninterruptible) Forget(node, n uint64)         { u.fs.Forget(node, n) }
func (u uninterruptible) ReleaseDir(in *fuse.ReleaseIn) { u.fs.ReleaseDir(in) }

func (u uninterruptible) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	return u.fs.Lookup(nil, h, name, out)
}

func (u uninterruptible) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	return u.fs.GetAttr(nil, in, out)
}

func (u uninterruptible) SetAttr(_ <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	return u.fs.SetAttr(nil, in, out)
}

func (u uninterruptible) Mknod(_ <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	return u.fs.Mknod(nil, in, name, out)
}

func (u uninterruptible) Mkdir(_ <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	return u.fs.Mkdir(nil, in, name, out)
}

func (u uninterruptible) Unlink(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return u.fs.Unlink(nil, h, name)
}

func (u uninterruptible) Rmdir(_ <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	return u.fs.Rmdir(nil, h, name)
}

func (u uninterruptible) Rename(_ <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	return u.fs.Rename(nil, in, oldName, newName)
}

func (u uninterruptible) Link(_ <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	return u.fs.Link(nil, in, name, out)
}

func (u uninterruptible) Symlink(_ <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	return u.fs.Symlink(nil, h, target, name, out)
}

func (u uninterruptible) Readlink(_ <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	return u.fs.Readlink(nil, h)
}

func (u uninterruptible) Access(_ <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	return u.fs.Access(nil, in)
}

func (u uninterruptible) GetXAttr(_ <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	return u.fs.GetXAttr(nil, h, attr, dest)
}

func (u uninterruptible) ListXAttr(_ <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	return u.fs.ListXAttr(nil, h, dest)
}

func (u uninterruptible) SetXAttr(_ <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	return u.fs.SetXAttr(nil, in, attr, data)
}

func (u uninterruptible) RemoveXAttr(_ <-chan struct{}, h *fuse.InHeader, attr string) fuse.Status {
	return u.fs.RemoveXAttr(nil, h, attr)
}

func (u uninterruptible) Create(_ <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	return u.fs.Create(nil, in, name, out)
}

func (u uninterruptible) Tmpfile(_ <-chan struct{}, in *fuse.CreateIn, out *fuse.CreateOut) fuse.Status {
	return u.fs.Tmpfile(nil, in, out)
}

func (u uninterruptible) Open(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return u.fs.Open(nil, in, out)
}

func (u uninterruptible) Read(_ <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	return u.fs.Read(nil, in, buf)
}

func (u uninterruptible) Lseek(_ <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	return u.fs.Lseek(nil, in, out)
}

func (u uninterruptible) GetLk(_ <-chan struct{}, in *fuse.LkIn, out *fuse.LkOut) fuse.Status {
	return u.fs.GetLk(nil, in, out)
}

func (u uninterruptible) SetLk(_ <-chan struct{}, in *fuse.LkIn) fuse.Status {
	return u.fs.SetLk(nil, in)
}

func (u uninterruptible) SetLkw(_ <-chan struct{}, in *fuse.LkIn) fuse.Status {
	return u.fs.SetLkw(nil, in)
}

func (u uninterruptible) Release(_ <-chan struct{}, in *fuse.ReleaseIn) {
	u.fs.Release(nil, in)
}

func (u uninterruptible) Write(_ <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	return u.fs.Write(nil, in, data)
}

func (u uninterruptible) Writev(_ <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	return u.fs.Writev(nil, in, data)
}

func (u uninterruptible) CopyFileRange(_ <-chan struct{}, in *fuse.CopyFileRangeIn) (uint32, fuse.Status) {
	return u.fs.CopyFileRange(nil, in)
}

func (u uninterruptible) Ioctl(_ <-chan struct{}, in *fuse.IoctlIn, inbuf []byte, out *fuse.IoctlOut, outbuf []byte) fuse.Status {
	return u.fs.Ioctl(nil, in, inbuf, out, outbuf)
}

func (u uninterruptible) Flush(_ <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	return u.fs.Flush(nil, in)
}

func (u uninterruptible) Fsync(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return u.fs.Fsync(nil, in)
}

func (u uninterruptible) Fallocate(_ <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	return u.fs.Fallocate(nil, in)
}

func (u uninterruptible) OpenDir(_ <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	return u.fs.OpenDir(nil, in, out)
}

func (u uninterruptible) ReadDir(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return u.fs.ReadDir(nil, in, out)
}

func (u uninterruptible) ReadDirPlus(_ <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return u.fs.ReadDirPlus(nil, in, out)
}

func (u uninterruptible) FsyncDir(_ <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return u.fs.FsyncDir(nil, in)
}

func (u uninterruptible) StatFs(_ <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	return u.fs.StatFs(nil, h, out)
}

func (u uninterruptible) Statx(_ <-chan struct{}, in *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	return u.fs.Statx(nil, in, out)
}
