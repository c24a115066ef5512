package outbox

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/tmpfs"
)

// TestDraftOnFullDisk writes messages into an outbox whose spool is on a
// full disk: with no space at all (the write fails: Commit fails with an
// error wrapping ENOSPC and nothing is kept) and with space for the draft
// but not for the prepared copy (Commit succeeds: the message is on disk,
// queued, and prepared once there is space). Each time nothing
// lands in failed/ and the message queued before is intact; once space is
// freed both are sent as they were.
func TestDraftOnFullDisk(t *testing.T) {
	disk := tmpfs.Mount(t, "4m")
	e := newEnv(t, func(o *Options) { o.Dir = filepath.Join(disk, "spool") })
	t.Cleanup(func() { e.ob.Close() }) // before the unmount
	first := e.mustCommit("first.eml", crlf("To: bob@example.org\nSubject: queued before\n\nstill here\n"))
	stored := queuedBytes(t, e.ob, first)

	big := crlf("To: bob@example.org\nSubject: big\n\n") + strings.Repeat("0123456789abcdef\r\n", 64<<10) // 1.1 MiB
	for _, tc := range []struct {
		name  string
		leave int64 // bytes left free
	}{
		{"no space", 0},
		{"space for the draft only", int64(len(big)) + 256<<10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			filler := tmpfs.Fill(t, disk, tc.leave)
			defer os.Remove(filler)
			d, err := e.ob.Create("big.eml")
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("Create on a full disk: got %v, want nil or ENOSPC", err)
				}
				return
			}
			var werr error
			for off := 0; off < len(big) && werr == nil; off += 128 << 10 {
				_, werr = d.WriteAt([]byte(big[off:min(off+128<<10, len(big))]), int64(off))
			}
			if werr != nil && !errors.Is(werr, syscall.ENOSPC) {
				t.Errorf("write on a full disk: got %v, want nil or ENOSPC", werr)
			}
			cerr := d.Commit()
			d.Abort() // the fs layer's RELEASE
			t.Logf("write: %v; commit: %v", werr, cerr)
			want := []string{first}
			switch {
			case werr != nil && !errors.Is(cerr, syscall.ENOSPC):
				t.Fatalf("Commit after a write failed on a full disk: got %v, want an error wrapping ENOSPC", cerr)
			case werr == nil && cerr != nil:
				t.Fatalf("Commit of a message written whole: got %v, want nil (it is on disk, queued until it can be prepared)", cerr)
			case werr == nil:
				want = append(want, "big.eml")
			}
			if q := names(e.ob.Queued()); !slices.Equal(q, want) {
				t.Errorf("queued: got %q, want %q", q, want)
			}
			if f := names(e.ob.Failed()); len(f) != 0 {
				t.Errorf("failed/ after a full disk: got %q, want nothing (it was not a bad message)", f)
			}
			if left := e.spoolEntries(tmpDir); len(left) != 0 {
				t.Errorf("spool tmp/ after the failed message: got %q, want nothing", left)
			}
			if got := queuedBytes(t, e.ob, first); got != stored {
				t.Errorf("message queued before: got %q, want %q", got, stored)
			}
		})
	}

	e.reopen()
	e.start()
	waitSent(t, e.work, 2)
	if got := e.work.got()[0].data; got != stored {
		t.Errorf("sent: got %q, want the message queued before %q", got, stored)
	}
	if got := e.work.got()[1].data; !strings.HasSuffix(got, big[strings.Index(big, "\r\n\r\n"):]) {
		t.Errorf("big message sent with %d bytes, want its body intact", len(got))
	}
}

// queuedBytes returns the stored bytes of the queued message name.
func queuedBytes(t *testing.T, ob *Outbox, name string) string {
	t.Helper()
	f, err := ob.OpenQueued(name)
	if err != nil {
		t.Fatalf("OpenQueued(%q): %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitSent waits until s has sent n messages.
func waitSent(t *testing.T, s *fakeSender, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); len(s.got()) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("sent %d messages in 20s, want %d", len(s.got()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
