package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// TestServerErrKind: every response code of RFC 5530 (and RFC 9051, RFC
// 7889) has the sentinel of its class, and a NO without a code is read for
// words; EACCES (ErrAuth, ErrRefused) only for permission-like refusals.
func TestServerErrKind(t *testing.T) {
	no := func(code imap.ResponseCode, text string) imap.Error {
		return imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	for _, tc := range []struct {
		err  imap.Error
		want error
	}{
		{no(imap.ResponseCodeNonExistent, "x"), remote.ErrNotFound},
		{no(imap.ResponseCodeTryCreate, ""), remote.ErrNotFound},
		{no("EXPUNGEISSUED", "Some messages were expunged"), remote.ErrNotFound},
		{no("", "Mailbox doesn't exist: Foo"), remote.ErrNotFound},
		{no(imap.ResponseCodeUnavailable, ""), remote.ErrUnavailable},
		{no(imap.ResponseCodeServerBug, "Internal error occurred. Refer to server log for more information."), remote.ErrUnavailable},
		{no("serverbug", "lower case"), remote.ErrUnavailable},
		{no(imap.ResponseCodeInUse, "Mailbox is locked"), remote.ErrUnavailable},
		{no(imap.ResponseCodeLimit, "Too many connections"), remote.ErrUnavailable},
		{no(imap.ResponseCodeCorruption, "Index is corrupted"), remote.ErrUnavailable},
		{no(imap.ResponseCodeTooMany, ""), remote.ErrUnavailable},
		{no(imap.ResponseCodeUnknownCTE, ""), remote.ErrUnavailable},
		{no(imap.ResponseCodeClientBug, ""), remote.ErrUnavailable},
		{no(imap.ResponseCodeParse, ""), remote.ErrUnavailable},
		{no(imap.ResponseCodeBadCharset, ""), remote.ErrUnavailable},
		{no("", "Internal error"), remote.ErrUnavailable},
		{no(imap.ResponseCodeAlert, "System going down"), remote.ErrUnavailable},
		{imap.Error{Type: imap.StatusResponseTypeBad, Text: "Error in IMAP command"}, remote.ErrUnavailable},
		{imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeNoPerm, Text: "x"}, remote.ErrUnavailable},
		{no(imap.ResponseCodeAuthenticationFailed, ""), remote.ErrAuth},
		{no(imap.ResponseCodeAuthorizationFailed, ""), remote.ErrAuth},
		{no(imap.ResponseCodeExpired, ""), remote.ErrAuth},
		{no(imap.ResponseCodePrivacyRequired, ""), remote.ErrAuth},
		{no(imap.ResponseCodeContactAdmin, "Account disabled"), remote.ErrAuth},
		{no(imap.ResponseCodeNoPerm, ""), remote.ErrRefused},
		{no(imap.ResponseCodeCannot, ""), remote.ErrRefused},
		{no(imap.ResponseCodeNoPrivate, ""), remote.ErrRefused},
		{no("", "Permission denied"), remote.ErrRefused},
		{no(imap.ResponseCodeOverQuota, "Quota exceeded"), remote.ErrQuota},
		{no(imap.ResponseCodeTooBig, ""), remote.ErrTooBig},
		{no(imap.ResponseCodeAlreadyExists, ""), remote.ErrExists},
		{no(imap.ResponseCodeHasChildren, ""), remote.ErrNotEmpty},
	} {
		if got := serverErrKind(&tc.err); got != tc.want {
			t.Errorf("%s [%s] %s: got %v, want %v", tc.err.Type, tc.err.Code, tc.err.Text, got, tc.want)
		}
	}
}

// noHandler answers the listing's UID FETCH (after an EXAMINE) with the
// tagged reply answer, such as "NO [SERVERBUG] oops".
func noHandler(answer string) func(w *bufio.Writer, tag, cmd string) {
	return loginHandler(func(w *bufio.Writer, tag, cmd string) {
		switch {
		case strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case strings.HasPrefix(cmd, "UID FETCH"):
			fmt.Fprintf(w, "%s %s\r\n", tag, answer)
		default:
			fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
		}
	})
}

// TestServerNoClasses runs a listing against a server answering each class
// of NO: the error wraps the class's sentinel and carries the server's
// words. Without the classification a NO [SERVERBUG] was ErrRefused
// (EACCES, "Permission denied").
func TestServerNoClasses(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   error
	}{
		{"NO [SERVERBUG] Internal error occurred. Refer to server log for more information.", remote.ErrUnavailable},
		{"NO [UNAVAILABLE] Backend down", remote.ErrUnavailable},
		{"NO [INUSE] Mailbox in use", remote.ErrUnavailable},
		{"NO [LIMIT] Too many", remote.ErrUnavailable},
		{"NO [CORRUPTION] Broken index", remote.ErrUnavailable},
		{"NO Something went wrong", remote.ErrUnavailable},
		{"BAD Error in IMAP command UID FETCH: Invalid arguments", remote.ErrUnavailable},
		{"NO [NOPERM] No permission to read", remote.ErrRefused},
		{"NO [CANNOT] Never", remote.ErrRefused},
		{"NO [NONEXISTENT] No such mailbox", remote.ErrNotFound},
		{"NO [OVERQUOTA] Quota exceeded", remote.ErrQuota},
		{"NO [CONTACTADMIN] Account locked", remote.ErrAuth},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			f := newFakeServer(t, "* OK fake ready", noHandler(tc.answer))
			s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
			err := s.Messages(context.Background(), "INBOX", 42, 1, func(remote.MessageInfo) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			words := strings.TrimPrefix(strings.TrimPrefix(tc.answer, "NO "), "BAD ")
			if !strings.Contains(err.Error(), words) {
				t.Errorf("error %q does not carry the server's words %q", err, words)
			}
		})
	}
}

// TestExpungeIssued: a FETCH answered NO [EXPUNGEISSUED] after the
// messages that still exist is complete without the expunged ones (the
// contract: a missing UID is an expunged message), not a failure.
func TestExpungeIssued(t *testing.T) {
	body := "Subject: seven\r\n\r\nbody of seven\r\n"
	f := newFakeServer(t, "* OK fake ready", loginHandler(func(w *bufio.Writer, tag, cmd string) {
		switch {
		case strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* 2 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case strings.HasPrefix(cmd, "UID FETCH"):
			fmt.Fprintf(w, "* 1 FETCH (UID 7 BODY[] {%d}\r\n%s)\r\n", len(body), body)
			fmt.Fprintf(w, "%s NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n", tag)
		default:
			fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
		}
	}))
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
	got := map[uint32]string{}
	err := s.Fetch(context.Background(), "INBOX", 42, []uint32{7, 8}, func(uid uint32, r io.Reader) error {
		b, err := io.ReadAll(r)
		got[uid] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: got %v, want no error (UID 8 is simply gone)", err)
	}
	if len(got) != 1 || got[7] != body {
		t.Errorf("got %v, want the body of UID 7 only", got)
	}
}

// TestLoginNoClasses: at login, a NO that puts the failure on the server
// is ErrUnavailable ("try again later"), not a wrong password.
func TestLoginNoClasses(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   error
	}{
		{"NO [AUTHENTICATIONFAILED] Authentication failed.", remote.ErrAuth},
		{"NO Login failed", remote.ErrAuth},
		{"NO [SERVERBUG] Internal error", remote.ErrUnavailable},
		{"NO [UNAVAILABLE] Try later", remote.ErrUnavailable},
		{"NO [INUSE] Mailbox locked", remote.ErrUnavailable},
		{"NO [LIMIT] Too many connections", remote.ErrUnavailable},
		{"NO [CONTACTADMIN] Account disabled", remote.ErrAuth},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			f := newFakeServer(t, "* OK fake ready", func(w *bufio.Writer, tag, cmd string) {
				switch strings.ToUpper(strings.SplitN(cmd, " ", 2)[0]) {
				case "CAPABILITY":
					fmt.Fprintf(w, "* CAPABILITY IMAP4rev1\r\n%s OK done\r\n", tag)
				case "LOGIN":
					fmt.Fprintf(w, "%s %s\r\n", tag, tc.answer)
				default:
					fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
				}
			})
			s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
			_, err := s.Check(context.Background())
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// resetServer is an IMAP server that logs in, answers EXAMINE, and answers
// UID FETCH with the first half of a body literal followed by a TCP reset
// (SO_LINGER 0).
func resetServer(t *testing.T) (host string, port int) {
	t.Helper()
	body := "Subject: seven\r\n\r\n" + strings.Repeat("a line of the body\r\n", 5000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	serve := func(c *net.TCPConn) {
		defer c.Close()
		r, w := bufio.NewReader(c), bufio.NewWriter(c)
		fmt.Fprintf(w, "* OK fake ready\r\n")
		w.Flush()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0]); {
			case verb == "CAPABILITY":
				fmt.Fprintf(w, "* CAPABILITY IMAP4rev1\r\n%s OK done\r\n", tag)
			case verb == "LOGIN":
				fmt.Fprintf(w, "%s OK logged in\r\n", tag)
			case verb == "EXAMINE":
				fmt.Fprintf(w, "* 1 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
			case strings.HasPrefix(strings.ToUpper(cmd), "UID FETCH"):
				fmt.Fprintf(w, "* 1 FETCH (UID 7 BODY[] {%d}\r\n%s", len(body), body[:len(body)/2])
				w.Flush()
				time.Sleep(50 * time.Millisecond)
				c.SetLinger(0)
				return
			default:
				fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
			}
			w.Flush()
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serve(c.(*net.TCPConn)) })
		}
	})
	return "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
}

// TestConnectionResetMidBody: a TCP reset while the caller reads a body
// fails Fetch with ErrUnavailable even though it was the caller's read
// (and so its callback's error) that met the reset; the reset stays in the
// chain for the log, and the callback saw the read fail.
func TestConnectionResetMidBody(t *testing.T) {
	host, port := resetServer(t)
	s := New(&Options{Server: remote.Server{
		Host: host, Port: port, TLS: remote.TLSNone, Username: "u", Account: "test",
		Password:       func(context.Context) (string, error) { return "p", nil },
		CommandTimeout: 5 * time.Second,
	}})
	t.Cleanup(func() { s.Close() })
	var readErr error
	err := s.Fetch(context.Background(), "INBOX", 42, []uint32{7}, func(uid uint32, r io.Reader) error {
		_, readErr = io.Copy(io.Discard, r)
		return fmt.Errorf("write cached body: %w", readErr)
	})
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if !errors.Is(readErr, syscall.ECONNRESET) {
		t.Errorf("the callback's read ended with %v, want the reset", readErr)
	}
	if !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("error %q does not say the connection was reset", err)
	}
}

// switchRelay forwards each new connection to the address in target at
// the time it is accepted; drop closes every open one.
type switchRelay struct {
	ln     net.Listener
	target atomic.Value // string
	mu     sync.Mutex
	conns  []net.Conn // guarded by mu
	wg     sync.WaitGroup
}

func newSwitchRelay(t *testing.T, target string) *switchRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &switchRelay{ln: ln}
	r.target.Store(target)
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", r.target.Load().(string))
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			r.wg.Go(func() { io.Copy(up, c); up.Close() })
			r.wg.Go(func() { io.Copy(c, up); c.Close() })
		}
	})
	t.Cleanup(func() { ln.Close(); r.drop(); r.wg.Wait() })
	return r
}

func (r *switchRelay) drop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// TestCertificateChangesAtReconnect: the server's certificate is trusted at
// the first connection; after the connection drops, the next dial meets a
// certificate from another authority. The command fails with
// ErrUnavailable (EIO through the mount), and a log line says why: the
// certificate, with the hint to check tls_ca_file.
func TestCertificateChangesAtReconnect(t *testing.T) {
	good := remotetest.NewIMAP(t, &remotetest.IMAPOptions{TLS: remotetest.TLSImplicit})
	seed(t, good, "INBOX", 2)
	other := remotetest.NewIMAP(t, &remotetest.IMAPOptions{TLS: remotetest.TLSImplicit})
	relay := newSwitchRelay(t, good.Addr)
	var logs lockedBuffer
	s := New(&Options{Server: remote.Server{
		Host: "127.0.0.1", Port: relay.ln.Addr().(*net.TCPAddr).Port, TLS: remote.TLSImplicit,
		Username: good.Username, Account: "test",
		Password:       func(context.Context) (string, error) { return good.Password, nil },
		DialTimeout:    5 * time.Second,
		CommandTimeout: 5 * time.Second,
		TLSConfig:      &tls.Config{RootCAs: good.CA.Pool, ServerName: "127.0.0.1"},
		Logger:         newTestLogger(&logs),
	}})
	t.Cleanup(func() { s.Close() })
	if _, err := s.Status(context.Background(), "INBOX"); err != nil {
		t.Fatalf("first Status: %v", err)
	}
	relay.target.Store(other.Addr)
	relay.drop()
	_, err := s.Status(context.Background(), "INBOX")
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("Status after the certificate changed: got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "tls_ca_file") {
		t.Errorf("error %q does not point at tls_ca_file", err)
	}
	log := logs.String()
	if !strings.Contains(log, "certificate") || !strings.Contains(log, "tls_ca_file") || !strings.Contains(log, "level=WARN") {
		t.Errorf("no warning saying the certificate failed; log:\n%s", log)
	}
}
