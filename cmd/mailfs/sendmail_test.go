package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"mailfs/internal/interop"
)

// TestSendmailExtract pipes a message to `mailfs sendmail -t`: it is
// queued at once and the SMTP server gets it with Bcc stripped and its
// address in the envelope.
func TestSendmailExtract(t *testing.T) {
	e := newSendEnv(t, nil)
	startDaemon(t, e.config)
	msg := "From: me@example.org\nTo: bob@example.org\nBcc: carol@example.org\nSubject: piped\n\nhello from a script\n"
	if code, stderr := sendmail(t, msg, "-t", "-i"); code != 0 || stderr != "" {
		t.Fatalf("got exit %d, stderr %q, want 0 and nothing", code, stderr)
	}
	eventually(t, 10*time.Second, "the message never reached the SMTP server", func() bool { return len(e.smtp.Messages()) == 1 })
	got := e.smtp.Messages()[0]
	if !slices.Equal(got.To, []string{"bob@example.org", "carol@example.org"}) || got.From != "me@example.org" {
		t.Errorf("got envelope %s -> %v, want me@example.org -> bob, carol", got.From, got.To)
	}
	if strings.Contains(string(got.Data), "Bcc") || !strings.Contains(string(got.Data), "hello from a script") {
		t.Errorf("got message\n%s\nwant the body without Bcc", got.Data)
	}
}

// TestSendmailRecipients is mutt's way: the envelope recipients are the
// arguments (mutt passes Bcc there and strips the field), -oi and -f.
func TestSendmailRecipients(t *testing.T) {
	e := newSendEnv(t, nil)
	startDaemon(t, e.config)
	msg := "From: me@example.org\nTo: bob@example.org\nSubject: mutt\n\nhi\n"
	if code, stderr := sendmail(t, msg, "-oi", "-f", "me@example.org", "--", "bob@example.org", "dave@example.org"); code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	eventually(t, 10*time.Second, "the message never reached the SMTP server", func() bool { return len(e.smtp.Messages()) == 1 })
	if got := e.smtp.Messages()[0].To; !slices.Equal(got, []string{"bob@example.org", "dave@example.org"}) {
		t.Errorf("got recipients %v, want bob and dave", got)
	}
}

// TestSendmailErrors checks the exit codes: 65 with the outbox's reason for
// an invalid message, 64 for a usage mistake.
func TestSendmailErrors(t *testing.T) {
	e := newSendEnv(t, nil)
	d := startDaemon(t, e.config)
	tests := []struct {
		name, msg string
		args      []string
		code      int
		reason    string
	}{
		{"no recipients", "From: me@example.org\nSubject: x\n\nhi\n", []string{"-t"}, 65, "invalid message: no recipients (To, Cc or Bcc)"},
		{"not a message", "hello\n", []string{"-t"}, 65, "is not a header field"},
		{"unknown From", "From: eve@example.net\nTo: bob@example.org\n\nhi\n", []string{"-t"}, 65, "not an address of any account"},
		{"unknown -f", "To: bob@example.org\n\nhi\n", []string{"-t", "-feve@example.net"}, 65, "envelope sender (-f) eve@example.net"},
		{"no recipient arguments", "To: bob@example.org\n\nhi\n", nil, 64, "no recipients"},
		{"unknown option", "To: bob@example.org\n\nhi\n", []string{"-X", "bob@example.org"}, 64, "unknown option -X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stderr := sendmail(t, tt.msg, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.reason) {
				t.Errorf("got exit %d, stderr %q, want %d and %q", code, stderr, tt.code, tt.reason)
			}
			if tt.code == 65 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("got a reason of several lines: %q", stderr)
			}
		})
	}
	if q, f := d.st.outbox.Queued(), d.st.outbox.Failed(); len(q)+len(f) != 0 {
		t.Errorf("got queued %v, failed %v, want nothing kept of refused messages", q, f)
	}
}

// TestSendmailNoDaemon checks EX_TEMPFAIL when no mailfs runs.
func TestSendmailNoDaemon(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("MAILFS_MOUNTPOINT", "")
	code, stderr := sendmail(t, "To: bob@example.org\n\nhi\n", "-t")
	if code != 75 || !strings.Contains(stderr, "no mailfs is running: start `mailfs mount` first") {
		t.Errorf("got exit %d, stderr %q, want 75 and \"no mailfs is running: start `mailfs mount` first\"", code, stderr)
	}
}

// TestPostfixSendmail pipes a message to `mailfs sendmail -t` for an
// account that sends through a real Postfix (STARTTLS, AUTH) delivering to
// Dovecot: both the To and the Bcc recipient get it, without the Bcc
// field.
func TestPostfixSendmail(t *testing.T) {
	d := interop.StartDovecot(t, &interop.DovecotOptions{Users: map[string]string{"alice": "secret", "bob": "secret"}})
	p := interop.StartPostfix(t, &interop.PostfixOptions{
		Dovecot: d, AuthUsers: map[string]string{"alice": "secret"}, TLS: true,
		Users: map[string]string{"alice@example.org": "alice", "bob@example.org": "bob"},
	})
	cfg := postfixConfig(t, d, p)
	startDaemon(t, cfg)
	msg := "From: alice@example.org\nTo: alice@example.org\nBcc: bob@example.org\nSubject: sendmail through Postfix\n\nhello via sendmail -t\n"
	if code, stderr := sendmail(t, msg, "-t", "-oi"); code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	for _, user := range []string{"alice", "bob"} {
		var got []byte
		eventually(t, 60*time.Second, user+" never got the message; postfix log:\n"+p.LogTail(20), func() bool {
			for _, m := range d.Messages(t, user, "INBOX") {
				if bytes.Contains(m, []byte("Subject: sendmail through Postfix")) {
					got = m
					return true
				}
			}
			return false
		})
		if bytes.Contains(got, []byte("Bcc:")) || !bytes.Contains(got, []byte("hello via sendmail -t")) {
			t.Errorf("got for %s\n%s\nwant the body and no Bcc:", user, got)
		}
	}
}
