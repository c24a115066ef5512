package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"mailfs/remote"
	"mailfs/remote/remotetest"
	"mailfs/remote/smtp"
)

const deliveryTimeout = 30 * time.Second

// newSender returns our SMTP sender for p: STARTTLS trusting only p's CA
// (read from CAFile, as tls_ca_file would) when p offers TLS, plain text
// otherwise.
func newSender(t *testing.T, p *Postfix, user, password string) *smtp.Sender {
	t.Helper()
	o := &smtp.Options{Server: remote.Server{Host: p.Host, Port: p.Port, TLS: remote.TLSNone, CommandTimeout: 30 * time.Second, Username: user}}
	if password != "" {
		o.Password = func(context.Context) (string, error) { return password, nil }
	}
	if p.CAFile != "" {
		pem, err := os.ReadFile(p.CAFile)
		if err != nil {
			t.Fatalf("read CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("CA file %s holds no certificate", p.CAFile)
		}
		o.TLS, o.TLSConfig = remote.TLSStartTLS, &tls.Config{RootCAs: pool}
	}
	s := smtp.New(o)
	t.Cleanup(func() { s.Close() })
	return s
}

// send sends msg with s and fails the test on error.
func send(t *testing.T, p *Postfix, s *smtp.Sender, env remote.Envelope, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	if err := s.Send(ctx, env, bytes.NewReader(msg)); err != nil {
		t.Fatalf("send to %v through postfix %s: %v\npostfix log:\n%s", env.To, p.Addr(), err, p.LogTail(20))
	}
}

// msmtp sends msg with the msmtp program, as a user's script would.
func msmtp(t *testing.T, p *Postfix, from string, msg []byte, to ...string) {
	t.Helper()
	bin := RequireMsmtp(t)
	args := []string{"--host=" + p.Host, "--port=" + strconv.Itoa(p.Port), "--from=" + from, "--auth=off"}
	if p.CAFile != "" {
		args = append(args, "--tls=on", "--tls-starttls=on", "--tls-trust-file="+p.CAFile)
	} else {
		args = append(args, "--tls=off")
	}
	cmd := exec.Command(bin, append(append(args, "--"), to...)...)
	cmd.Stdin = bytes.NewReader(msg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msmtp %s: %v\n%s\npostfix log:\n%s", strings.Join(args, " "), err, out, p.LogTail(20))
	}
}

// traceFields are the header fields Postfix and Dovecot's LMTP put in front
// of a delivered message.
var traceFields = []string{"return-path", "delivered-to", "received", "x-original-to"}

// splitTrace splits a delivered message into the trace fields at its top
// and the rest, which should be the message as it was sent.
func splitTrace(msg []byte) (trace []string, rest []byte) {
	rest = msg
	for {
		colon := bytes.IndexByte(rest, ':')
		nl := bytes.IndexByte(rest, '\n')
		if colon <= 0 || nl < colon || !slices.Contains(traceFields, strings.ToLower(string(rest[:colon]))) {
			return trace, rest
		}
		end := nl + 1 // continuation lines start with white space
		for end < len(rest) && (rest[end] == ' ' || rest[end] == '\t') {
			next := bytes.IndexByte(rest[end:], '\n')
			if next < 0 {
				end = len(rest)
				break
			}
			end += next + 1
		}
		trace = append(trace, strings.TrimRight(string(rest[:end]), "\r\n"))
		rest = rest[end:]
	}
}

// checkArrived checks that the delivered message is the sent one byte for
// byte behind the trace fields, and that there is a Received field by
// this Postfix.
func checkArrived(t *testing.T, what string, got, sent []byte) {
	t.Helper()
	trace, rest := splitTrace(got)
	if !bytes.Equal(rest, sent) {
		t.Errorf("%s: delivered message behind its trace fields:\ngot  %q\nwant %q", what, rest, sent)
	}
	if !slices.ContainsFunc(trace, func(f string) bool { return strings.Contains(f, "by mx.mailfs.test (Postfix)") }) {
		t.Errorf("%s: trace fields %q: got no Received by mx.mailfs.test (Postfix), want one", what, trace)
	}
}

// bySubject returns the delivered messages keyed by their Subject.
func bySubject(t *testing.T, msgs map[uint32][]byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for uid, m := range msgs {
		r, err := mail.CreateReader(bytes.NewReader(m))
		if err != nil {
			t.Fatalf("parse delivered message %d: %v", uid, err)
		}
		s, err := r.Header.Subject()
		if err != nil {
			t.Fatalf("subject of delivered message %d: %v", uid, err)
		}
		out[s] = m
	}
	return out
}

func TestPostfixDeliversToDovecot(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(withTLS), func(t *testing.T) {
			d := StartDovecot(t, nil)
			p := StartPostfix(t, &PostfixOptions{Dovecot: d, TLS: withTLS})
			if withTLS && (p.CA == nil || p.CAFile == "") {
				t.Fatalf("TLS instance: got CA %v, CAFile %q, want both set", p.CA, p.CAFile)
			}
			ours := remotetest.SampleMessage(1)
			theirs := testMessage("Sent with msmtp")
			// The header's To: names someone else: the envelope decides.
			send(t, p, newSender(t, p, "", ""), remote.Envelope{From: "bob@example.com", To: []string{"alice@example.org"}}, ours)
			msmtp(t, p, "bob@example.com", theirs, "alice@example.org")

			got := bySubject(t, p.WaitDelivered(t, "alice", "INBOX", 2, deliveryTimeout))
			ourSubject, _, _ := decoded(t, "SampleMessage(1)", ours)
			checkArrived(t, "remote/smtp", got[ourSubject], ours)
			checkArrived(t, "msmtp", got["Sent with msmtp"], theirs)
			if withTLS && !strings.Contains(p.LogTail(100), "Anonymous TLS connection established from") {
				t.Errorf("postfix log: got no TLS connection, want STARTTLS used:\n%s", p.LogTail(30))
			}
		})
	}
}

// utf8Message has 8-bit UTF-8 in its header (Subject, a display name) and
// body, and a line that needs dot-stuffing.
func utf8Message() []byte {
	return []byte("From: Jürgen Weiß <juergen@example.com>\r\n" +
		"To: Alice <alice@example.org>\r\n" +
		"Subject: Grüße aus Köln — 안녕하세요\r\n" +
		"Date: Mon, 02 Nov 2026 09:15:00 +0100\r\n" +
		"Message-ID: <utf8.1@example.com>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" +
		"Grüße aus Köln — 안녕하세요.\r\n" +
		".a line that starts with a dot\r\n" +
		"Ünïcödé at the start of a line, and a long one: " + strings.Repeat("ä", 60) + "\r\n")
}

// decoded returns the Subject, From and text of a single-part message,
// transfer encodings undone.
func decoded(t *testing.T, what string, msg []byte) (subject, from, text string) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("%s: parse: %v", what, err)
	}
	if subject, err = r.Header.Subject(); err != nil {
		t.Fatalf("%s: subject: %v", what, err)
	}
	addrs, err := r.Header.AddressList("From")
	if err != nil || len(addrs) != 1 {
		t.Fatalf("%s: From: got %v (%v), want one address", what, addrs, err)
	}
	part, err := r.NextPart()
	if err != nil {
		t.Fatalf("%s: body: %v", what, err)
	}
	body, err := io.ReadAll(part.Body)
	if err != nil {
		t.Fatalf("%s: read body: %v", what, err)
	}
	return subject, addrs[0].String(), string(body)
}

func TestPostfix8BitMIME(t *testing.T) {
	d := StartDovecot(t, nil)
	for _, no8bit := range []bool{false, true} {
		t.Run("No8BitMIME="+strconv.FormatBool(no8bit), func(t *testing.T) {
			p := StartPostfix(t, &PostfixOptions{Dovecot: d, No8BitMIME: no8bit})
			s := newSender(t, p, "", "")
			ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
			defer cancel()
			ext, err := s.Check(ctx)
			if err != nil {
				t.Fatalf("check %s: %v", p.Addr(), err)
			}
			if got := slices.Contains(ext, "8BITMIME"); got == no8bit {
				t.Fatalf("EHLO keywords %q: got 8BITMIME offered %v, want %v", ext, got, !no8bit)
			}
			before := 0
			if slices.Contains(d.Mailboxes(t, "alice"), "INBOX") {
				before = len(d.uids(t, "alice", "INBOX"))
			}

			msg := utf8Message()
			send(t, p, s, remote.Envelope{From: "juergen@example.com", To: []string{"alice@example.org"}}, msg)
			all := p.WaitDelivered(t, "alice", "INBOX", before+1, deliveryTimeout)
			uids := slices.Sorted(maps.Keys(all))
			got := all[uids[len(uids)-1]]

			if !no8bit {
				checkArrived(t, "8BITMIME", got, msg)
				return
			}
			// The 7-bit path: nothing 8-bit arrives, and a MIME reader
			// gets the same text back.
			_, rest := splitTrace(got)
			if i := bytes.IndexFunc(rest, func(r rune) bool { return r >= 0x80 }); i >= 0 {
				t.Errorf("7-bit delivery: got an 8-bit byte at %d (%q), want none:\n%s", i, clip(rest[i:], 40), rest)
			}
			for _, line := range strings.Split(string(rest), "\r\n") {
				if len(line) > 998 {
					t.Errorf("7-bit delivery: got a line of %d bytes, want at most 998", len(line))
				}
			}
			gs, gf, gt := decoded(t, "delivered", got)
			ws, wf, wt := decoded(t, "sent", msg)
			if gs != ws || gf != wf || gt != wt {
				t.Errorf("7-bit delivery decodes to\nsubject %q\nfrom    %q\ntext    %q\nwant\nsubject %q\nfrom    %q\ntext    %q", gs, gf, gt, ws, wf, wt)
			}
		})
	}
}

// onlyMsg returns the one message of m.
func onlyMsg(t *testing.T, what string, m map[uint32][]byte) []byte {
	t.Helper()
	_, b := only(t, what, m)
	return b
}

func TestPostfixEnvelopeRecipients(t *testing.T) {
	d := StartDovecot(t, &DovecotOptions{Users: map[string]string{"alice": "secret", "bob": "secret"}})
	p := StartPostfix(t, &PostfixOptions{Dovecot: d, Users: map[string]string{
		"alice@example.org":        "alice",
		"robert.jones@example.org": "bob", // local part differs from the user
	}})
	s := newSender(t, p, "", "")

	// Bob is a Bcc recipient: only in the envelope, not in the header.
	msg := testMessage("Envelope only")
	send(t, p, s, remote.Envelope{From: "alice@example.org", To: []string{"alice@example.org", "robert.jones@example.org"}}, msg)
	checkArrived(t, "To recipient", onlyMsg(t, "alice's INBOX", p.WaitDelivered(t, "alice", "INBOX", 1, deliveryTimeout)), msg)
	checkArrived(t, "Bcc recipient", onlyMsg(t, "bob's INBOX", p.WaitDelivered(t, "bob", "INBOX", 1, deliveryTimeout)), msg)

	// An unknown address in the domain is refused for good, and nothing
	// reaches the known one.
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	err := s.Send(ctx, remote.Envelope{From: "alice@example.org", To: []string{"alice@example.org", "nobody@example.org"}}, bytes.NewReader(testMessage("Partly refused")))
	if !errors.Is(err, remote.ErrPermanent) || !strings.Contains(err.Error(), "nobody@example.org") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("send to an unknown user: got %v, want a permanent error naming nobody@example.org with 550", err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := len(d.uids(t, "alice", "INBOX")); got != 1 {
		t.Errorf("alice's INBOX after a refused transaction: got %d messages, want 1", got)
	}
}

func TestPostfixAuthThroughDovecot(t *testing.T) {
	d := StartDovecot(t, nil)
	p := StartPostfix(t, &PostfixOptions{Dovecot: d, TLS: true, AuthUsers: map[string]string{"alice": "secret"}})
	env := remote.Envelope{From: "alice@example.org", To: []string{"alice@example.org"}}
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()

	err := newSender(t, p, "", "").Send(ctx, env, bytes.NewReader(testMessage("No auth")))
	if !errors.Is(err, remote.ErrPermanent) || !strings.Contains(err.Error(), "554") {
		t.Errorf("send without AUTH: got %v, want a permanent 554 refusal", err)
	}
	err = newSender(t, p, "alice", "wrong").Send(ctx, env, bytes.NewReader(testMessage("Wrong password")))
	if !errors.Is(err, remote.ErrAuth) {
		t.Errorf("send with a wrong password: got %v, want remote.ErrAuth\npostfix log:\n%s", err, p.LogTail(10))
	}
	msg := testMessage("Authenticated")
	send(t, p, newSender(t, p, "alice", "secret"), env, msg)
	checkArrived(t, "authenticated", onlyMsg(t, "alice's INBOX", p.WaitDelivered(t, "alice", "INBOX", 1, deliveryTimeout)), msg)
	if log := p.LogTail(100); !strings.Contains(log, "sasl_method=PLAIN, sasl_username=alice") {
		t.Errorf("postfix log: got no SASL login of alice, want one:\n%s", p.LogTail(20))
	}
}

func TestPostfixParallelAndStopped(t *testing.T) {
	d := StartDovecot(t, &DovecotOptions{Users: map[string]string{"alice": "secret", "bob": "secret"}})
	var (
		mu      sync.Mutex // guards masters and dirs
		masters []int
		dirs    []string
	)
	t.Run("group", func(t *testing.T) {
		for i, user := range []string{"alice", "bob"} {
			t.Run(user, func(t *testing.T) {
				t.Parallel()
				addr := user + "@example.net"
				p := StartPostfix(t, &PostfixOptions{Dovecot: d, Domains: []string{"example.net"}, Users: map[string]string{addr: user}})
				mu.Lock()
				masters = append(masters, p.MasterPID())
				dirs = append(dirs, p.Dir)
				mu.Unlock()
				msg := testMessage(fmt.Sprintf("Instance %d", i))
				send(t, p, newSender(t, p, "", ""), remote.Envelope{From: addr, To: []string{addr}}, msg)
				checkArrived(t, user, onlyMsg(t, user+"'s INBOX", p.WaitDelivered(t, user, "INBOX", 1, deliveryTimeout)), msg)
			})
		}
	})
	if len(masters) != 2 || masters[0] == masters[1] || dirs[0] == dirs[1] {
		t.Fatalf("instances: got masters %v in %q, want two distinct", masters, dirs)
	}
	for _, pid := range masters {
		if left := groupMembers(pid); len(left) > 0 {
			t.Errorf("after the test: got postfix processes %v of master %d, want none", left, pid)
		}
	}
}

// TestPostfixLogTail checks that the log is a file under Dir (there is no
// syslog here) and that Queue can read the queue.
func TestPostfixLogTail(t *testing.T) {
	p := StartPostfix(t, nil)
	log := p.LogTail(5)
	if !strings.Contains(log, "daemon started") {
		t.Fatalf("LogTail(5): got %q, want the master's start line", log)
	}
	if q := p.Queue(); q != "" {
		t.Errorf("Queue of a new instance: got %q, want empty", q)
	}
	if got := strings.Count(p.LogTail(1), "\n"); got != 0 {
		t.Errorf("LogTail(1): got %d newlines, want one line", got)
	}
}
