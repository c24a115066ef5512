package remotetest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// pop3Client is a raw protocol client for testing the server.
type pop3Client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialPOP3(t *testing.T, s *POP3) *pop3Client {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	pc := &pop3Client{t: t, conn: c, r: bufio.NewReader(c)}
	pc.want("+OK")
	return pc
}

// line reads one line without CRLF.
func (c *pop3Client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// want reads a line and checks its prefix.
func (c *pop3Client) want(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want %q…", l, prefix)
	}
	return l
}

// cmd sends a command and checks the reply's prefix.
func (c *pop3Client) cmd(line, prefix string) string {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
	return c.want(prefix)
}

// raw reads a multi-line answer's bytes up to and including the
// terminator, exactly as sent.
func (c *pop3Client) raw() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, b.String())
		}
		b.WriteString(l)
		if strings.HasSuffix(b.String(), "\r\n.\r\n") || b.String() == ".\r\n" {
			return b.String()
		}
	}
}

func (c *pop3Client) login() {
	c.t.Helper()
	c.cmd("USER user", "+OK")
	c.cmd("PASS pass", "+OK")
}

func TestPOP3Stuffing(t *testing.T) {
	s := NewPOP3(t, nil)
	s.Add([]byte("Subject: x\r\n\r\n.a\r\n.\r\nb\n.c"))
	c := dialPOP3(t, s)
	c.login()
	c.cmd("RETR 1", "+OK")
	if got, want := c.raw(), "Subject: x\r\n\r\n..a\r\n..\r\nb\n..c\r\n.\r\n"; got != want {
		t.Fatalf("RETR sent %q, want %q", got, want)
	}
	c.cmd("TOP 1 0", "+OK")
	if got, want := c.raw(), "Subject: x\r\n\r\n.\r\n"; got != want {
		t.Fatalf("TOP 1 0 sent %q, want %q", got, want)
	}
	c.cmd("TOP 1 1", "+OK")
	if got, want := c.raw(), "Subject: x\r\n\r\n..a\r\n.\r\n"; got != want {
		t.Fatalf("TOP 1 1 sent %q, want %q", got, want)
	}
	if s.Retrs() != 1 {
		t.Errorf("Retrs() = %d, want 1", s.Retrs())
	}
}

func TestPOP3ListingAndDeletion(t *testing.T) {
	s := NewPOP3(t, nil)
	a := s.Add([]byte("one\r\n"))
	b := s.Add([]byte("three\r\n"))
	if a == b {
		t.Fatalf("Add returned %q twice", a)
	}
	c := dialPOP3(t, s)
	c.login()
	c.cmd("STAT", "+OK 2 12")
	c.cmd("LIST", "+OK")
	if got := c.raw(); got != "1 5\r\n2 7\r\n.\r\n" {
		t.Errorf("LIST sent %q", got)
	}
	c.cmd("UIDL", "+OK")
	if got := c.raw(); got != "1 "+a+"\r\n2 "+b+"\r\n.\r\n" {
		t.Errorf("UIDL sent %q", got)
	}
	c.cmd("UIDL 2", "+OK 2 "+b)
	c.cmd("DELE 1", "+OK")
	c.cmd("RETR 1", "-ERR")
	c.cmd("STAT", "+OK 1 7")
	c.cmd("RSET", "+OK")
	c.cmd("STAT", "+OK 2 12")
	c.cmd("DELE 1", "+OK")
	// A second session waits for the lock.
	c2 := dialPOP3(t, s)
	c2.cmd("USER user", "+OK")
	c2.cmd("PASS pass", "-ERR [IN-USE]")
	// New mail is not visible in the running session.
	s.Add([]byte("late\r\n"))
	c.cmd("STAT", "+OK 1 7")
	c.cmd("QUIT", "+OK")
	if got := s.Messages(); len(got) != 2 || got[a] != nil {
		t.Fatalf("after QUIT the server holds %d messages (first still there: %v), want 2 without the first", len(got), got[a] != nil)
	}
}

func TestPOP3NoCommitWithoutQuit(t *testing.T) {
	s := NewPOP3(t, nil)
	s.Add([]byte("one\r\n"))
	c := dialPOP3(t, s)
	c.login()
	c.cmd("DELE 1", "+OK")
	c.conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Locked() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(s.Messages()) != 1 {
		t.Fatal("a session closed without QUIT deleted mail")
	}
	dialPOP3(t, s).login() // the lock is free again
}

func TestPOP3Auth(t *testing.T) {
	s := NewPOP3(t, nil)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00user\x00pass"))
	c := dialPOP3(t, s)
	c.cmd("PASS pass", "-ERR")
	c.cmd("USER user", "+OK")
	c.cmd("PASS wrong", "-ERR [AUTH]")
	c.cmd("AUTH PLAIN "+plain, "+OK")
	c.cmd("QUIT", "+OK")

	c = dialPOP3(t, s)
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd(plain, "+OK")

	n := NewPOP3(t, &POP3Options{NoSASL: true, NoUIDL: true, NoTop: true})
	c = dialPOP3(t, n)
	c.cmd("CAPA", "+OK")
	if got := c.raw(); strings.Contains(got, "SASL") || strings.Contains(got, "UIDL") || strings.Contains(got, "TOP") {
		t.Errorf("CAPA sent %q, want no SASL, UIDL, TOP", got)
	}
	c.cmd("AUTH PLAIN "+plain, "-ERR")
	c.login()
	n.Add([]byte("x\r\n"))
	c.cmd("UIDL", "-ERR")
	c.cmd("TOP 1 0", "-ERR")
}

func TestPOP3STLS(t *testing.T) {
	s := NewPOP3(t, &POP3Options{TLS: TLSStartTLS})
	c := dialPOP3(t, s)
	c.cmd("CAPA", "+OK")
	if got := c.raw(); !strings.Contains(got, "STLS\r\n") {
		t.Fatalf("CAPA sent %q, want STLS", got)
	}
	c.cmd("USER user", "-ERR")
	c.cmd("STLS", "+OK")
	tc := tls.Client(c.conn, &tls.Config{RootCAs: s.CA.Pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	c.cmd("CAPA", "+OK")
	if got := c.raw(); strings.Contains(got, "STLS") {
		t.Errorf("CAPA after STLS sent %q, want no STLS", got)
	}
	c.login()
}

func TestPOP3ImplicitTLS(t *testing.T) {
	s := NewPOP3(t, &POP3Options{TLS: TLSImplicit})
	tc, err := tls.Dial("tcp", s.Addr, &tls.Config{RootCAs: s.CA.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := &pop3Client{t: t, conn: tc, r: bufio.NewReader(tc)}
	c.want("+OK")
	c.login()
}

func TestPOP3Faults(t *testing.T) {
	s := NewPOP3(t, nil)
	s.Add([]byte(strings.Repeat("0123456789\r\n", 1000)))
	c := dialPOP3(t, s)
	c.login()
	s.DropDuringRetr(1)
	c.cmd("RETR 1", "+OK")
	data, _ := io.ReadAll(c.r)
	if len(data) == 0 || len(data) > 6000 || strings.HasSuffix(string(data), "\r\n.\r\n") {
		t.Fatalf("cut RETR sent %d bytes ending %q, want about half and no terminator", len(data), data[max(0, len(data)-10):])
	}

	s.SetDown(true)
	conn, err := net.Dial("tcp", s.Addr)
	if err == nil {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if n, _ := conn.Read(make([]byte, 10)); n != 0 {
			t.Error("a down server sent a greeting")
		}
		conn.Close()
	}
	s.SetDown(false)
	c = dialPOP3(t, s)
	c.login()
	c.cmd("RETR 1", "+OK")
	if got := c.raw(); len(got) != 12000+3 {
		t.Errorf("RETR after the faults sent %d bytes, want %d", len(got), 12003)
	}
}
