package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// clientFor returns a client for srv with its credentials and TLS mode;
// edit adjusts the options before New.
func clientFor(t *testing.T, srv *remotetest.POP3, tlsMode remote.TLSMode, edit func(*Options)) *Client {
	t.Helper()
	o := &Options{Server: remote.Server{
		Account:        "test",
		Host:           srv.Host(),
		Port:           srv.Port(),
		TLS:            tlsMode,
		Username:       srv.Username,
		Password:       func(context.Context) (string, error) { return srv.Password, nil },
		DialTimeout:    5 * time.Second,
		CommandTimeout: 10 * time.Second,
	}}
	if srv.CA != nil {
		o.TLSConfig = &tls.Config{RootCAs: srv.CA.Pool}
	}
	if edit != nil {
		edit(o)
	}
	return New(o)
}

// connect opens a session and closes it at the end of the test.
func connect(t *testing.T, c *Client) remote.DropSession {
	t.Helper()
	s, err := c.Connect(context.Background())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeConn is one connection to a scripted fake server.
type fakeConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// send writes raw text (line endings included).
func (f *fakeConn) send(text string) {
	f.c.Write([]byte(text))
}

// expect reads one line and checks that it starts with prefix; it returns
// the line without CRLF, or "" when the connection ended.
func (f *fakeConn) expect(prefix string) string {
	line, err := f.r.ReadString('\n')
	if err != nil {
		return ""
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, prefix) {
		f.t.Errorf("fake server got %q, want a line starting with %q", line, prefix)
	}
	return line
}

// fakeServer runs script on every connection to a loopback listener and
// returns the listener's host and port.
func fakeServer(t *testing.T, script func(f *fakeConn)) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	connCh := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(done)
				return
			}
			connCh <- c
			go func() {
				script(&fakeConn{t: t, c: c, r: bufio.NewReader(c)})
				// Keep the connection open until the test ends, so that
				// a script that stops talking is a silent server.
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(connCh)
		for c := range connCh {
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}

// loggedIn is the start of a fake session: greeting, no CAPA, USER/PASS.
func loggedIn(f *fakeConn) {
	f.send("+OK fake ready\r\n")
	f.expect("CAPA")
	f.send("-ERR no CAPA here\r\n")
	f.expect("USER ")
	f.send("+OK\r\n")
	f.expect("PASS ")
	f.send("+OK logged in\r\n")
}

// fakeClient returns a client for a fake server in plain text.
func fakeClient(host string, port int, edit func(*Options)) *Client {
	o := &Options{Server: remote.Server{
		Account:        "fake",
		Host:           host,
		Port:           port,
		TLS:            remote.TLSNone,
		Username:       "user",
		Password:       func(context.Context) (string, error) { return "s3cret-pw", nil },
		DialTimeout:    5 * time.Second,
		CommandTimeout: 10 * time.Second,
	}}
	if edit != nil {
		edit(o)
	}
	return New(o)
}

// errIs is errors.Is, for brevity in conditions.
func errIs(err, target error) bool { return errors.Is(err, target) }

// waitUnlocked waits until the server has noticed the end of the last
// session and released the maildrop lock.
func waitUnlocked(t *testing.T, srv *remotetest.POP3) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Locked() {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the maildrop lock after 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// keys returns the keys of m, for messages.
func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
