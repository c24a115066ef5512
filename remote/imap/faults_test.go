package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

func TestWrongPassword(t *testing.T) {
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{Username: "me", Password: "right-password"})
	const wrong = "s3cret-wrong-Passw0rd"
	var logs lockedBuffer
	s := testStore(t, srv, func(o *Options) {
		o.Password = func(context.Context) (string, error) { return wrong, nil }
		o.Logger = newTestLogger(&logs)
	})
	_, err := s.Mailboxes(context.Background())
	if !errors.Is(err, remote.ErrAuth) {
		t.Fatalf("got %v, want ErrAuth", err)
	}
	msg := err.Error()
	if strings.Contains(msg, wrong) || strings.Contains(logs.String(), wrong) {
		t.Errorf("the password appears in the error or the log: %q", msg)
	}
	for _, want := range []string{`"test"`, srv.Addr, "LOGIN", "check username/password"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestPasswordCommandFails(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, func(o *Options) {
		o.Password = func(context.Context) (string, error) { return "", errors.New("pass: no such entry") }
	})
	_, err := s.Check(context.Background())
	if !errors.Is(err, remote.ErrAuth) || !strings.Contains(err.Error(), "no such entry") {
		t.Errorf("got %v, want ErrAuth naming the command's failure", err)
	}
}

func TestServerDownAndRecovery(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 2)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX") // a pooled connection exists now

	srv.SetDown(true)
	_, err := s.Status(context.Background(), "INBOX")
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("Status with the server down: got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), srv.Addr) {
		t.Errorf("error %q does not name the server %s", err, srv.Addr)
	}
	err = s.Fetch(context.Background(), "INBOX", uv, []uint32{1}, func(uint32, io.Reader) error { return nil })
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("Fetch with the server down: got %v, want ErrUnavailable", err)
	}

	srv.SetDown(false)
	if got := listAll(t, s, "INBOX", uv, 1); len(got) != 2 {
		t.Errorf("after recovery: got %d messages, want 2", len(got))
	}
}

func TestServerGone(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, nil)
	srv.Close()
	_, err := s.Check(context.Background())
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

// silentHandler never answers.
func silentHandler(*bufio.Writer, string, string) {}

func TestWatchdogSilentAfterGreeting(t *testing.T) {
	f := newFakeServer(t, "* OK fake ready", silentHandler)
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 150 * time.Millisecond })
	start := time.Now()
	_, err := s.Check(context.Background())
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "no response") {
		t.Errorf("error %q does not say the server did not respond", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want about the command timeout", d)
	}
}

func TestWatchdogSilentDuringCommand(t *testing.T) {
	f := newFakeServer(t, "* OK fake ready", loginHandler(silentHandler))
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 150 * time.Millisecond })
	_, err := s.Mailboxes(context.Background())
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "LIST") {
		t.Errorf("got %v, want ErrUnavailable naming LIST", err)
	}
}

func TestWatchdogNoGreeting(t *testing.T) {
	f := newFakeServer(t, "", silentHandler)
	s := fakeStore(t, f, func(o *remote.Server) { o.DialTimeout = 150 * time.Millisecond })
	_, err := s.Check(context.Background())
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "greeting") {
		t.Errorf("got %v, want ErrUnavailable about the greeting", err)
	}
}

func TestWatchdogContextCanceled(t *testing.T) {
	f := newFakeServer(t, "* OK fake ready", loginHandler(silentHandler))
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Status(ctx, "INBOX")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
}

// TestFetchUIDAfterBody uses a server that sends UID after BODY[], which
// go-imap cannot match to the command.
func TestFetchUIDAfterBody(t *testing.T) {
	bodies := map[string]string{
		"7": "Subject: seven\r\n\r\nbody of seven\r\n",
		"9": "Subject: nine\r\n\r\nbody of nine, a bit longer\r\n",
	}
	f := newFakeServer(t, "* OK fake ready", loginHandler(func(w *bufio.Writer, tag, cmd string) {
		switch {
		case strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* 2 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case strings.HasPrefix(cmd, "UID FETCH"):
			for i, uid := range []string{"7", "9"} {
				b := bodies[uid]
				fmt.Fprintf(w, "* %d FETCH (BODY[] {%d}\r\n%s UID %s)\r\n", i+1, len(b), b, uid)
			}
			fmt.Fprintf(w, "%s OK done\r\n", tag)
		default:
			fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
		}
	}))
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
	got := map[uint32]string{}
	err := s.Fetch(context.Background(), "INBOX", 42, []uint32{7, 8, 9}, func(uid uint32, r io.Reader) error {
		b, err := io.ReadAll(r)
		got[uid] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(got) != 2 || got[7] != bodies["7"] || got[9] != bodies["9"] {
		t.Errorf("got %v, want the bodies of UIDs 7 and 9", got)
	}
}

func TestTLS(t *testing.T) {
	for _, mode := range []struct {
		name   string
		server remotetest.TLSMode
		client remote.TLSMode
	}{
		{"implicit", remotetest.TLSImplicit, remote.TLSImplicit},
		{"starttls", remotetest.TLSStartTLS, remote.TLSStartTLS},
	} {
		t.Run(mode.name, func(t *testing.T) {
			srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{TLS: mode.server})
			seed(t, srv, "INBOX", 3)
			s := testStore(t, srv, func(o *Options) {
				o.TLS = mode.client
				o.TLSConfig = &tls.Config{RootCAs: srv.CA.Pool}
			})
			uv := uidValidity(t, s, "INBOX")
			if got := listAll(t, s, "INBOX", uv, 1); len(got) != 3 {
				t.Errorf("got %d messages over TLS, want 3", len(got))
			}

			other, err := remotetest.NewCA()
			if err != nil {
				t.Fatal(err)
			}
			bad := testStore(t, srv, func(o *Options) {
				o.TLS = mode.client
				o.TLSConfig = &tls.Config{RootCAs: other.Pool}
			})
			_, err = bad.Check(context.Background())
			if !errors.Is(err, remote.ErrUnavailable) {
				t.Fatalf("with the wrong CA: got %v, want ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), "tls_ca_file") {
				t.Errorf("error %q does not point at tls_ca_file", err)
			}
		})
	}
}

func TestPlainClientAgainstTLSPort(t *testing.T) {
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{TLS: remotetest.TLSImplicit})
	s := testStore(t, srv, func(o *Options) {
		o.TLS = remote.TLSStartTLS
		o.DialTimeout = 300 * time.Millisecond
	})
	_, err := s.Check(context.Background())
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

// A server that closes the connection in the middle of a body literal must
// not have the truncated body delivered as a complete one: the reader fn
// gets fails instead of ending with a clean EOF (the cache would otherwise
// commit the truncated body and serve it for good).
func TestFetchConnectionClosedMidLiteral(t *testing.T) {
	body := "Subject: seven\r\n\r\n" + strings.Repeat("a line of the body\r\n", 50)
	f := newFakeServer(t, "* OK fake ready", loginHandler(func(w *bufio.Writer, tag, cmd string) {
		switch {
		case strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case strings.HasPrefix(cmd, "UID FETCH"):
			fmt.Fprintf(w, "* 1 FETCH (UID 7 BODY[] {%d}\r\n%s", len(body), body[:len(body)/2])
			w.Flush()
			runtime.Goexit() // the connection is closed by serve's defer
		default:
			fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
		}
	}))
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
	var got []byte
	var readErr error
	called := false
	err := s.Fetch(context.Background(), "INBOX", 42, []uint32{7}, func(uid uint32, r io.Reader) error {
		called = true
		got, readErr = io.ReadAll(r)
		return readErr
	})
	if err == nil {
		t.Errorf("Fetch succeeded on a connection closed mid-body")
	}
	// The callback failed because the connection did: the caller must see
	// a connection failure (and may try again), not its own error.
	if called && !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("Fetch error after the callback's read failed: got %v, want ErrUnavailable", err)
	}
	if called && readErr == nil {
		t.Errorf("the body reader ended cleanly after %d of %d bytes: a truncated body looks complete", len(got), len(body))
	}
}
