package imap

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// serverMailboxes lists the mailboxes on the server, bypassing the Store.
func serverMailboxes(t *testing.T, srv *remotetest.IMAP) []string {
	t.Helper()
	names, err := srv.Mailboxes()
	if err != nil {
		t.Fatalf("Mailboxes: %v", err)
	}
	return names
}

func TestCreateMailbox(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, nil)
	ctx := context.Background()
	names := []string{"Project X", "보관함", "Grüße & Co", "Archive", "Archive/2024", "Archive/2024/Q1 (old)"}
	for _, name := range names {
		if err := s.CreateMailbox(ctx, name); err != nil {
			t.Fatalf("CreateMailbox(%q): %v", name, err)
		}
	}
	want := append(slices.Clone(names), "INBOX")
	slices.Sort(want)
	if got := serverMailboxes(t, srv); !slices.Equal(got, want) {
		t.Errorf("got mailboxes %q, want %q", got, want)
	}
	// The Store lists them back under the same names.
	mboxes, err := s.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range mboxes {
		listed = append(listed, m.Name)
	}
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("Store lists %q, want %q", listed, want)
	}

	for _, name := range []string{"보관함", "INBOX"} {
		if err := s.CreateMailbox(ctx, name); !errors.Is(err, remote.ErrExists) {
			t.Errorf("CreateMailbox(%q) again: got %v, want ErrExists", name, err)
		}
	}
	srv.Refuse("CREATE", "NOPERM", "Not allowed to create mailboxes")
	if err := s.CreateMailbox(ctx, "New"); !errors.Is(err, remote.ErrRefused) {
		t.Errorf("refused CREATE: got %v, want ErrRefused", err)
	}
	srv.Allow("CREATE")
	if err := s.CreateMailbox(ctx, "New"); err != nil {
		t.Errorf("CreateMailbox after a refusal: %v", err)
	}
}

func TestDeleteMailbox(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	for _, name := range []string{"보관함", "Old stuff", "Parent", "Parent/Child"} {
		if err := srv.CreateMailbox(name); err != nil {
			t.Fatal(err)
		}
	}
	seed(t, srv, "Old stuff", 2)
	s := testStore(t, srv, nil)
	ctx := context.Background()
	for _, name := range []string{"보관함", "Old stuff"} {
		if err := s.DeleteMailbox(ctx, name); err != nil {
			t.Fatalf("DeleteMailbox(%q): %v", name, err)
		}
	}
	if got, want := serverMailboxes(t, srv), []string{"INBOX", "Parent", "Parent/Child"}; !slices.Equal(got, want) {
		t.Errorf("got mailboxes %q, want %q", got, want)
	}
	if err := s.DeleteMailbox(ctx, "보관함"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("DeleteMailbox of a missing mailbox: got %v, want ErrNotFound", err)
	}
	srv.Refuse("DELETE", "HASCHILDREN", "Mailbox has children, delete them first")
	if err := s.DeleteMailbox(ctx, "Parent"); !errors.Is(err, remote.ErrNotEmpty) {
		t.Errorf("DeleteMailbox refused with HASCHILDREN: got %v, want ErrNotEmpty", err)
	}
	srv.Allow("DELETE")
	if got := serverMailboxes(t, srv); !slices.Contains(got, "Parent") {
		t.Errorf("got mailboxes %q, want Parent still there", got)
	}
}

// TestDeleteSelectedMailbox: deleting the mailbox the only pooled
// connection has selected works, and so does the connection afterwards.
func TestDeleteSelectedMailbox(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	if err := srv.CreateMailbox("Work"); err != nil {
		t.Fatal(err)
	}
	seed(t, srv, "Work", 2)
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 1 })
	ctx := context.Background()
	uv := uidValidity(t, s, "Work")
	listAll(t, s, "Work", uv, 1) // the connection has Work selected
	if err := s.DeleteMailbox(ctx, "Work"); err != nil {
		t.Fatalf("DeleteMailbox of the selected mailbox: %v", err)
	}
	if got := serverMailboxes(t, srv); slices.Contains(got, "Work") {
		t.Errorf("got mailboxes %q, want no Work", got)
	}
	if _, err := s.Status(ctx, "Work"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Status of the deleted mailbox: got %v, want ErrNotFound", err)
	}
	if _, err := s.Status(ctx, "INBOX"); err != nil {
		t.Errorf("Status after the delete: %v", err)
	}
}

func TestRenameMailbox(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	for _, name := range []string{"Archive", "Archive/2024", "Archive/2024/Q1", "Other"} {
		if err := srv.CreateMailbox(name); err != nil {
			t.Fatal(err)
		}
	}
	msgs := seed(t, srv, "Archive/2024", 2)
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 1 })
	ctx := context.Background()
	listAll(t, s, "Archive/2024", uidValidity(t, s, "Archive/2024"), 1) // selected

	if err := s.RenameMailbox(ctx, "Archive", "Old archive 보관함"); err != nil {
		t.Fatalf("RenameMailbox: %v", err)
	}
	want := []string{"INBOX", "Old archive 보관함", "Old archive 보관함/2024", "Old archive 보관함/2024/Q1", "Other"}
	if got := serverMailboxes(t, srv); !slices.Equal(got, want) {
		t.Errorf("got mailboxes %q, want %q", got, want)
	}
	if got := serverUIDs(t, srv, "Old archive 보관함/2024"); len(got) != len(msgs) {
		t.Errorf("messages of the renamed child: got UIDs %v, want %d", got, len(msgs))
	}
	// The store reads the renamed mailbox on its one connection.
	if got := listAll(t, s, "Old archive 보관함/2024", uidValidity(t, s, "Old archive 보관함/2024"), 1); len(got) != len(msgs) {
		t.Errorf("listing of the renamed child: got %d messages, want %d", len(got), len(msgs))
	}

	for _, tc := range []struct {
		from, to string
		want     error
	}{
		{"Archive", "Elsewhere", remote.ErrNotFound},
		{"Other", "Old archive 보관함", remote.ErrExists},
	} {
		if err := s.RenameMailbox(ctx, tc.from, tc.to); !errors.Is(err, tc.want) {
			t.Errorf("RenameMailbox(%q, %q): got %v, want %v", tc.from, tc.to, err, tc.want)
		}
	}
	if got := serverMailboxes(t, srv); !slices.Equal(got, want) {
		t.Errorf("after the failed renames: got mailboxes %q, want %q", got, want)
	}
}

// TestFolderCommands: DELETE and RENAME on a connection with a mailbox
// selected send UNSELECT first, pipelined; CREATE does not.
func TestFolderCommands(t *testing.T) {
	f := scriptedServer(t, "IMAP4rev1 UNSELECT", nil)
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
	ctx := context.Background()
	if err := s.CreateMailbox(ctx, "Work"); err != nil {
		t.Fatal(err)
	}
	listAll(t, s, "INBOX", 42, 1) // EXAMINE INBOX
	if err := s.DeleteMailbox(ctx, "Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, "A", "B"); err != nil {
		t.Fatal(err)
	}
	got := sentCommands(f)
	want := []string{`CREATE "Work"`, "UNSELECT", `DELETE "Work"`, `RENAME "A" "B"`}
	var changes []string
	for _, c := range got {
		if slices.Contains([]string{"CREATE", "DELETE", "RENAME", "UNSELECT", "CLOSE", "EXPUNGE"}, firstWord(c)) {
			changes = append(changes, c)
		}
	}
	if !slices.Equal(changes, want) {
		t.Errorf("got commands %q (all: %q), want %q", changes, got, want)
	}
}

func firstWord(s string) string {
	for i, r := range s {
		if r == ' ' {
			return s[:i]
		}
	}
	return s
}

// TestRenameDropsStaleConnections: after a RENAME (or DELETE) on one
// connection, an idle connection that has the old mailbox, or one under
// it, selected is closed rather than kept: Dovecot disconnects such a
// session at its next command.
func TestRenameDropsStaleConnections(t *testing.T) {
	for _, del := range []bool{false, true} {
		name := "RENAME"
		if del {
			name = "DELETE"
		}
		t.Run(name, func(t *testing.T) {
			srv := remotetest.NewIMAP(t, nil)
			for _, name := range []string{"A", "A/B"} {
				if err := srv.CreateMailbox(name); err != nil {
					t.Fatal(err)
				}
			}
			inbox := seed(t, srv, "INBOX", 1)
			seed(t, srv, "A/B", 1)
			var logs lockedBuffer
			s := testStore(t, srv, func(o *Options) { o.MaxConns = 2; o.Logger = newTestLogger(&logs) })
			ctx := context.Background()
			uvInbox, uvAB := uidValidity(t, s, "INBOX"), uidValidity(t, s, "A/B")
			// Two idle connections: the one released last (taken next) has
			// INBOX selected, the other A/B.
			err := s.Fetch(ctx, "INBOX", uvInbox, []uint32{inbox[0].uid}, func(uint32, io.Reader) error {
				listAll(t, s, "A/B", uvAB, 1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if del {
				err = s.DeleteMailbox(ctx, "A")
			} else {
				err = s.RenameMailbox(ctx, "A", "Z")
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !strings.Contains(logs.String(), "its selected mailbox was deleted or renamed") {
				t.Errorf("the connection with A/B selected was not closed; log:\n%s", logs.String())
			}
			if _, err := s.Status(ctx, "INBOX"); err != nil {
				t.Errorf("Status after %s: %v", name, err)
			}
		})
	}
}

// TestDovecotFolders creates, renames and deletes mailboxes on a real
// Dovecot, among them the mailbox pooled connections have selected, which
// Dovecot answers with BYE unless the connection unselected it first.
func TestDovecotFolders(t *testing.T) {
	d, user, s := dovecotStore(t, "", 1)
	ctx := context.Background()
	for _, name := range []string{"Project X", "보관함", "Grüße & Co", "A/B/C"} {
		if err := s.CreateMailbox(ctx, name); err != nil {
			t.Fatalf("CreateMailbox(%q): %v", name, err)
		}
	}
	if err := s.CreateMailbox(ctx, "보관함"); !errors.Is(err, remote.ErrExists) {
		t.Errorf("CreateMailbox of an existing mailbox: got %v, want ErrExists", err)
	}
	d.Deliver(t, user, "A/B/C", testMessage(7, "deep"))
	got := d.Mailboxes(t, user)
	for _, want := range []string{"Project X", "보관함", "Grüße & Co", "A/B/C"} {
		if !slices.Contains(got, want) {
			t.Errorf("mailboxes %q lack %q", got, want)
		}
	}

	// One idle connection has A/B/C selected, the other INBOX.
	uvInbox, uvC := uidValidity(t, s, "INBOX"), uidValidity(t, s, "A/B/C")
	err := s.Fetch(ctx, "INBOX", uvInbox, []uint32{1}, func(uint32, io.Reader) error {
		listAll(t, s, "A/B/C", uvC, 1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, "A", "Z 보관"); err != nil {
		t.Fatalf("RenameMailbox: %v", err)
	}
	if got := d.Mailboxes(t, user); !slices.Contains(got, "Z 보관/B/C") || slices.Contains(got, "A/B/C") {
		t.Errorf("after RENAME: got mailboxes %q, want Z 보관/B/C and no A/B/C", got)
	}
	if n := len(listAll(t, s, "Z 보관/B/C", uidValidity(t, s, "Z 보관/B/C"), 1)); n != 1 {
		t.Errorf("listing of the renamed mailbox: got %d messages, want 1", n)
	}
	// The listing left Z 보관/B/C selected: delete it.
	if err := s.DeleteMailbox(ctx, "Z 보관/B/C"); err != nil {
		t.Fatalf("DeleteMailbox of the selected mailbox: %v", err)
	}
	if got := d.Mailboxes(t, user); slices.Contains(got, "Z 보관/B/C") {
		t.Errorf("after DELETE: got mailboxes %q", got)
	}
	if err := s.DeleteMailbox(ctx, "Nope"); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("DeleteMailbox of a missing mailbox: got %v, want ErrNotFound", err)
	}
	if err := s.RenameMailbox(ctx, "Project X", "보관함"); !errors.Is(err, remote.ErrExists) {
		t.Errorf("RenameMailbox onto an existing mailbox: got %v, want ErrExists", err)
	}
	for range 3 {
		if _, err := s.Status(ctx, "INBOX"); err != nil {
			t.Errorf("Status after the changes: %v", err)
		}
		listAll(t, s, "INBOX", uvInbox, 1)
	}
}
