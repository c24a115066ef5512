package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// dovecotWritable starts Dovecot with Sent, Trash (\Trash), Drafts and
// Archive folders and opts' separator and capabilities, gives alice's
// INBOX testMail 1, 2 and 3, mounts her account as "dove" (extra:
// [accounts.imap] lines) and returns the mounted account, a View of her
// mail over IMAPS and the UIDs of the three messages.
func dovecotWritable(t *testing.T, opts *interop.DovecotOptions, extra string) (string, *remotetest.View, []uint32) {
	t.Helper()
	o := interop.DovecotOptions{SpecialUse: true}
	if opts != nil {
		o = *opts
		o.SpecialUse = true
	}
	d := interop.StartDovecot(t, &o)
	for i, subject := range []string{"Quarterly report", "Lunch", "Invoice"} {
		d.Deliver(t, "alice", "INBOX", testMail(i+1, subject))
	}
	view := &remotetest.View{Addr: d.IMAPSAddr(), Username: "alice", Password: "secret",
		TLS: &tls.Config{RootCAs: d.CA.Pool}}
	uids := serverUIDs(t, view, "INBOX")
	if len(uids) != 3 {
		t.Fatalf("Dovecot INBOX has UIDs %v, want 3", uids)
	}
	cfg := dovecotConfig(t, d, d.IMAPSPort, "implicit")
	if extra != "" {
		b, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, append(b, extra+"\n"...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)
	return filepath.Join(mnt, "dove"), view, uids
}

// TestDovecotWrites runs every command that changes mail through the mount
// against Dovecot, whose Trash is found by its special-use attribute, and
// checks each effect over an IMAP connection of its own; reading
// everything afterwards changes no flag.
func TestDovecotWrites(t *testing.T) {
	acct, view, uids := dovecotWritable(t, nil, "")
	exerciseWrites(t, acct, view, uids, "Trash")
	before := allFlags(t, view)
	if n := readEverything(t, acct); n < 4 {
		t.Errorf("read %d files, want at least 4", n)
	}
	if after := allFlags(t, view); !equalAllFlags(before, after) {
		t.Errorf("flags changed by reading:\nbefore %v\nafter  %v", before, after)
	}
}

// TestDovecotWritesWithoutMove plays a Dovecot that does not advertise
// MOVE: rm and mv go through UID COPY, \Deleted and UID EXPUNGE, and a
// message another client marked \Deleted survives. Then one that
// advertises neither MOVE nor UIDPLUS: rm and mv fail with ENOTSUP and
// change nothing.
func TestDovecotWritesWithoutMove(t *testing.T) {
	t.Run("UIDPLUS only", func(t *testing.T) {
		acct, view, uids := dovecotWritable(t, &interop.DovecotOptions{
			IMAPCapability: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+ UIDPLUS UNSELECT SPECIAL-USE LIST-EXTENDED",
		}, "")
		if err := view.SetFlags("INBOX", uids[2], []string{`\Deleted`}); err != nil {
			t.Fatal(err)
		}
		inbox := filepath.Join(acct, "INBOX")
		if err := os.Remove(filepath.Join(inbox, fileOf(t, inbox, uids[0]))); err != nil {
			t.Fatalf("rm: %v", err)
		}
		name := fileOf(t, inbox, uids[1])
		if err := os.Rename(filepath.Join(inbox, name), filepath.Join(acct, "Archive", name)); err != nil {
			t.Fatalf("mv: %v", err)
		}
		if got := serverUIDs(t, view, "INBOX"); !slices.Equal(got, uids[2:]) {
			t.Errorf("Dovecot INBOX: got %v, want %v (the other client's \\Deleted message kept)", got, uids[2:])
		}
		for mb, want := range map[string][]byte{"Trash": testMail(1, "Quarterly report"), "Archive": testMail(2, "Lunch")} {
			got := serverUIDs(t, view, mb)
			if len(got) != 1 {
				t.Fatalf("Dovecot %s: UIDs %v, want one", mb, got)
			}
			wantBody(t, view, mb, got[0], want)
		}
	})
	t.Run("neither MOVE nor UIDPLUS", func(t *testing.T) {
		acct, view, uids := dovecotWritable(t, &interop.DovecotOptions{
			IMAPCapability: "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT LITERAL+ UNSELECT SPECIAL-USE LIST-EXTENDED",
		}, "")
		inbox := filepath.Join(acct, "INBOX")
		name := fileOf(t, inbox, uids[0])
		wantErrno(t, "rm", os.Remove(filepath.Join(inbox, name)), syscall.ENOTSUP)
		wantErrno(t, "mv", os.Rename(filepath.Join(inbox, name), filepath.Join(acct, "Archive", name)), syscall.ENOTSUP)
		if got := serverUIDs(t, view, "INBOX"); !slices.Equal(got, uids) {
			t.Errorf("Dovecot INBOX: got %v, want %v unchanged", got, uids)
		}
		if got := serverUIDs(t, view, "Trash"); len(got) != 0 {
			t.Errorf("Dovecot Trash: %v, want empty", got)
		}
	})
}

// TestDovecotDotSeparator: with "." as the hierarchy separator a folder
// name holding a dot is refused (EINVAL), nested folders still work, and
// mv DIR renames the children with it.
func TestDovecotDotSeparator(t *testing.T) {
	acct, view, _ := dovecotWritable(t, &interop.DovecotOptions{Separator: "."}, "")
	wantErrno(t, "mkdir a.b", os.Mkdir(filepath.Join(acct, "a.b"), 0o755), syscall.EINVAL)
	for _, d := range []string{"Projects", "Projects/2026", "Projects/2026/Q1 Plans"} {
		if err := os.Mkdir(filepath.Join(acct, d), 0o755); err != nil {
			t.Fatalf("mkdir %s: %v", d, err)
		}
	}
	if err := os.Rename(filepath.Join(acct, "Projects"), filepath.Join(acct, "Done 프로젝트")); err != nil {
		t.Fatalf("mv DIR: %v", err)
	}
	mbs, err := view.Mailboxes()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Done 프로젝트", "Done 프로젝트.2026", "Done 프로젝트.2026.Q1 Plans"} {
		if !slices.Contains(mbs, want) {
			t.Errorf("Dovecot mailboxes %q lack %q", mbs, want)
		}
	}
	if names := dirNames(t, filepath.Join(acct, "Done 프로젝트", "2026")); !slices.Equal(names, []string{"Q1 Plans"}) {
		t.Errorf("ls Done 프로젝트/2026: got %v, want [Q1 Plans]", names)
	}
}
