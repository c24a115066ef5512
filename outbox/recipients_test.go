package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/outbox"
	"mailfs/remote"
	"mailfs/remote/remotetest"
	"mailfs/remote/smtp"
)

// remote/smtp's Sender reports its transactions to the outbox.
var _ outbox.ProgressSender = (*smtp.Sender)(nil)

// recipientsOf returns n addresses prefix01@example.org, prefix02@…
func recipientsOf(prefix string, n int) []string {
	var a []string
	for i := 1; i <= n; i++ {
		a = append(a, fmt.Sprintf("%s%02d@example.org", prefix, i))
	}
	return a
}

// runOutbox opens an outbox in dir whose one account "acct" (default,
// bob@example.com) sends to host:port, and runs it until the test ends.
// A temporary failure is retried after 20 ms.
func runOutbox(t *testing.T, dir, host string, port int) *outbox.Outbox {
	t.Helper()
	sender := smtp.New(&smtp.Options{Server: remote.Server{Account: "acct", Host: host, Port: port, TLS: remote.TLSNone, CommandTimeout: 30 * time.Second}})
	o, err := outbox.Open(&outbox.Options{
		Dir:        dir,
		MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 20 * time.Millisecond,
		Accounts: []outbox.Account{{
			Name: "acct", Addresses: []string{"bob@example.com"}, Default: true, Sender: sender,
		}},
	})
	if err != nil {
		t.Fatalf("open outbox: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- o.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-ran
		sender.Close()
		o.Close()
	})
	return o
}

// commit queues a message to the recipients to under name.
func commit(t *testing.T, o *outbox.Outbox, name string, to []string) {
	t.Helper()
	msg := "From: Bob <bob@example.com>\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: " + name + "\r\n\r\nHello everyone.\r\n"
	d, err := o.Create(name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := d.WriteAt([]byte(msg), 0); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if err := d.Commit(); err != nil {
		t.Fatalf("commit %s: %v", name, err)
	}
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestUnknownRecipientsFailOncePostfix: a message to 25 unknown recipients
// through a real Postfix, which answers the first 20 RCPT with 550 and
// the 21st with 421 (smtpd_hard_error_limit) and hangs up, ends in
// failed/ after exactly one attempt, its error listing the refused
// recipients on one line. Before, the 421 made it temporary: retried
// forever (here every 20 ms: attempts would keep growing in queued).
func TestUnknownRecipientsFailOncePostfix(t *testing.T) {
	p := interop.StartPostfix(t, nil)
	o := runOutbox(t, t.TempDir(), p.Host, p.Port)
	to := recipientsOf("ghost", 25)
	commit(t, o, "many.eml", to)
	waitUntil(t, "many.eml is in failed/", func() bool { return len(o.Failed()) == 1 })
	time.Sleep(100 * time.Millisecond) // a retry would have come by now
	if q := o.Queued(); len(q) != 0 {
		t.Errorf("got %d queued, want 0", len(q))
	}
	e := o.Failed()[0]
	if e.Attempts != 1 {
		t.Errorf("got %d attempts, want 1", e.Attempts)
	}
	var listed []string
	for _, a := range to[:20] {
		listed = append(listed, "<"+a+">")
	}
	want := "rejected: 20 of 25 recipients refused, nothing sent: " + strings.Join(listed, ", ") +
		": 550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table; " +
		"5 more not tried: RCPT TO:<ghost21@example.org>: server said: 421 4.7.0 mx.mailfs.test Error: too many errors ("
	if !strings.HasPrefix(e.Error, want) || strings.ContainsAny(e.Error, "\r\n") {
		t.Errorf("got error\n%q\nwant one line starting\n%q\npostfix log:\n%s", e.Error, want, p.LogTail(30))
	}
	if text, err := o.FailedError("many.eml"); err != nil || text != e.Error+"\n" {
		t.Errorf("FailedError: got %q, %v", text, err)
	}
}

// TestRecipientLimitPostfix: a message to 12 recipients through a real
// Postfix taking 5 per transaction (smtpd_recipient_limit = 5, 452 beyond)
// reaches all 12, in one attempt, each recipient once. Before, the 452 was
// a temporary failure of the whole message, retried forever.
func TestRecipientLimitPostfix(t *testing.T) {
	to := recipientsOf("u", 12)
	users := map[string]string{}
	mailboxes := map[string]string{}
	for _, a := range to {
		u, _, _ := strings.Cut(a, "@")
		users[u] = "secret"
		mailboxes[a] = u
	}
	d := interop.StartDovecot(t, &interop.DovecotOptions{Users: users})
	p := interop.StartPostfix(t, &interop.PostfixOptions{Dovecot: d, Users: mailboxes, RecipientLimit: 5})
	o := runOutbox(t, t.TempDir(), p.Host, p.Port)
	commit(t, o, "all.eml", to)
	waitUntil(t, "the outbox is empty", func() bool { return len(o.Queued()) == 0 })
	if f := o.Failed(); len(f) != 0 {
		t.Fatalf("got failed %s: %s, want none\npostfix log:\n%s", f[0].Name, f[0].Error, p.LogTail(30))
	}
	for _, a := range to {
		u, _, _ := strings.Cut(a, "@")
		msgs := p.WaitDelivered(t, u, "INBOX", 1, 30*time.Second)
		for _, m := range msgs {
			if !strings.Contains(string(m), "Subject: all.eml") {
				t.Errorf("%s got %q, want all.eml", u, m)
			}
		}
	}
	// qmgr logs each message it takes with its number of recipients.
	log := p.LogTail(1000)
	if n5, n2 := strings.Count(log, "nrcpt=5 "), strings.Count(log, "nrcpt=2 "); n5 != 2 || n2 != 1 {
		t.Errorf("postfix queued %d messages with 5 recipients and %d with 2, want 2 and 1 (three transactions)\n%s", n5, n2, log)
	}
}

// TestSplitSendProgressIsDurable: a server taking 2 recipients per
// transaction delivers the first transaction, then defers a recipient of
// the second. The recipients reached are recorded in the spool: the
// message's LastError says so, they survive a restart of the outbox, and
// the next attempt (here through another server, after the restart) goes
// only to the three that do not have the message.
func TestSplitSendProgressIsDurable(t *testing.T) {
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{MaxRecipients: 2})
	to := recipientsOf("r", 5)
	srv.RefuseRecipient(to[3], 450, [3]int{4, 2, 0}, "Mailbox busy")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	sender := smtp.New(&smtp.Options{Server: remote.Server{Account: "acct", Host: srv.Host(), Port: srv.Port(), TLS: remote.TLSNone}})
	o, err := outbox.Open(&outbox.Options{
		Dir: dir, MinBackoff: time.Hour,
		Accounts: []outbox.Account{{Name: "acct", Addresses: []string{"bob@example.com"}, Default: true, Sender: sender}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- o.Run(ctx) }()
	commit(t, o, "split.eml", to)
	waitUntil(t, "the first attempt failed", func() bool {
		q := o.Queued()
		return len(q) == 1 && q[0].Attempts == 1 && q[0].State == outbox.StateQueued
	})
	e := o.Queued()[0]
	if !slices.Equal(e.Delivered, to[:2]) {
		t.Errorf("got delivered %v, want %v", e.Delivered, to[:2])
	}
	if want := "sent to 2 of 5 recipients; the other 3: RCPT TO:<r04@example.org>: server said: 450 4.2.0 Mailbox busy ("; !strings.HasPrefix(e.LastError, want) {
		t.Errorf("got last error %q, want %q…", e.LastError, want)
	}
	cancel()
	<-ran
	sender.Close()
	o.Close()

	srv2 := remotetest.NewSMTP(t, nil)
	o2 := runOutbox(t, dir, srv2.Host(), srv2.Port())
	waitUntil(t, "the outbox is empty", func() bool { return len(o2.Queued()) == 0 })
	got := srv2.Messages()
	if len(got) != 1 || !slices.Equal(got[0].To, to[2:]) {
		t.Errorf("after the restart: got transactions %+v, want one to %v", got, to[2:])
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("first server: got %d transactions, want 1", n)
	}
}
