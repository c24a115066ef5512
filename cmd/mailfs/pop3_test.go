package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/remote/remotetest"
)

// pop3Config is the config of one POP3 account.
func pop3Config(t *testing.T, port int, tls, caFile, user, pass string, leave bool) string {
	return writeConfig(t, `
[cache]
dir = %q
[[accounts]]
name = "pop"
  [accounts.pop3]
  host = "127.0.0.1"
  port = %d
  tls = %q
  tls_ca_file = %q
  username = %q
  password = %q
  leave_on_server = %v
`, t.TempDir(), port, tls, caFile, user, pass, leave)
}

// listEML returns the .eml names in dir, sorted.
func listEML(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ls %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// readAll returns the contents of every .eml file in dir.
func readAll(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range listEML(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatalf("read %s: %v", n, err)
		}
		out = append(out, data)
	}
	return out
}

func sameMessages(got [][]byte, want [][]byte) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(want))
	for _, g := range got {
		found := false
		for i, w := range want {
			if !used[i] && bytes.Equal(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestPOP3ThroughMount downloads a POP3 maildrop into the store through
// `mailfs mount`, with DELE after storing, then restarts from the store,
// and changes mail with rm, mkdir, mv and setfattr.
func TestPOP3ThroughMount(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	msgs := [][]byte{
		[]byte("From: a@example.org\r\nSubject: first\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\r\nhello\r\n.\r\n..dots\r\n"),
		[]byte("From: b@example.org\r\nSubject: =?UTF-8?B?7JWI64WV?=\r\n\r\nsecond\r\n"),
		[]byte("no header separator and a bare\nLF"),
	}
	for _, m := range msgs {
		srv.Add(m)
	}
	cfg := pop3Config(t, srv.Port(), "none", "", srv.Username, srv.Password, false)
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	var retrs int
	t.Run("online", func(t *testing.T) { pop3Online(t, srv, cfg, msgs, &retrs) })
	if t.Failed() {
		return
	}

	// Restart from the store with the server gone: everything is there,
	// nothing is downloaded again.
	srv.SetDown(true)
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)
	inbox := filepath.Join(mnt, "pop", "INBOX")
	if got := listEML(t, inbox); len(got) != 1 {
		t.Errorf("INBOX after restart: %v, want the one message left", got)
	}
	if got := listEML(t, filepath.Join(mnt, "pop", "Archive")); len(got) != 1 {
		t.Errorf("Archive after restart: %v, want one message", got)
	}
	if srv.Retrs() != retrs {
		t.Errorf("RETR count went from %d to %d: a stored message was downloaded again", retrs, srv.Retrs())
	}
}

// pop3Online is the first mount of TestPOP3ThroughMount: download, then
// local changes.
func pop3Online(t *testing.T, srv *remotetest.POP3, cfg string, msgs [][]byte, retrs *int) {
	mnt := t.TempDir()
	runMount(t, "mount", "-config", cfg, mnt)
	inbox := filepath.Join(mnt, "pop", "INBOX")
	eventually(t, 20*time.Second, "INBOX never listed the three messages", func() bool { return len(listEML(t, inbox)) == 3 })
	if got := readAll(t, inbox); !sameMessages(got, msgs) {
		t.Errorf("stored messages differ from the server's:\ngot  %q\nwant %q", got, msgs)
	}
	names := listEML(t, inbox)
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "2026-11-24_1000_first_") }) {
		t.Errorf("names %v: want one named from its Date: and subject, 2026-11-24_1000_first_N.eml", names)
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "_안녕_") }) {
		t.Errorf("names %v: want the decoded subject 안녕 in one", names)
	}
	eventually(t, 20*time.Second, "leave_on_server = false: the server still holds messages", func() bool { return len(srv.Messages()) == 0 })
	*retrs = srv.Retrs()

	// Local changes.
	archive := filepath.Join(mnt, "pop", "Archive")
	if err := os.Mkdir(archive, 0o700); err != nil {
		t.Fatalf("mkdir Archive: %v", err)
	}
	if out, err := exec.Command("mv", filepath.Join(inbox, names[0]), archive+"/").CombinedOutput(); err != nil {
		t.Fatalf("mv to Archive: %v: %s", err, out)
	}
	if got := listEML(t, archive); len(got) != 1 {
		t.Errorf("Archive lists %v after mv, want one message", got)
	}
	if err := os.Remove(archive); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a non-empty folder: %v, want ENOTEMPTY", err)
	}
	flagged := filepath.Join(inbox, listEML(t, inbox)[0])
	if out, err := exec.Command("setfattr", "-n", "user.mail.flags", "-v", `\Seen \Flagged`, flagged).CombinedOutput(); err != nil {
		t.Fatalf("setfattr: %v: %s", err, out)
	}
	if out, err := exec.Command("getfattr", "--only-values", "-n", "user.mail.flags", flagged).CombinedOutput(); err != nil || !strings.Contains(string(out), `\Flagged`) {
		t.Errorf("getfattr user.mail.flags: %q, %v; want \\Flagged", out, err)
	}
	removed := listEML(t, inbox)[1]
	if err := os.Remove(filepath.Join(inbox, removed)); err != nil {
		t.Fatalf("rm: %v", err)
	}
	if slices.Contains(listEML(t, inbox), removed) {
		t.Errorf("rm'd message %s still listed", removed)
	}

}

// TestPOP3LeaveOnServerRm checks that with leave_on_server = true messages
// stay on the server, and an rm deletes one there at the next session.
func TestPOP3LeaveOnServerRm(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	for i := range 3 {
		srv.Add(fmt.Appendf(nil, "Subject: keep %d\r\n\r\nbody %d\r\n", i, i))
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	mnt := t.TempDir()
	runMount(t, "mount", "-config", pop3Config(t, srv.Port(), "none", "", srv.Username, srv.Password, true), mnt)
	inbox := filepath.Join(mnt, "pop", "INBOX")
	eventually(t, 20*time.Second, "INBOX never listed the three messages", func() bool { return len(listEML(t, inbox)) == 3 })
	if n := len(srv.Messages()); n != 3 {
		t.Fatalf("server holds %d messages, want all 3 kept", n)
	}
	victim := listEML(t, inbox)[0]
	if err := os.Remove(filepath.Join(inbox, victim)); err != nil {
		t.Fatal(err)
	}
	// A new message makes the next listing poll; that session sends DELE.
	srv.Add([]byte("Subject: new\r\n\r\nnew\r\n"))
	eventually(t, 30*time.Second, "the rm'd message was never deleted on the server", func() bool {
		listEML(t, inbox) // a listing polls when the last poll is stale
		return len(srv.Messages()) == 3 && !slices.ContainsFunc(mapValues(srv.Messages()), func(b []byte) bool { return bytes.Contains(b, []byte("keep 0")) })
	})
	if got := len(listEML(t, inbox)); got != 3 {
		t.Errorf("INBOX lists %d messages, want 3 (2 kept + 1 new)", got)
	}
}

func mapValues(m map[string][]byte) [][]byte {
	var out [][]byte
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestDovecotPOP3Mount downloads from a real Dovecot pop3d over STLS and
// implicit TLS with its private CA and compares the bytes with Dovecot's.
func TestDovecotPOP3Mount(t *testing.T) {
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) {
			d := interop.StartDovecot(t, nil)
			for i := range 3 {
				d.Deliver(t, "alice", "INBOX", fmt.Appendf(nil, "From: bob@example.org\r\nSubject: pop %s %d\r\n\r\n.leading dot\r\nline %d\r\n", mode, i, i))
			}
			want := mapValuesU(d.Messages(t, "alice", "INBOX"))
			port := d.POP3Port
			if mode == "implicit" {
				port = d.POP3SPort
			}
			t.Setenv("XDG_DATA_HOME", t.TempDir())
			mnt := t.TempDir()
			runMount(t, "mount", "-config", pop3Config(t, port, mode, d.CAFile, "alice", "secret", true), mnt)
			inbox := filepath.Join(mnt, "pop", "INBOX")
			eventually(t, 20*time.Second, "INBOX never listed Dovecot's messages", func() bool { return len(listEML(t, inbox)) == len(want) })
			if got := readAll(t, inbox); !sameMessages(got, want) {
				t.Errorf("stored messages differ from Dovecot's:\ngot  %q\nwant %q", got, want)
			}
		})
	}
}

func mapValuesU(m map[uint32][]byte) [][]byte {
	var out [][]byte
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
