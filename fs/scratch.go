package fs

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// scratch is a file being written that is not a message yet: one being
// copied into a folder until its close appends it, or one in a Maildir
// tmp/ directory until it is renamed into new/ or cur/. Its bytes are in an
// unlinked temporary file of Options.TempDir, so a crash leaves nothing
// behind (and appends nothing).
type scratch struct {
	mu    sync.Mutex
	f     *os.File // nil once closed
	size  int64
	mtime time.Time
}

// newScratch returns an empty scratch file in dir.
func newScratch(dir string) (*scratch, error) {
	f, err := os.CreateTemp(dir, ".mailfs-scratch-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name()) // the open file is all that is needed
	return &scratch{f: f, mtime: time.Now()}, nil
}

// errScratchClosed is the error of a scratch file used after close.
var errScratchClosed = errors.New("file is closed")

// writeAt writes data at off.
func (s *scratch) writeAt(data []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, errScratchClosed
	}
	n, err := s.f.WriteAt(data, off)
	s.size = max(s.size, off+int64(n))
	s.mtime = time.Now()
	return n, err
}

// readAt reads into dest from off; reading at or past the end is not an
// error.
func (s *scratch) readAt(dest []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return 0, errScratchClosed
	}
	n, err := s.f.ReadAt(dest, off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// truncate sets the size.
func (s *scratch) truncate(size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errScratchClosed
	}
	if err := s.f.Truncate(size); err != nil {
		return err
	}
	s.size = size
	s.mtime = time.Now()
	return nil
}

// content returns the bytes written so far, to read while nothing
// writes: the caller holds the only handle, or the file is no longer
// reachable for writing.
func (s *scratch) content() (io.ReaderAt, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil, 0, errScratchClosed
	}
	return s.f, s.size, nil
}

// close drops the temporary file; later calls fail with errScratchClosed
// (EBADF), and the size stays what it was.
func (s *scratch) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// fillAttr fills the attributes of the file: mode perm, the size written
// so far and the time of the last write.
func (s *scratch) fillAttr(st *mountState, a *fuse.Attr, perm uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a.Mode = fuse.S_IFREG | perm
	a.Nlink = 1
	a.Size = uint64(max(s.size, 0))
	setTimes(a, s.mtime)
	a.Owner = fuse.Owner{Uid: st.uid, Gid: st.gid}
}
