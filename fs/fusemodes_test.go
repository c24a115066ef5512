package fs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"mailfs/cache/pop3store"
)

// fuseMode selects the kernel's open and flush modes for a test mount:
// the modes the kernel switches to for the whole connection once an
// OPEN or a FLUSH answers ENOSYS.
type fuseMode struct {
	noOpen  bool // answer every OPEN of a file with ENOSYS
	noFlush bool // answer every FLUSH with ENOSYS
	// flushAll clears FOPEN_NOFLUSH from OPEN replies: every close
	// sends FLUSH, as before message files asked for none.
	flushAll bool
}

// opCounter is a fuse.RawFileSystem that counts the requests the kernel
// sends, by name, and forces a fuseMode. In no-open mode READs carry no
// file handle: it opens, reads and releases one inside the filesystem
// for each READ, which is slow but only matters for cold reads.
type opCounter struct {
	fuse.RawFileSystem
	mode fuseMode

	mu  sync.Mutex
	ops map[string]int
}

func newOpCounter(mode fuseMode) *opCounter {
	return &opCounter{mode: mode, ops: make(map[string]int)}
}

// wrap is an Options.wrapRaw.
func (c *opCounter) wrap(fs fuse.RawFileSystem) fuse.RawFileSystem {
	c.RawFileSystem = fs
	return c
}

func (c *opCounter) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[op]++
}

// settle waits until no request came for 50 ms (at most 2 s): the kernel
// sends RELEASE in the background, after close returns.
func (c *opCounter) settle() {
	last := -1
	for range 40 {
		c.mu.Lock()
		n := 0
		for _, v := range c.ops {
			n += v
		}
		c.mu.Unlock()
		if n == last {
			return
		}
		last = n
		time.Sleep(50 * time.Millisecond)
	}
}

// take returns the counts since the last take and resets them.
func (c *opCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = make(map[string]int)
	return ops
}

// formatOps prints counts sorted by name: "FLUSH=1 OPEN=1".
func formatOps(ops map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		fmt.Fprintf(&b, "%s=%d ", k, ops[k])
	}
	return strings.TrimSpace(b.String())
}

func (c *opCounter) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	c.count("LOOKUP")
	return c.RawFileSystem.Lookup(cancel, h, name, out)
}

func (c *opCounter) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	c.count("GETATTR")
	return c.RawFileSystem.GetAttr(cancel, in, out)
}

func (c *opCounter) Statx(cancel <-chan struct{}, in *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	c.count("STATX")
	return c.RawFileSystem.Statx(cancel, in, out)
}

func (c *opCounter) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	c.count("SETATTR")
	return c.RawFileSystem.SetAttr(cancel, in, out)
}

func (c *opCounter) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	c.count("GETXATTR")
	return c.RawFileSystem.GetXAttr(cancel, h, attr, dest)
}

func (c *opCounter) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	c.count("LISTXATTR")
	return c.RawFileSystem.ListXAttr(cancel, h, dest)
}

func (c *opCounter) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	c.count("ACCESS")
	return c.RawFileSystem.Access(cancel, in)
}

func (c *opCounter) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	c.count("CREATE")
	return c.RawFileSystem.Create(cancel, in, name, out)
}

func (c *opCounter) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	c.count("OPEN")
	if c.mode.noOpen {
		return fuse.ENOSYS
	}
	st := c.RawFileSystem.Open(cancel, in, out)
	if c.mode.flushAll {
		out.OpenFlags &^= fuse.FOPEN_NOFLUSH
	}
	return st
}

func (c *opCounter) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	c.count("READ")
	if in.Fh != 0 || !c.mode.noOpen {
		return c.RawFileSystem.Read(cancel, in, buf)
	}
	var out fuse.OpenOut
	open := fuse.OpenIn{InHeader: in.InHeader, Flags: syscall.O_RDONLY}
	if st := c.RawFileSystem.Open(cancel, &open, &out); !st.Ok() {
		return nil, st
	}
	r := *in
	r.Fh = out.Fh
	res, st := c.RawFileSystem.Read(cancel, &r, buf)
	if st.Ok() {
		var b []byte
		b, st = res.Bytes(buf)
		res = fuse.ReadResultData(b)
	}
	c.RawFileSystem.Release(cancel, &fuse.ReleaseIn{InHeader: in.InHeader, Fh: out.Fh})
	return res, st
}

func (c *opCounter) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	c.count("WRITE")
	return c.RawFileSystem.Write(cancel, in, data)
}

func (c *opCounter) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	c.count("FLUSH")
	if c.mode.noFlush {
		return fuse.ENOSYS
	}
	if in.Fh == 0 {
		return fuse.OK // no-open mode: no handle to flush
	}
	return c.RawFileSystem.Flush(cancel, in)
}

func (c *opCounter) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	c.count("RELEASE")
	c.RawFileSystem.Release(cancel, in)
}

func (c *opCounter) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	c.count("OPENDIR")
	return c.RawFileSystem.OpenDir(cancel, in, out)
}

func (c *opCounter) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c.count("READDIR")
	return c.RawFileSystem.ReadDir(cancel, in, out)
}

func (c *opCounter) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c.count("READDIRPLUS")
	return c.RawFileSystem.ReadDirPlus(cancel, in, out)
}

func (c *opCounter) ReleaseDir(in *fuse.ReleaseIn) {
	c.count("RELEASEDIR")
	c.RawFileSystem.ReleaseDir(in)
}

// TestOpenFlushModes shows which requests a warm read and a cp into a
// POP3 folder cost in the kernel's modes, and why mailfs uses none of
// the connection-wide ones: in no-open mode a created file gets no
// RELEASE (a touched file would never be dropped), in no-flush mode no
// FLUSH (a copy that is not a message closes without an error and is
// never appended). What Mount does: OPEN and RELEASE per warm read, no
// FLUSH, no READ, and the Source is not asked again; created files get
// FLUSH and RELEASE.
func TestOpenFlushModes(t *testing.T) {
	tests := []struct {
		name string
		mode fuseMode
		// Requests (OPEN, FLUSH, RELEASE, READ) of a warm read, of cp
		// into a folder, and the error of a bad cp's close.
		warm, cp string
		badCp    error
	}{
		{"mailfs", fuseMode{}, "OPEN=1 RELEASE=1", "CREATE=1 FLUSH=1 RELEASE=1", syscall.EINVAL},
		{"no-open", fuseMode{noOpen: true}, "FLUSH=1", "CREATE=1 FLUSH=1", syscall.EINVAL},
		{"no-flush", fuseMode{noFlush: true, flushAll: true}, "OPEN=1 RELEASE=1", "CREATE=1 RELEASE=1", nil},
		{"no-open+no-flush", fuseMode{noOpen: true, noFlush: true}, "", "CREATE=1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := workAccount(t)
			store := pop3Store(t)
			c := newOpCounter(tt.mode)
			mnt := mountTest(t, []Account{{Name: "work", Source: work}, {Name: "pop", Source: store}},
				&Options{TempDir: t.TempDir(), wrapRaw: c.wrap})
			// ops returns the file requests since the last call, once
			// the kernel's background requests (RELEASE) are in.
			ops := func() string {
				c.settle()
				all := c.take()
				file := make(map[string]int)
				for _, k := range []string{"OPEN", "FLUSH", "RELEASE", "READ", "CREATE"} {
					if all[k] > 0 {
						file[k] = all[k]
					}
				}
				return formatOps(file)
			}
			// The first read's OPEN or FLUSH (the modes clear
			// FOPEN_NOFLUSH) switches the connection's mode.
			p := filepath.Join(mnt, "work/INBOX/2026-11-20_0915_Quarterly-report_4711.eml")
			for range 2 {
				if _, err := os.ReadFile(p); err != nil {
					t.Fatal(err)
				}
			}
			ops()
			if _, err := os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
			if got := ops(); got != tt.warm {
				t.Errorf("warm read: requests %q, want %q", got, tt.warm)
			}
			if tt.name == "mailfs" {
				if got := work.openCount(4711); got != 1 {
					t.Errorf("Source.Open called %d times for three reads, want 1", got)
				}
			}
			good := "From: x@example.org\r\nSubject: cp\r\n\r\nbody\r\n"
			if err := os.WriteFile(filepath.Join(mnt, "pop/INBOX/new.eml"), []byte(good), 0o600); err != nil {
				t.Fatalf("cp into pop/INBOX: %v", err)
			}
			if got := ops(); got != tt.cp {
				t.Errorf("cp into a folder: requests %q, want %q", got, tt.cp)
			}
			err := os.WriteFile(filepath.Join(mnt, "pop/INBOX/bad.eml"), []byte("not a message"), 0o600)
			if !errors.Is(err, tt.badCp) && !(err == nil && tt.badCp == nil) {
				t.Errorf("cp of a file that is not a message: error %v, want %v", err, tt.badCp)
			}
		})
	}
}

// pop3Store opens a POP3 store over a fake maildrop with one message,
// downloaded, and closes it when the test ends (after the unmount).
func pop3Store(t *testing.T) *pop3store.Store {
	t.Helper()
	drop := newFakeDrop("From: a@example.org\r\nSubject: first\r\n\r\nOne.\r\n")
	store, err := pop3store.Open(&pop3store.Options{Dir: t.TempDir(), Account: "pop", Downloader: drop, LeaveOnServer: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestXattrNamespaces checks that attributes outside the user namespace
// are not supported (ENOTSUP, which GNU ls remembers for the whole mount)
// while user.mail.* work, and that a warm ls -l costs no GETXATTR per
// file.
func TestXattrNamespaces(t *testing.T) {
	work := workAccount(t)
	for uid := uint32(100); uid < 150; uid++ {
		work.add("INBOX", uid, "many", date1, "body\r\n", -1)
	}
	c := newOpCounter(fuseMode{})
	mnt := mountTest(t, []Account{{Name: "work", Source: work}}, &Options{wrapRaw: c.wrap})
	inbox := filepath.Join(mnt, "work/INBOX")
	msg := filepath.Join(inbox, "2026-11-20_0915_Quarterly-report_4711.eml")
	buf := make([]byte, 256)
	for _, p := range []string{msg, inbox, mnt} {
		for _, name := range []string{"security.selinux", "system.posix_acl_access", "system.posix_acl_default", "trusted.x"} {
			if _, err := syscall.Getxattr(p, name, buf); !errors.Is(err, syscall.ENOTSUP) {
				t.Errorf("getxattr(%s, %s): %v, want ENOTSUP", p, name, err)
			}
		}
	}
	if n, err := syscall.Getxattr(msg, "user.mail.uid", buf); err != nil || string(buf[:n]) != "4711" {
		t.Errorf("getxattr(user.mail.uid) = %q, %v, want 4711", buf[:max(n, 0)], err)
	}
	if _, err := syscall.Getxattr(msg, "user.other", buf); !errors.Is(err, syscall.ENODATA) {
		t.Errorf("getxattr(user.other): %v, want ENODATA", err)
	}

	if _, err := exec.LookPath("ls"); err != nil {
		t.Skip("skipping the ls -l part: ls not found")
	}
	lsLong := func() {
		t.Helper()
		if out, err := exec.Command("ls", "-l", inbox).CombinedOutput(); err != nil {
			t.Fatalf("ls -l: %v: %s", err, out)
		}
	}
	lsLong()
	c.take()
	lsLong()
	// One security.selinux and one system.posix_acl_access at most for
	// the whole run, whatever the number of files.
	if got := c.take()["GETXATTR"]; got > 2 {
		t.Errorf("warm ls -l of 52 files sent %d GETXATTR, want at most 2", got)
	}
}
