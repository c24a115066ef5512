package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"mailfs/internal/interop"
)

// TestDovecotOddFolderNames lists and reads, through a mount, Dovecot
// folders whose names hold a tab, a newline, ESC and DEL (Maildir folders
// made on disk: Dovecot refuses control characters in new names but lists
// such folders, as "tab&AAk-here"), and one spelled with the look-alike
// "␉" beside the one with the tab: ls shows the look-alikes, and cat of a
// message in each returns the bytes stored there, so every command reached
// the folder by its exact name. A folder whose name on disk is not UTF-8 is
// left out of Dovecot's LIST and breaks nothing.
func TestDovecotOddFolderNames(t *testing.T) {
	d := interop.StartDovecot(t, nil)
	d.Deliver(t, "alice", "INBOX", []byte("Subject: hi\r\n\r\nhello\r\n")) // creates the Maildir
	d.CreateMailbox(t, "alice", "a\u2409b")                                // Maildir .a&JAk-b
	root := filepath.Join(d.Dir, "mail", "alice")
	st, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	owner := st.Sys().(*syscall.Stat_t)

	// Maildir++ folders as another program or an older server would leave
	// them: ".NAME" with cur/, new/ and tmp/, NAME in modified UTF-7 as
	// Dovecot stores it (a raw tab on disk is listed as "a&AAk-b" but
	// cannot be opened: Dovecot looks for ".a&AAk-b").
	folders := []struct{ server, disk, shown string }{
		{"tab\there", "tab&AAk-here", "tab\u2409here"},
		{"new\nline", "new&AAo-line", "new\u240Aline"},
		{"esc\x1b[1mdel\x7f", "esc&ABs-[1mdel&AH8-", "esc\u241B[1mdel\u2421"},
		{"a\tb", "a&AAk-b", ""}, // shown with a hash: it collides with "a␉b"
		{"a\u2409b", "a&JAk-b", "a\u2409b"},
	}
	bodies := map[string][]byte{}
	for i, f := range folders {
		dir := filepath.Join(root, "."+f.disk)
		body := []byte(fmt.Sprintf("From: bob@example.org\r\nSubject: folder %d\r\nMessage-ID: <odd-%d@example.org>\r\n\r\nstored in %q\r\n", i, i, f.server))
		bodies[f.server] = body
		writeMaildirMessage(t, dir, fmt.Sprintf("1764540000.M%dP1Q1.mailfs:2,", i), body, owner)
	}
	// Not UTF-8 on disk: Dovecot leaves it out of LIST, or, once a session
	// has rebuilt its mailbox list index (the IDLE connection's may come
	// first), lists it with the byte it cannot encode replaced: shown with
	// U+FFFD, if at all.
	writeMaildirMessage(t, filepath.Join(root, ".raw\xe9"), "1764540000.M9P1Q1.mailfs:2,", []byte("Subject: raw\r\n\r\nraw\r\n"), owner)

	cfg := dovecotConfig(t, d, d.IMAPPort, "starttls")
	mnt := t.TempDir()
	logs := runMount(t, "mount", "-config", cfg, mnt)

	entries, err := os.ReadDir(filepath.Join(mnt, "dove"))
	if err != nil {
		t.Fatalf("ls dove: %v\nlog:\n%s", err, logs)
	}
	var got []string
	for _, e := range entries {
		if e.Name() != "raw\uFFFD" {
			got = append(got, e.Name())
		}
	}
	// The folder with the tab shows as "a␉b~" and 8 hex digits.
	i := slices.IndexFunc(got, func(n string) bool { return strings.HasPrefix(n, "a\u2409b~") && len(n) == len("a\u2409b~")+8 })
	if i < 0 {
		t.Fatalf("ls dove = %q: no a\u2409b~HASH for the folder a<TAB>b", got)
	}
	folders[3].shown = got[i]
	want := []string{"INBOX"}
	for _, f := range folders {
		want = append(want, f.shown)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ls dove = %q, want %q", got, want)
	}

	for _, f := range folders {
		dir := filepath.Join(mnt, "dove", f.shown)
		files, err := os.ReadDir(dir)
		if err != nil || len(files) != 1 {
			t.Errorf("ls %q (server %q) = %v, %v; want one message", f.shown, f.server, files, err)
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, files[0].Name()))
		if err != nil || !bytes.Equal(body, bodies[f.server]) {
			t.Errorf("cat %q/%s = %q, %v; want %q", f.shown, files[0].Name(), body, err, bodies[f.server])
		}
	}
	// Dovecot's own view of the folder with the tab agrees.
	if msgs := d.Messages(t, "alice", "tab\there"); len(msgs) != 1 {
		t.Errorf("doveadm sees %d messages in tab<TAB>here, want 1", len(msgs))
	} else {
		for _, b := range msgs {
			if !bytes.Equal(b, bodies["tab\there"]) {
				t.Errorf("doveadm: tab<TAB>here holds %q, want %q", b, bodies["tab\there"])
			}
		}
	}
}

// writeMaildirMessage stores body as file name in the cur/ directory of
// the Maildir folder dir (made with new/ and tmp/ when missing), owned like
// the user's Maildir. Dovecot gives it a UID when the folder is next opened.
func writeMaildirMessage(t *testing.T, dir, name string, body []byte, owner *syscall.Stat_t) {
	t.Helper()
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		p := filepath.Join(dir, sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, int(owner.Uid), int(owner.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "cur", name)
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, int(owner.Uid), int(owner.Gid)); err != nil {
		t.Fatal(err)
	}
}
