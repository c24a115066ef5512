package outbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A write that fails with an I/O error (disk full, quota) leaves a draft
// that misses bytes: the close after it must fail too and queue nothing,
// not send the message truncated while cp reported the write error.
func TestWriteErrorIsNotQueued(t *testing.T) {
	e := newEnv(t)
	d, err := e.ob.Create("big.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	head := "To: a@x.example\n\nfirst half\n"
	if _, err := d.WriteAt([]byte(head), 0); err != nil {
		t.Fatal(err)
	}
	// Make the next write fail as a full disk would: the draft file is
	// now read-only.
	ro, err := os.Open(filepath.Join(d.dir, draftFile))
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.f.Close()
	d.f = ro
	d.mu.Unlock()
	if _, err := d.WriteAt([]byte("second half\n"), int64(len(head))); err == nil {
		t.Fatal("write to a read-only draft succeeded")
	}
	err = d.Commit()
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Commit after a failed write: %v, want the I/O error", err)
	}
	if q := e.ob.Queued(); len(q) != 0 {
		t.Errorf("Queued() = %v, want nothing: the message is truncated", names(q))
	}
	if f := e.ob.Failed(); len(f) != 0 {
		t.Errorf("Failed() = %v, want nothing", names(f))
	}
	if left := e.spoolEntries("queue"); len(left) != 0 {
		t.Errorf("queue/ holds %v", left)
	}
}

// The spool created by Open must survive a power cut together with the
// first message committed into it: the entries of the new directories in
// their parents are fsync'ed, not only the spool's own subdirectories.
func TestOpenSyncsNewSpoolParents(t *testing.T) {
	var synced []string
	old := syncDir
	syncDir = func(dir string) error {
		synced = append(synced, dir)
		return old(dir)
	}
	defer func() { syncDir = old }()
	base := t.TempDir()
	dir := filepath.Join(base, "data", "mailfs", "outbox")
	ob, err := Open(&Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	for _, want := range []string{dir, filepath.Dir(dir), filepath.Join(base, "data"), base} {
		if !slices.Contains(synced, want) {
			t.Errorf("%s was not fsync'ed (synced: %q)", want, synced)
		}
	}
}
