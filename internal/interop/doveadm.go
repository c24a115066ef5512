package interop

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// doveadm runs doveadm against this instance with stdin as its input and
// returns its standard output. The error holds the command, its exit status
// and what it wrote to standard error.
func (d *Dovecot) doveadm(stdin []byte, args ...string) ([]byte, error) {
	full := append([]string{"-c", d.conf}, args...)
	cmd := exec.Command(doveadmBin, full...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("doveadm %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Deliver stores msg in mailbox of user as the server's own delivery would
// (doveadm save), creating the mailbox first when it does not exist.
func (d *Dovecot) Deliver(t testing.TB, user, mailbox string, msg []byte) {
	t.Helper()
	if !d.mailboxExists(t, user, mailbox) {
		d.CreateMailbox(t, user, mailbox)
	}
	if _, err := d.doveadm(msg, "save", "-u", user, "-m", mailbox); err != nil {
		t.Fatalf("dovecot: deliver to %s/%s: %v\nlog:\n%s", user, mailbox, err, d.LogTail(10))
	}
}

// Kick disconnects every IMAP and POP3 session of user from the server
// side (doveadm kick), as a server restart or an administrator would.
func (d *Dovecot) Kick(t testing.TB, user string) {
	t.Helper()
	if _, err := d.doveadm(nil, "kick", user); err != nil {
		t.Fatalf("dovecot: kick %s: %v\nlog:\n%s", user, err, d.LogTail(10))
	}
}

// CreateMailbox creates mailbox name (UTF-8, hierarchy levels separated by
// the namespace separator) for user, with its parents.
func (d *Dovecot) CreateMailbox(t testing.TB, user, name string) {
	t.Helper()
	if _, err := d.doveadm(nil, "mailbox", "create", "-u", user, name); err != nil {
		t.Fatalf("dovecot: create mailbox %s/%s: %v\nlog:\n%s", user, name, err, d.LogTail(10))
	}
}

// Mailboxes lists the mailboxes of user in UTF-8.
func (d *Dovecot) Mailboxes(t testing.TB, user string) []string {
	t.Helper()
	names, err := d.mailboxes(user)
	if err != nil {
		t.Fatalf("dovecot: list mailboxes of %s: %v", user, err)
	}
	return names
}

func (d *Dovecot) mailboxExists(t testing.TB, user, name string) bool {
	t.Helper()
	return slices.Contains(d.Mailboxes(t, user), name)
}

// uids returns the UIDs in mailbox of user, in order.
func (d *Dovecot) uids(t testing.TB, user, mailbox string) []uint32 {
	t.Helper()
	rows := d.fetchTab(t, user, mailbox, "uid")
	out := make([]uint32, 0, len(rows))
	for _, r := range rows {
		uid, err := strconv.ParseUint(r[0], 10, 32)
		if err != nil {
			t.Fatalf("dovecot: fetch uid in %s/%s: bad uid %q", user, mailbox, r[0])
		}
		out = append(out, uint32(uid))
	}
	return out
}

// fetchTab runs `doveadm -f tab fetch FIELDS mailbox MAILBOX all` and
// returns the rows without the header, each split into len(fields) columns.
// Only single-line fields can be read this way. A missing mailbox fails the
// test: doveadm would quietly report no messages.
func (d *Dovecot) fetchTab(t testing.TB, user, mailbox string, fields ...string) [][]string {
	t.Helper()
	if mailboxes := d.Mailboxes(t, user); !slices.Contains(mailboxes, mailbox) {
		t.Fatalf("dovecot: fetch from %s/%s: no such mailbox (have %q)", user, mailbox, mailboxes)
	}
	out, err := d.doveadm(nil, "-f", "tab", "fetch", "-u", user, strings.Join(fields, " "), "mailbox", mailbox, "all")
	if err != nil {
		t.Fatalf("dovecot: fetch %s in %s/%s: %v", strings.Join(fields, " "), user, mailbox, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil // no messages (doveadm usually prints the header still)
	}
	if got, want := lines[0], strings.Join(fields, "\t"); got != want {
		t.Fatalf("dovecot: fetch %s in %s/%s: got header %q, want %q", strings.Join(fields, " "), user, mailbox, got, want)
	}
	var rows [][]string
	for _, line := range lines[1:] {
		cols := strings.SplitN(line, "\t", len(fields))
		if len(cols) != len(fields) {
			t.Fatalf("dovecot: fetch %s in %s/%s: got row %q, want %d columns", strings.Join(fields, " "), user, mailbox, line, len(fields))
		}
		rows = append(rows, cols)
	}
	return rows
}

// Flags returns the flags of every message in mailbox of user by UID, read
// by doveadm on the server side (not through IMAP), so nothing changes and
// the code under test is not involved. \Recent, which depends on sessions
// rather than on what a client stored, is left out; a message without flags
// has an empty, non-nil slice.
func (d *Dovecot) Flags(t testing.TB, user, mailbox string) map[uint32][]string {
	t.Helper()
	out := map[uint32][]string{}
	for _, r := range d.fetchTab(t, user, mailbox, "uid", "flags") {
		uid, err := strconv.ParseUint(r[0], 10, 32)
		if err != nil {
			t.Fatalf("dovecot: fetch flags in %s/%s: bad uid %q", user, mailbox, r[0])
		}
		flags := []string{}
		for _, f := range strings.Fields(r[1]) {
			if f != `\Recent` {
				flags = append(flags, f)
			}
		}
		out[uint32(uid)] = flags
	}
	return out
}

// Messages returns the full text (header and body) of every message in
// mailbox of user by UID, read by doveadm on the server side. Lines end in
// CRLF, as IMAP serves them: Dovecot's Maildir stores them with bare LF.
func (d *Dovecot) Messages(t testing.TB, user, mailbox string) map[uint32][]byte {
	t.Helper()
	out := map[uint32][]byte{}
	for _, uid := range d.uids(t, user, mailbox) {
		// One message per call: the pager format separates records with a
		// form feed, which a message may contain itself.
		text, err := d.doveadm(nil, "-f", "pager", "fetch", "-u", user, "text", "mailbox", mailbox, "uid", strconv.FormatUint(uint64(uid), 10))
		if err != nil {
			t.Fatalf("dovecot: fetch text of %s/%s/%d: %v", user, mailbox, uid, err)
		}
		// The pager format prints "text:\n" and then the stored message
		// as it is; a form feed would only separate further records.
		const head = "text:\n"
		if !bytes.HasPrefix(text, []byte(head)) {
			t.Fatalf("dovecot: fetch text of %s/%s/%d: got %q, want it to start with %q", user, mailbox, uid, clip(text, 200), head)
		}
		out[uid] = crlf(text[len(head):])
	}
	return out
}

// crlf turns every bare LF into CRLF.
func crlf(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
