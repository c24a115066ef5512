package pop3store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"mailfs/internal/tmpfs"
)

// TestDownloadOnFullDisk downloads into a store on a full disk (with
// leave_on_server = false): the poll fails with ENOSPC, nothing partial is
// stored, the message stays on the server (no DELE), every message stored
// before reads back exactly, a cp into a local folder fails with ENOSPC
// and stores nothing; once space is freed the message is downloaded (and
// deleted on the server), also after a restart everything is there.
func TestDownloadOnFullDisk(t *testing.T) {
	disk := tmpfs.Mount(t, "4m") // room for the big message twice once freed
	e := &env{t: t, dir: filepath.Join(disk, "pop3", "acct"), drop: newFakeDrop(msg("u1", sample("one")), msg("u2", sample("two"))), clock: newClock(), leave: false}
	e.reopen()
	e.mustPoll()
	want := map[string]string{"u1": sample("one"), "u2": sample("two")}
	e.checkInbox(want)
	if got := e.drop.totalDele(); got != 2 {
		t.Fatalf("DELE after the first poll: got %d, want 2", got)
	}
	if err := e.s.CreateMailbox(t.Context(), "Notes"); err != nil {
		t.Fatal(err)
	}

	big := sample("big") + strings.Repeat("0123456789abcdef\r\n", 64<<10) // 1.1 MiB
	e.drop.add(msg("u3", big))
	filler := tmpfs.Fill(t, disk, 0)
	err := e.poll()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("poll on a full disk: got %v, want an error wrapping ENOSPC", err)
	}
	if e.stored("u3") {
		t.Error("the message was stored on a full disk")
	}
	if files := e.files(); len(files) != 2 {
		t.Errorf("msgs/ after the failed download: got %v, want the 2 earlier messages", files)
	}
	if got := e.drop.dele["u3"]; got != 0 {
		t.Errorf("DELE of the message that could not be stored: got %d, want 0", got)
	}
	if !slices.Contains(e.drop.uids(), "u3") {
		t.Error("the message is gone from the server")
	}
	e.checkInbox(want)

	_, err = e.s.Append(t.Context(), "Notes", strings.NewReader(big), int64(len(big)), nil)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Append on a full disk: got %v, want an error wrapping ENOSPC", err)
	}
	if l, err := e.s.List(t.Context(), "Notes", 0); err != nil || len(l.Messages) != 0 {
		t.Errorf("Notes after a failed Append: %v, %v; want empty", l, err)
	}
	e.files()

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.mustPoll()
	want["u3"] = big
	e.checkInbox(want)
	if got := e.drop.dele["u3"]; got != 1 {
		t.Errorf("DELE of the message once stored: got %d, want 1", got)
	}
	if got := e.drop.retrCount("u1") + e.drop.retrCount("u2"); got != 2 {
		t.Errorf("RETR of the messages stored before: got %d, want 2 (each once)", got)
	}
	if _, err := e.s.Append(t.Context(), "Notes", strings.NewReader(big), int64(len(big)), nil); err != nil {
		t.Errorf("Append after freeing space: %v", err)
	}
	e.reopen()
	e.checkInbox(want)
	l, err := e.s.List(t.Context(), "Notes", 0)
	if err != nil || len(l.Messages) != 1 {
		t.Fatalf("Notes after a restart: %v, %v; want one message", l, err)
	}
	if got := e.read("Notes", l.Messages[0].UID); !bytes.Equal(got, []byte(big)) {
		t.Errorf("appended message: got %d bytes, want %d", len(got), len(big))
	}
}
