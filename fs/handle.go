package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// messageHandle is an open message, or an open queued or failed outbox
// message: a read-only body file, closed on Release. The handle of a
// message whose body was opened before (messageNode.opened) opens it
// through the Source at the first READ only (or when the message is about
// to vanish: messageNode.pin): while the kernel has the pages, reads never
// reach the filesystem.
type messageHandle struct {
	n *messageNode // nil for an outbox message

	// mu guards f, which is nil until a READ needs it.
	mu sync.Mutex
	f  *os.File
}

var (
	_ = (gofs.FileReader)((*messageHandle)(nil))
	_ = (gofs.FileReleaser)((*messageHandle)(nil))
)

// file returns the body file, opening it first when needed.
func (h *messageHandle) file(ctx context.Context) (*os.File, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil && h.n == nil {
		return nil, syscall.EBADF // an outbox message, released
	}
	if h.f == nil {
		f, resized, errno := h.n.openBody(ctx)
		if errno != 0 {
			return nil, errno
		}
		if resized {
			// Not from inside a READ: the reader holds the page locks
			// that the invalidation waits for.
			go h.n.NotifyContent(0, 0)
		}
		h.f = f
		h.n.forget(h)
	}
	return h.f, 0
}

// Read reads from the body file at off.
func (h *messageHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f, errno := h.file(ctx)
	if errno != 0 {
		return nil, errno
	}
	n, err := f.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Errno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Release closes the body file.
func (h *messageHandle) Release(ctx context.Context) syscall.Errno {
	if h.n != nil {
		h.n.forget(h)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f != nil {
		h.f.Close()
		h.f = nil
	}
	return 0
}
