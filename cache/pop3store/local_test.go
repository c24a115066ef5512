package pop3store

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"

	"mailfs/remote"
)

func mailboxNames(t *testing.T, s *Store) []string {
	t.Helper()
	mbs, err := s.Mailboxes(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range mbs {
		if m.Delim != '/' {
			t.Errorf("%s: delimiter %q, want '/'", m.Name, m.Delim)
		}
		out = append(out, m.Name)
	}
	return out
}

func TestLocalFolders(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")), msg("b", sample("two")))
	e.mustPoll()
	ctx := t.Context()
	for _, name := range []string{"Archive", "Archive/2024", "Zeta", "보관함"} {
		if err := e.s.CreateMailbox(ctx, name); err != nil {
			t.Fatalf("CreateMailbox %s: %v", name, err)
		}
	}
	if got, want := mailboxNames(t, e.s), []string{"INBOX", "Archive", "Archive/2024", "Zeta", "보관함"}; !slices.Equal(got, want) {
		t.Errorf("Mailboxes: got %q, want %q", got, want)
	}
	for _, c := range []struct {
		name string
		want error
	}{
		{"Archive", ErrExists}, {"inbox", ErrExists}, {"", ErrInvalid}, {"a//b", ErrInvalid},
		{"../x", ErrInvalid}, {"Nope/x", remote.ErrNotFound}, {"bad\x00", ErrInvalid},
	} {
		if err := e.s.CreateMailbox(ctx, c.name); !errors.Is(err, c.want) {
			t.Errorf("CreateMailbox(%q): got %v, want %v", c.name, err, c.want)
		}
	}

	// mv INBOX/1 Archive/
	uid, err := e.s.Move(ctx, Inbox, 1, "Archive")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if uid != 1 {
		t.Errorf("new UID: got %d, want 1", uid)
	}
	if got := subjects(e.list(Inbox)); !slices.Equal(got, []string{"two"}) {
		t.Errorf("INBOX after mv: %q", got)
	}
	l, err := e.s.List(ctx, "Archive", 0)
	if err != nil || !slices.Equal(subjects(l), []string{"one"}) {
		t.Fatalf("Archive after mv: %v %v", err, l)
	}
	if got := string(e.read("Archive", 1)); got != sample("one") {
		t.Errorf("moved message: got %q", got)
	}
	if _, err := e.s.Move(ctx, Inbox, 1, "Archive"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Move of a moved message: got %v, want ErrNotFound", err)
	}
	if _, err := e.s.Open(ctx, "Archive", l.UIDValidity+1, 1); !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("Open with a wrong UIDVALIDITY: got %v", err)
	}

	// rmdir of a non-empty folder is refused with ENOTEMPTY.
	for _, name := range []string{"Archive", "Archive/2024/.."} {
		err := e.s.DeleteMailbox(ctx, name)
		var errno syscall.Errno
		if name == "Archive" && (!errors.Is(err, ErrNotEmpty) || !errors.As(err, &errno) || errno != syscall.ENOTEMPTY) {
			t.Errorf("DeleteMailbox(non-empty): got %v, want ErrNotEmpty (ENOTEMPTY)", err)
		}
	}
	if err := e.s.DeleteMailbox(ctx, Inbox); !errors.Is(err, remote.ErrRefused) {
		t.Errorf("DeleteMailbox(INBOX): got %v, want ErrRefused", err)
	}
	if err := e.s.DeleteMailbox(ctx, "Zeta"); err != nil {
		t.Errorf("DeleteMailbox(empty): %v", err)
	}
	if err := e.s.DeleteMailbox(ctx, "Zeta"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("DeleteMailbox(gone): got %v", err)
	}

	// mv Archive Old: children and messages follow, UIDVALIDITY kept.
	if err := e.s.RenameMailbox(ctx, "Archive", "Old"); err != nil {
		t.Fatalf("RenameMailbox: %v", err)
	}
	if err := e.s.RenameMailbox(ctx, "Old", "Old/2024/x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("rename into itself: got %v", err)
	}
	if err := e.s.RenameMailbox(ctx, "Old", "보관함"); !errors.Is(err, ErrExists) {
		t.Errorf("rename onto an existing name: got %v", err)
	}
	if err := e.s.RenameMailbox(ctx, Inbox, "x"); !errors.Is(err, remote.ErrRefused) {
		t.Errorf("rename INBOX: got %v", err)
	}
	e.reopen()
	if got, want := mailboxNames(t, e.s), []string{"INBOX", "Old", "Old/2024", "보관함"}; !slices.Equal(got, want) {
		t.Errorf("Mailboxes after rename and restart: got %q, want %q", got, want)
	}
	l2, _ := e.s.List(ctx, "Old", 0)
	if l2.UIDValidity != l.UIDValidity || !slices.Equal(subjects(l2), []string{"one"}) {
		t.Errorf("renamed folder: UIDVALIDITY %d (want %d), %q", l2.UIDValidity, l.UIDValidity, subjects(l2))
	}
	// Move back, and the folder can go.
	if _, err := e.s.Move(ctx, "Old", 1, Inbox); err != nil {
		t.Fatal(err)
	}
	if got := e.list(Inbox).Messages; len(got) != 2 || got[1].UID != 3 {
		t.Errorf("INBOX after moving back: %+v (want the new UID 3)", got)
	}
	if err := e.s.DeleteMailbox(ctx, "Old/2024"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteMailbox(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	// A folder made again gets a new UIDVALIDITY.
	if err := e.s.CreateMailbox(ctx, "Old"); err != nil {
		t.Fatal(err)
	}
	if l3, _ := e.s.List(ctx, "Old", 0); l3.UIDValidity == l.UIDValidity {
		t.Errorf("recreated folder reuses UIDVALIDITY %d", l3.UIDValidity)
	}
	// The moved message is still downloaded once only.
	e.mustPoll()
	if got := e.drop.retrCount("a"); got != 1 {
		t.Errorf("RETR of the moved message: %d", got)
	}
}

func TestFlagsRoundTrip(t *testing.T) {
	e := newEnv(t, true, msg("a", sample("one")))
	e.mustPoll()
	ctx := t.Context()
	if got, err := e.s.Flags(Inbox, 1); err != nil || len(got) != 0 {
		t.Fatalf("initial flags: %q %v", got, err)
	}
	if err := e.s.SetFlags(ctx, Inbox, 1, []string{`\Seen`, `\Flagged`, `\Seen`, ""}); err != nil {
		t.Fatal(err)
	}
	want := []string{`\Flagged`, `\Seen`}
	if got, _ := e.s.Flags(Inbox, 1); !slices.Equal(got, want) {
		t.Errorf("Flags: got %q, want %q", got, want)
	}
	if got := e.list(Inbox).Messages[0].Flags; !slices.Equal(got, want) {
		t.Errorf("listing flags: got %q, want %q", got, want)
	}
	e.reopen()
	if got, _ := e.s.Flags(Inbox, 1); !slices.Equal(got, want) {
		t.Errorf("Flags after restart: got %q, want %q", got, want)
	}
	if err := e.s.SetFlags(ctx, Inbox, 1, []string{"two words"}); !errors.Is(err, remote.ErrInvalid) {
		t.Errorf("SetFlags with a space: got %v", err)
	}
	if err := e.s.SetFlags(ctx, Inbox, 9, nil); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("SetFlags of a missing message: got %v", err)
	}
	if _, err := e.s.Flags("Nope", 1); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Flags in a missing mailbox: got %v", err)
	}
}

func TestAppend(t *testing.T) {
	e := newEnv(t, true)
	ctx := t.Context()
	if err := e.s.CreateMailbox(ctx, "Notes"); err != nil {
		t.Fatal(err)
	}
	uid, err := e.s.Append(ctx, "Notes", strings.NewReader(sample("kept")), int64(len(sample("kept"))), nil)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	l, _ := e.s.List(ctx, "Notes", 0)
	if uid != 1 || !slices.Equal(subjects(l), []string{"kept"}) {
		t.Errorf("after Append: uid %d, %q", uid, subjects(l))
	}
	for _, bad := range []string{
		"", "just text\n", "TODO: buy milk\n\nand bread\n", " leading: space\r\n\r\n",
		"Subject: x\x00y\r\n\r\n", "\x00\x01\x02",
	} {
		_, err := e.s.Append(ctx, "Notes", strings.NewReader(bad), int64(len(bad)), nil)
		var errno syscall.Errno
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &errno) || errno != syscall.EINVAL {
			t.Errorf("Append(%q): got %v, want ErrInvalid (EINVAL)", bad, err)
		}
	}
	if _, err := e.s.Append(ctx, "Nope", strings.NewReader(sample("x")), int64(len(sample("x"))), nil); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Append to a missing mailbox: got %v", err)
	}
	if got := e.files(); len(got) != 1 {
		t.Errorf("files: got %q, want the one appended", got)
	}
	e.reopen()
	if got := string(e.read("Notes", 1)); got != sample("kept") {
		t.Errorf("appended message after restart: %q", got)
	}
	// Removing an appended message schedules no DELE.
	if err := e.s.Remove(ctx, "Notes", 1); err != nil {
		t.Fatal(err)
	}
	if n := e.pendingDele(); n != 0 {
		t.Errorf("pending deletions: %d", n)
	}
	if got := e.files(); len(got) != 0 {
		t.Errorf("files after rm: %q", got)
	}
}
