package outbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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

// One state.json with a state this version does not know (a bit flip, a
// hand edit) must not keep mailfs from starting, and so every other
// message from being sent: that message goes to failed/, as one whose
// state cannot be read does.
func TestRecoverUnknownState(t *testing.T) {
	spool := t.TempDir() + "/spool"
	msg := "From: me@work.example\r\nTo: a@x.example\r\n\r\nbody\r\n"
	mkMessage(t, spool, queueDir, "q1", queuedRec("good.eml", StateQueued, "work", 1), msg)
	odd := queuedRec("odd.eml", "deferred", "work", 2)
	odd.To = append(odd.To, "bcc@x.example") // a Bcc recipient: only in the record
	mkMessage(t, spool, queueDir, "q2", odd, msg)
	e := newEnv(t, func(o *Options) { o.Dir = spool })
	if q := names(e.ob.Queued()); !slices.Equal(q, []string{"good.eml"}) {
		t.Errorf("Queued() = %q, want good.eml", q)
	}
	f := e.ob.Failed()
	if len(f) != 1 || !strings.Contains(f[0].Error, "deferred") {
		t.Fatalf("Failed() = %+v, want the message with the unknown state, saying why", f)
	}
	if f[0].Name != "odd.eml" || !slices.Equal(f[0].Recipients, odd.To) {
		t.Errorf("failed entry %q to %q, want odd.eml to %q", f[0].Name, f[0].Recipients, odd.To)
	}
	if err := e.ob.Retry(f[0].Name); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	e.start()
	deadline := time.Now().Add(5 * time.Second)
	for len(e.work.got()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := e.work.got()
	if len(got) != 2 || !slices.Equal(got[1].env.To, odd.To) {
		t.Errorf("sent %+v, want good.eml then odd.eml to %q", got, odd.To)
	}
}
