package remotetest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestSMTPServer drives the test server with go-smtp's client: the
// extensions it advertises, a delivered message and an injected fault.
func TestSMTPServer(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       SMTPOptions
		want8, wU8 bool
	}{
		{"default", SMTPOptions{}, true, true},
		{"7bit", SMTPOptions{No8BitMIME: true, NoSMTPUTF8: true}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := NewSMTP(t, &tc.opts)
			c, err := smtp.Dial(srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, _ := c.Extension("8BITMIME"); got != tc.want8 {
				t.Errorf("8BITMIME offered: got %v, want %v", got, tc.want8)
			}
			if got, _ := c.Extension("SMTPUTF8"); got != tc.wU8 {
				t.Errorf("SMTPUTF8 offered: got %v, want %v", got, tc.wU8)
			}
			const msg = "Subject: hi\r\n\r\n.dot\r\nbody\r\n"
			if err := c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(msg)); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 || string(got[0].Data) != msg || got[0].Body8BitMIME != tc.want8 {
				t.Fatalf("got %+v, want one message %q with BODY=8BITMIME %v", got, msg, tc.want8)
			}
			srv.FailNext(550, [3]int{5, 7, 1}, "no", 1)
			err = c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(msg))
			if err == nil || !strings.Contains(err.Error(), "550") {
				t.Errorf("got %v, want 550", err)
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("got %d connections, want 1", n)
			}
		})
	}
}

// smtpRaw is a line-level client, to see replies exactly as written.
type smtpRaw struct {
	t    *testing.T
	text *textproto.Conn
}

func dialSMTPRaw(t *testing.T, conn net.Conn) *smtpRaw {
	t.Helper()
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := &smtpRaw{t: t, text: textproto.NewConn(conn)}
	r.want("", 220)
	return r
}

// want sends line (unless empty) and returns the reply's lines, failing
// the test unless its code is code.
func (r *smtpRaw) want(line string, code int) []string {
	r.t.Helper()
	if line != "" {
		if err := r.text.PrintfLine("%s", line); err != nil {
			r.t.Fatalf("send %q: %v", line, err)
		}
	}
	var lines []string
	for {
		l, err := r.text.ReadLine()
		if err != nil {
			r.t.Fatalf("reply to %q: %v", line, err)
		}
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			break
		}
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, strconv.Itoa(code)+" ") {
		r.t.Fatalf("reply to %q: got %q, want %d", line, lines, code)
	}
	return lines
}

// TestSMTPWire checks the EHLO reply and the checks our Session adds to
// go-smtp, at the line level.
func TestSMTPWire(t *testing.T) {
	srv := NewSMTP(t, &SMTPOptions{No8BitMIME: true, NoSMTPUTF8: true, Username: "u", Password: "p"})
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	r := dialSMTPRaw(t, conn)
	ehlo := r.want("EHLO client.example", 250)
	joined := strings.Join(ehlo, "\n")
	if strings.Contains(joined, "8BITMIME") || strings.Contains(joined, "SMTPUTF8") || !strings.Contains(joined, "AUTH PLAIN LOGIN") {
		t.Errorf("EHLO reply %q: want AUTH PLAIN LOGIN, no 8BITMIME, no SMTPUTF8", ehlo)
	}
	for i, l := range ehlo {
		if sep := l[3]; (i < len(ehlo)-1) != (sep == '-') {
			t.Errorf("EHLO reply line %d %q: bad continuation mark", i, l)
		}
	}
	r.want("MAIL FROM:<a@example.org>", 530)
	r.want("AUTH PLAIN "+b64("\x00u\x00wrong"), 535)
	r.want("AUTH LOGIN", 334)
	r.want(b64("u"), 334)
	r.want(b64("p"), 235)
	r.want("MAIL FROM:<a@example.org> BODY=8BITMIME", 555)
	r.want("MAIL FROM:<jürgen@example.org>", 553)
	r.want("MAIL FROM:<a@example.org> BODY=7BIT", 250)
	r.want("MAIL FROM:<a@example.org>", 503)
	r.want("RCPT TO:<b@example.org>", 250)
	r.want("DATA", 354)
	r.want("Subject: x\r\n\r\n..leading dot\r\nline\r\n.", 250)
	got := srv.Messages()
	if len(got) != 1 || string(got[0].Data) != "Subject: x\r\n\r\n.leading dot\r\nline\r\n" || got[0].Body8BitMIME || got[0].UTF8 {
		t.Errorf("got %+v, want the message dot-unstuffed with CRLF line ends", got)
	}
	r.want("QUIT", 221)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// recordConn is a net.Conn that records what is written to it.
type recordConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

func TestNo8BitMIMEFilter(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"middle",
			"250-Hello x\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE\r\n",
			"250-Hello x\r\n250-PIPELINING\r\n250 SIZE\r\n"},
		{"last",
			"250-Hello x\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
			"250-Hello x\r\n250 PIPELINING\r\n"},
		{"lower case",
			"250-Hello x\r\n250-8bitmime\r\n250 SIZE\r\n",
			"250-Hello x\r\n250 SIZE\r\n"},
		{"single-line replies untouched",
			"220 ESMTP\r\n250 8BITMIME\r\n250 2.0.0 OK\r\n",
			"220 ESMTP\r\n250 8BITMIME\r\n250 2.0.0 OK\r\n"},
		{"other multi-line",
			"250-Hello x\r\n250 SIZE\r\n354 Go ahead\r\n",
			"250-Hello x\r\n250 SIZE\r\n354 Go ahead\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{len(tc.in), 1, 7} {
				rec := &recordConn{}
				c := &no8BitMIMEConn{Conn: rec}
				for in := tc.in; in != ""; {
					n := min(chunk, len(in))
					if w, err := c.Write([]byte(in[:n])); w != n || err != nil {
						t.Fatalf("Write: %d, %v", w, err)
					}
					in = in[n:]
				}
				if got := rec.buf.String(); got != tc.want {
					t.Errorf("chunks of %d: got %q, want %q", chunk, got, tc.want)
				}
			}
		})
	}
}

func TestSMTPNo8BitMIMEWithSTARTTLSRefused(t *testing.T) {
	s, err := StartSMTP(&SMTPOptions{No8BitMIME: true, TLS: TLSStartTLS})
	if err == nil {
		s.Close()
		t.Fatal("got nil error, want No8BitMIME with STARTTLS refused")
	}
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("got %q, want it to name STARTTLS", err)
	}
}

// TestSMTPTLS runs STARTTLS and implicit TLS with AUTH (LOGIN through
// go-sasl's client), and No8BitMIME over implicit TLS.
func TestSMTPTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  SMTPOptions
		want8 bool
	}{
		{"starttls", SMTPOptions{TLS: TLSStartTLS}, true},
		{"implicit", SMTPOptions{TLS: TLSImplicit}, true},
		{"implicit 7bit", SMTPOptions{TLS: TLSImplicit, No8BitMIME: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Username, tc.opts.Password = "u", "p"
			srv := NewSMTP(t, &tc.opts)
			cfg := &tls.Config{RootCAs: srv.CA.Pool, ServerName: "127.0.0.1"}
			var c *smtp.Client
			var err error
			if tc.opts.TLS == TLSImplicit {
				c, err = smtp.DialTLS(srv.Addr, cfg)
			} else {
				var plain *smtp.Client
				plain, err = smtp.Dial(srv.Addr)
				if err != nil {
					t.Fatal(err)
				}
				if ok, _ := plain.Extension("AUTH"); ok {
					t.Error("AUTH offered before STARTTLS")
				}
				if err := plain.Mail("a@example.org", nil); err == nil || !strings.Contains(err.Error(), "530") {
					t.Errorf("MAIL before STARTTLS: got %v, want 530", err)
				}
				plain.Close()
				c, err = smtp.DialStartTLS(srv.Addr, cfg)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if ok, _ := c.Extension("STARTTLS"); ok {
				t.Error("STARTTLS offered over TLS")
			}
			if got, _ := c.Extension("8BITMIME"); got != tc.want8 {
				t.Errorf("8BITMIME offered: got %v, want %v", got, tc.want8)
			}
			if err := c.Auth(sasl.NewLoginClient("u", "p")); err != nil {
				t.Fatalf("AUTH LOGIN: %v", err)
			}
			if err := c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader("Subject: x\r\n\r\nhi\r\n")); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			if got := srv.Messages(); len(got) != 1 || got[0].Body8BitMIME != tc.want8 {
				t.Errorf("got %+v, want one message with BODY=8BITMIME %v", got, tc.want8)
			}
		})
	}
}

// TestSMTPFaults exercises each fault hook through go-smtp's client.
func TestSMTPFaults(t *testing.T) {
	const msg = "Subject: x\r\n\r\nhi\r\n"
	dial := func(t *testing.T, srv *SMTP) *smtp.Client {
		t.Helper()
		c, err := smtp.Dial(srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	code := func(err error) int {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se.Code
		}
		return 0
	}

	t.Run("mail and rcpt", func(t *testing.T) {
		srv := NewSMTP(t, nil)
		c := dial(t, srv)
		srv.FailNextMail(421, [3]int{4, 3, 2}, "try later", 1)
		if err := c.Mail("a@example.org", nil); code(err) != 421 || !strings.Contains(err.Error(), "try later") {
			t.Errorf("MAIL: got %v, want 421 try later", err)
		}
		srv.RefuseRecipient("Nobody@Example.org", 550, [3]int{5, 1, 1}, "No such user")
		if err := c.Mail("a@example.org", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("nobody@example.org", nil); code(err) != 550 {
			t.Errorf("RCPT: got %v, want 550", err)
		}
	})

	t.Run("deliver error", func(t *testing.T) {
		srv := NewSMTP(t, &SMTPOptions{Deliver: func(string, []string, []byte) error {
			return errors.New("mailbox full\nsecond line")
		}})
		c := dial(t, srv)
		err := c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(msg))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 451 || se.Message != "Delivery failed: mailbox full" {
			t.Errorf("got %v, want 451 Delivery failed: mailbox full", err)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("got %d messages, want 0", n)
		}
	})

	t.Run("drop during data", func(t *testing.T) {
		srv := NewSMTP(t, nil)
		c := dial(t, srv)
		srv.DropNextDuringData(1)
		big := strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 50000)
		if err := c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(big)); err == nil || code(err) != 0 {
			t.Errorf("got %v, want a network error", err)
		}
		c2 := dial(t, srv)
		if err := c2.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(big)); err != nil {
			t.Fatalf("next SendMail: %v", err)
		}
		if got := srv.Messages(); len(got) != 1 || string(got[0].Data) != big {
			t.Errorf("got %d messages, want the second one intact", len(got))
		}
	})

	t.Run("stall", func(t *testing.T) {
		srv := NewSMTP(t, nil)
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		r := dialSMTPRaw(t, conn)
		srv.StallNextData(1)
		r.want("EHLO x", 250)
		r.want("MAIL FROM:<a@example.org>", 250)
		r.want("RCPT TO:<b@example.org>", 250)
		r.want("DATA", 354)
		r.text.PrintfLine("Subject: x\r\n\r\nhi\r\n.")
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := conn.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("got %d bytes, %v; want silence", n, err)
		}
		if n := srv.Stalled(); n != 1 {
			t.Errorf("Stalled: got %d, want 1", n)
		}
		conn.Close()
		c := dial(t, srv)
		if err := c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("SendMail after the stall: %v", err)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("got %d messages, want 1 (the stalled one not accepted)", n)
		}
	})

	t.Run("down", func(t *testing.T) {
		srv := NewSMTP(t, nil)
		c := dial(t, srv)
		// The client reads the greeting lazily: make sure the server has
		// accepted the connection before it goes down.
		if err := c.Noop(); err != nil {
			t.Fatalf("NOOP before SetDown: %v", err)
		}
		srv.SetDown(true)
		if err := c.Noop(); err == nil {
			t.Error("NOOP on a dropped connection: got nil error")
		}
		if conn, err := net.Dial("tcp", srv.Addr); err == nil {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("read while down: got %v, want the connection closed", err)
			}
			conn.Close()
		}
		srv.SetDown(false)
		c2 := dial(t, srv)
		if err := c2.Noop(); err != nil {
			t.Errorf("NOOP after SetDown(false): %v", err)
		}
		if n := srv.Connections(); n != 2 {
			t.Errorf("got %d connections, want 2 (none while down)", n)
		}
	})
}
