package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// messageHandle is an open message: a read-only body file from the Source,
// closed on Release.
type messageHandle struct {
	f *os.File
}

var (
	_ = (gofs.FileReader)((*messageHandle)(nil))
	_ = (gofs.FileReleaser)((*messageHandle)(nil))
)

// Read reads from the body file at off.
func (h *messageHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.f.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Errno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Release closes the body file.
func (h *messageHandle) Release(ctx context.Context) syscall.Errno {
	h.f.Close()
	return 0
}
