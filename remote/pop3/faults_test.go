package pop3

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

func TestDropDuringRetr(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	msg := []byte("Subject: dropped\r\n\r\n" + strings.Repeat("line of text\r\n", 20000))
	srv.Add(msg)
	c := clientFor(t, srv, remote.TLSNone, nil)
	s := connect(t, c)
	srv.DropDuringRetr(1)
	var buf bytes.Buffer
	n, err := s.Retrieve(context.Background(), 1, &buf)
	if !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("Retrieve cut halfway: got %v, want ErrUnavailable", err)
	}
	if n >= int64(len(msg)) || int64(buf.Len()) != n {
		t.Errorf("got n=%d with %d bytes written, want a partial count below %d", n, buf.Len(), len(msg))
	}
	// The session is broken; a new one gets the whole message.
	if _, err := s.List(context.Background()); !errIs(err, remote.ErrUnavailable) {
		t.Errorf("List on the broken session: got %v, want ErrUnavailable", err)
	}
	s.Close()
	waitUnlocked(t, srv)
	s = connect(t, c)
	buf.Reset()
	if _, err := s.Retrieve(context.Background(), 1, &buf); err != nil || !bytes.Equal(buf.Bytes(), msg) {
		t.Fatalf("Retrieve after reconnect: %v (%d bytes, want %d)", err, buf.Len(), len(msg))
	}
	if got := srv.Retrs(); got != 2 {
		t.Errorf("server served %d RETRs, want 2", got)
	}
}

func TestServerDown(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	srv.Add([]byte("Subject: x\r\n\r\nx\r\n"))
	c := clientFor(t, srv, remote.TLSNone, nil)
	s := connect(t, c)
	srv.SetDown(true)
	if _, err := s.List(context.Background()); !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("List with the server down: got %v, want ErrUnavailable", err)
	}
	if _, err := c.Connect(context.Background()); !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("Connect with the server down: got %v, want ErrUnavailable", err)
	}
	srv.SetDown(false)
	waitUnlocked(t, srv)
	connect(t, c)
}

func TestTLS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server remotetest.TLSMode
		client remote.TLSMode
	}{
		{"STLS", remotetest.TLSStartTLS, remote.TLSStartTLS},
		{"implicit", remotetest.TLSImplicit, remote.TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.NewPOP3(t, &remotetest.POP3Options{TLS: tc.server})
			msg := []byte("Subject: tls\r\n\r\n.dot\r\nbody")
			srv.Add(msg)
			s := connect(t, clientFor(t, srv, tc.client, nil))
			var buf bytes.Buffer
			if _, err := s.Retrieve(context.Background(), 1, &buf); err != nil || !bytes.Equal(buf.Bytes(), msg) {
				t.Fatalf("Retrieve over TLS: %v, got %q want %q", err, buf.Bytes(), msg)
			}

			// A client that trusts another CA refuses the certificate.
			other, err := remotetest.NewCA()
			if err != nil {
				t.Fatal(err)
			}
			bad := clientFor(t, srv, tc.client, func(o *Options) { o.TLSConfig = &tls.Config{RootCAs: other.Pool} })
			_, err = bad.Connect(context.Background())
			var unknown x509.UnknownAuthorityError
			if !errIs(err, remote.ErrUnavailable) || !errors.As(err, &unknown) {
				t.Fatalf("Connect with the wrong CA: got %v, want ErrUnavailable with a certificate error", err)
			}
			if !strings.Contains(err.Error(), "tls_ca_file") {
				t.Errorf("error %q does not point at tls_ca_file", err)
			}
		})
	}
}

func TestSTLSNotOffered(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil) // plain text only
	_, err := clientFor(t, srv, remote.TLSStartTLS, nil).Connect(context.Background())
	if !errIs(err, remote.ErrRefused) || !strings.Contains(err.Error(), "STLS") {
		t.Fatalf("got %v, want ErrRefused naming STLS", err)
	}
}

func TestImplicitTLSAgainstPlainServer(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	c := clientFor(t, srv, remote.TLSImplicit, func(o *Options) { o.DialTimeout = 2 * time.Second })
	start := time.Now()
	_, err := c.Connect(context.Background())
	if !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Connect took %s", d)
	}
}

func TestWrongPassword(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *remotetest.POP3Options
	}{
		{"SASL PLAIN", nil},
		{"USER/PASS", &remotetest.POP3Options{NoSASL: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.NewPOP3(t, tc.opts)
			const secret = "wrong-Secret-42"
			c := clientFor(t, srv, remote.TLSNone, func(o *Options) {
				o.Password = func(context.Context) (string, error) { return secret, nil }
			})
			_, err := c.Connect(context.Background())
			if !errIs(err, remote.ErrAuth) {
				t.Fatalf("got %v, want ErrAuth", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains the password", err)
			}
			// The right password works on the same server.
			connect(t, clientFor(t, srv, remote.TLSNone, nil))
		})
	}
}

func TestLoginMechanismAndLog(t *testing.T) {
	for _, tc := range []struct {
		noSASL bool
		want   string
	}{{false, `auth="AUTH PLAIN"`}, {true, `auth=USER/PASS`}} {
		srv := remotetest.NewPOP3(t, &remotetest.POP3Options{NoSASL: tc.noSASL, Username: "alice", Password: "Pw-9137"})
		var logs bytes.Buffer
		c := clientFor(t, srv, remote.TLSNone, func(o *Options) {
			o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		s := connect(t, c)
		s.Delete(context.Background(), 99) // an -ERR, logged
		s.Quit(context.Background())
		out := logs.String()
		if !strings.Contains(out, tc.want) {
			t.Errorf("log %q does not say %s", out, tc.want)
		}
		for _, want := range []string{"pop3 connected", "pop3 disconnected", "DELE 99"} {
			if !strings.Contains(out, want) {
				t.Errorf("log %q lacks %q", out, want)
			}
		}
		if strings.Contains(out, "Pw-9137") {
			t.Errorf("log %q contains the password", out)
		}
	}
}

func TestMaildropInUse(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	c := clientFor(t, srv, remote.TLSNone, nil)
	s := connect(t, c)
	_, err := c.Connect(context.Background())
	if !errIs(err, remote.ErrUnavailable) || errIs(err, remote.ErrAuth) {
		t.Fatalf("second session: got %v, want ErrUnavailable (IN-USE), not ErrAuth", err)
	}
	if err := s.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
	connect(t, c)
}

func TestPasswordCommandFails(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	c := clientFor(t, srv, remote.TLSNone, func(o *Options) {
		o.Password = func(context.Context) (string, error) { return "", errors.New("pass: store locked") }
	})
	_, err := c.Connect(context.Background())
	if !errIs(err, remote.ErrAuth) || !strings.Contains(err.Error(), "store locked") {
		t.Fatalf("got %v, want ErrAuth naming the command's failure", err)
	}
}

func TestSilentServer(t *testing.T) {
	// Accepts and says nothing.
	host, port := fakeServer(t, func(f *fakeConn) {})
	c := fakeClient(host, port, func(o *Options) { o.CommandTimeout = 300 * time.Millisecond })
	start := time.Now()
	_, err := c.Connect(context.Background())
	if !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "no response") {
		t.Fatalf("got %v, want ErrUnavailable: no response", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Connect to a silent server took %s, want about 300ms", d)
	}
}

// stallingRetr is a fake session whose RETR sends part of a message and
// then nothing.
func stallingRetr(f *fakeConn) {
	loggedIn(f)
	f.expect("LIST 1")
	f.send("+OK 1 100\r\n")
	f.expect("RETR 1")
	f.send("+OK\r\nSubject: stalled\r\n\r\nfirst line\r\n")
	f.expect("never")
}

func TestSilentDuringRetr(t *testing.T) {
	host, port := fakeServer(t, stallingRetr)
	c := fakeClient(host, port, func(o *Options) { o.CommandTimeout = 300 * time.Millisecond })
	s := connect(t, c)
	start := time.Now()
	var buf bytes.Buffer
	_, err := s.Retrieve(context.Background(), 1, &buf)
	if !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Retrieve from a stalled server took %s, want about 300ms", d)
	}
}

func TestContextCancel(t *testing.T) {
	t.Run("during RETR", func(t *testing.T) {
		host, port := fakeServer(t, stallingRetr)
		s := connect(t, fakeClient(host, port, nil)) // CommandTimeout 10s
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Retrieve(ctx, 1, &bytes.Buffer{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Retrieve took %s after its context ended", d)
		}
		if _, err := s.List(context.Background()); !errIs(err, remote.ErrUnavailable) {
			t.Errorf("List after a cancelled Retrieve: got %v, want ErrUnavailable", err)
		}
	})
	t.Run("during greeting", func(t *testing.T) {
		host, port := fakeServer(t, func(f *fakeConn) {})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := fakeClient(host, port, nil).Connect(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Connect took %s after its context ended", d)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		srv := remotetest.NewPOP3(t, nil)
		s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		// Nothing was sent: the session still works.
		if _, err := s.List(context.Background()); err != nil {
			t.Fatalf("List after a refused call: %v", err)
		}
	})
}

func TestGarbledReply(t *testing.T) {
	host, port := fakeServer(t, func(f *fakeConn) {
		loggedIn(f)
		f.expect("STAT")
		f.send("+OK\r\n") // no numbers: go-pop3 v1.0.0 panics on this
	})
	c := fakeClient(host, port, nil)
	s, err := c.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, err := s.stat(context.Background()); !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "protocol error") {
		t.Fatalf("got %v, want ErrUnavailable: protocol error", err)
	}
}

func TestSTLSInjection(t *testing.T) {
	// A man in the middle appends a plain-text reply to the STLS answer.
	host, port := fakeServer(t, func(f *fakeConn) {
		f.send("+OK ready\r\n")
		f.expect("STLS")
		f.send("+OK begin TLS\r\n+OK injected\r\n")
		f.expect("never")
	})
	_, err := fakeClient(host, port, func(o *Options) { o.TLS = remote.TLSStartTLS }).Connect(context.Background())
	if !errIs(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "after the STLS reply") {
		t.Fatalf("got %v, want ErrUnavailable: data after the STLS reply", err)
	}
}

func TestXOAUTH2(t *testing.T) {
	token := strings.Repeat("t", 300) // too long for the AUTH line
	t.Run("long initial response after an empty challenge", func(t *testing.T) {
		host, port := fakeServer(t, func(f *fakeConn) {
			f.send("+OK ready\r\n")
			f.expect("CAPA")
			f.send("+OK\r\nSASL XOAUTH2\r\n.\r\n")
			if line := f.expect("AUTH XOAUTH2"); line != "AUTH XOAUTH2" {
				t.Errorf("got %q, want AUTH XOAUTH2 without the initial response", line)
			}
			f.send("+ \r\n")
			f.expect("dXNlcj1")
			f.send("+OK welcome\r\n")
			f.expect("QUIT")
			f.send("+OK\r\n")
		})
		c := fakeClient(host, port, func(o *Options) {
			o.Auth = "xoauth2"
			o.Token = func(context.Context) (string, error) { return token, nil }
		})
		s := connect(t, c)
		if err := s.Quit(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rejected token", func(t *testing.T) {
		token := "short-token-77"
		host, port := fakeServer(t, func(f *fakeConn) {
			f.send("+OK ready\r\n")
			f.expect("CAPA")
			f.send("-ERR\r\n")
			f.expect("AUTH XOAUTH2")
			f.send("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n")
			if line := f.expect(""); line != "" {
				t.Errorf("answer to the error challenge: got %q, want an empty line", line)
			}
			f.send("-ERR [AUTH] invalid token " + token + "\r\n")
		})
		_, err := fakeClient(host, port, func(o *Options) {
			o.Auth = "xoauth2"
			o.Token = func(context.Context) (string, error) { return token, nil }
		}).Connect(context.Background())
		if !errIs(err, remote.ErrAuth) || strings.Contains(err.Error(), token) {
			t.Fatalf("got %v, want ErrAuth without the token", err)
		}
	})
}
