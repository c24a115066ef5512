package pop3

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	gopop3 "github.com/knadh/go-pop3"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// TestGoPOP3Hazards pins down the go-pop3 v1.0.0 behaviour the package
// works around (doc.go): Stat panics on a bare "+OK", and RetrRaw neither
// dot-unstuffs nor keeps lines longer than its buffer whole. Should a new
// version fix these, the workarounds may be revisited.
func TestGoPOP3Hazards(t *testing.T) {
	long := strings.Repeat("L", 5000)
	host, port := fakeServer(t, func(f *fakeConn) {
		f.send("+OK ready\r\n")
		switch f.expect("") {
		case "STAT":
			f.send("+OK\r\n")
		case "RETR 1":
			f.send("+OK\r\n..dot\r\n" + long + "\r\n.\r\n")
		}
		f.expect("never")
	})
	dial := func() *gopop3.Conn {
		pc, err := gopop3.New(gopop3.Opt{Host: host, Port: port}).NewConn()
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}

	panicked := func() (p bool) {
		defer func() { p = recover() != nil }()
		dial().Stat()
		return false
	}()
	if !panicked {
		t.Error(`go-pop3 Stat no longer panics on "+OK": see doc.go`)
	}

	body, err := dial().RetrRaw(1)
	if err != nil {
		t.Fatal(err)
	}
	if want := ".dot\r\n" + long + "\r\n"; body.String() == want {
		t.Error("go-pop3 RetrRaw is now byte-exact: see doc.go")
	}
}

// TestUnexpectedData has the server speak out of turn: a second line in
// the same packet as a reply. The session fails cleanly with
// ErrUnavailable instead of taking that line for the next reply (which,
// for a RETR, would put it into the stored message).
func TestUnexpectedData(t *testing.T) {
	const extra = "+OK 9 octets\r\n"
	for _, tc := range []struct {
		name   string
		script func(f *fakeConn)
		call   func(ctx context.Context, s *session) error
	}{
		{"after STAT", func(f *fakeConn) {
			loggedIn(f)
			f.expect("STAT")
			f.send("+OK 1 9\r\n" + extra)
		}, func(ctx context.Context, s *session) error { _, _, err := s.stat(ctx); return err }},
		{"after DELE", func(f *fakeConn) {
			loggedIn(f)
			f.expect("DELE 1")
			f.send("+OK marked\r\n" + extra)
		}, func(ctx context.Context, s *session) error { return s.Delete(ctx, 1) }},
		{"after -ERR", func(f *fakeConn) {
			loggedIn(f)
			f.expect("DELE 1")
			f.send("-ERR no such message\r\n" + extra)
		}, func(ctx context.Context, s *session) error { return s.Delete(ctx, 1) }},
		{"after LIST n", func(f *fakeConn) {
			loggedIn(f)
			f.expect("LIST 1")
			f.send("+OK 1 9\r\n" + extra)
		}, func(ctx context.Context, s *session) error { _, err := s.size(ctx, 1); return err }},
		{"after a multi-line answer", func(f *fakeConn) {
			loggedIn(f)
			f.expect("LIST")
			f.send("+OK\r\n1 9\r\n.\r\n" + extra)
		}, func(ctx context.Context, s *session) error { _, err := s.List(ctx); return err }},
		{"after a message", func(f *fakeConn) {
			loggedIn(f)
			f.expect("LIST 1")
			f.send("+OK 1 9\r\n")
			f.expect("RETR 1")
			f.send("+OK\r\nSubject: x\r\n.\r\n" + extra)
		}, func(ctx context.Context, s *session) error { _, err := s.Retrieve(ctx, 1, &bytes.Buffer{}); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port := fakeServer(t, func(f *fakeConn) {
				tc.script(f)
				f.expect("never")
			})
			s, err := fakeClient(host, port, nil).connect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = tc.call(context.Background(), s)
			if !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "unexpected data") {
				t.Fatalf("got %v, want ErrUnavailable: unexpected data", err)
			}
			// The session is over: a RETR now cannot read the stray
			// line as its status.
			var buf bytes.Buffer
			if _, err := s.Retrieve(context.Background(), 1, &buf); !errIs(err, remote.ErrUnavailable) || buf.Len() > 0 {
				t.Fatalf("Retrieve after the stray line: %v, %d bytes; want ErrUnavailable and nothing", err, buf.Len())
			}
		})
	}

	for _, tc := range []struct {
		name   string
		script func(f *fakeConn)
	}{
		{"after the greeting", func(f *fakeConn) {
			f.send("+OK ready\r\n" + extra)
		}},
		{"after PASS", func(f *fakeConn) {
			f.send("+OK ready\r\n")
			f.expect("CAPA")
			f.send("-ERR\r\n")
			f.expect("USER ")
			f.send("+OK\r\n")
			f.expect("PASS ")
			f.send("+OK logged in\r\n" + extra)
		}},
		{"after the greeting, over STLS", func(f *fakeConn) {
			// Plain text: the greeting is read before STLS, which the
			// injected line must not survive.
			f.send("+OK ready\r\n" + extra)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port := fakeServer(t, func(f *fakeConn) {
				tc.script(f)
				f.expect("never")
			})
			mode := remote.TLSNone
			if strings.Contains(tc.name, "STLS") {
				mode = remote.TLSStartTLS
			}
			_, err := fakeClient(host, port, func(o *Options) { o.TLS = mode }).Connect(context.Background())
			if !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "unexpected data") {
				t.Fatalf("got %v, want ErrUnavailable: unexpected data", err)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatalf("error %q contains the password", err)
			}
		})
	}
}

// TestLongReplyLine: go-pop3 splits a reply line longer than its 4096-byte
// buffer and would read the rest as the next reply. Such a line fails the
// session; one that fits works.
func TestLongReplyLine(t *testing.T) {
	fits := "+OK " + strings.Repeat("f", libLineMax-len("+OK \r\n"))
	host, port := fakeServer(t, func(f *fakeConn) {
		loggedIn(f)
		f.expect("NOOP")
		f.send(fits + "\r\n")
		f.expect("STAT")
		f.send("+OK 1 9 " + strings.Repeat("x", libLineMax) + "\r\n")
		f.expect("never")
	})
	s, err := fakeClient(host, port, nil).connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.noop(context.Background()); err != nil {
		t.Fatalf("NOOP with a %d-byte reply line: %v", len(fits)+2, err)
	}
	_, _, err = s.stat(context.Background())
	if !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("longer than %d", libLineMax)) {
		t.Fatalf("got %v, want ErrUnavailable: reply line longer than %d bytes", err, libLineMax)
	}
	if err := s.noop(context.Background()); !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("NOOP after the long line: got %v, want ErrUnavailable", err)
	}
}

func TestGreetingRefused(t *testing.T) {
	host, port := fakeServer(t, func(f *fakeConn) {
		f.send("-ERR [SYS/TEMP] too many connections\r\n")
		f.expect("never")
	})
	_, err := fakeClient(host, port, nil).Connect(context.Background())
	if !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "too many connections") {
		t.Fatalf("got %v, want ErrUnavailable with the server's text", err)
	}
}

func TestNoopRset(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	srv.Add([]byte("Subject: a\r\n\r\na\r\n"))
	c := clientFor(t, srv, remote.TLSNone, nil)
	s, err := c.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.noop(context.Background()); err != nil {
		t.Fatalf("NOOP: %v", err)
	}
	if err := s.Delete(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.rset(context.Background()); err != nil {
		t.Fatalf("RSET: %v", err)
	}
	if err := s.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Fatalf("after DELE, RSET, QUIT the server holds %d messages, want 1", got)
	}
}

// TestWireFeedsOneLine checks the mechanism behind the lock-step
// invariant: however much the server sends at once, go-pop3's reader is
// handed at most the rest of the current line, the rest stays in ours.
func TestWireFeedsOneLine(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		server.Write([]byte("+OK one\r\n+OK two\r\nbody\r\n.\r\n"))
		server.Close()
	}()
	w := newWire(client, 5*time.Second)
	w.beginCall()
	p := make([]byte, 4096)
	n, err := w.Read(p)
	if err != nil || string(p[:n]) != "+OK one\r\n" {
		t.Fatalf("Read = %q, %v; want the first line", p[:n], err)
	}
	line, err := w.endCall(nil)
	if err != nil || string(line) != "+OK one" {
		t.Fatalf("endCall = %q, %v", line, err)
	}
	if err := w.inStep(); err == nil {
		t.Fatal("inStep saw nothing, want the rest of the packet")
	}
	if _, err := w.Read(p); err == nil {
		t.Fatal("Read outside a go-pop3 call succeeded")
	}
}
