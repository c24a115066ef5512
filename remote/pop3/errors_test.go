package pop3

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailfs/remote"
)

// TestServerErrorKind: each RFC 2449/3206 response code has the sentinel
// of its class; an -ERR without a known code is a refusal.
func TestServerErrorKind(t *testing.T) {
	for _, tc := range []struct {
		text string // the reply after "-ERR "
		want error
	}{
		{"[IN-USE] Do you have another POP session running?", remote.ErrUnavailable},
		{"[LOGIN-DELAY] Wait 5 minutes", remote.ErrUnavailable},
		{"[SYS/TEMP] Internal error occurred. Refer to server log for more information.", remote.ErrUnavailable},
		{"[SYS/PERM] Your maildrop is damaged", remote.ErrUnavailable},
		{"[sys/perm] lower case", remote.ErrUnavailable},
		{"[SYS/TEMP/DISK] a finer code", remote.ErrUnavailable},
		{"[AUTH] Authentication failed.", remote.ErrAuth},
		{"[UTF8] not a class", remote.ErrRefused},
		{"no such message", remote.ErrRefused},
		{"", remote.ErrRefused},
		{"[unterminated code", remote.ErrRefused},
	} {
		se := &serverError{text: tc.text}
		if got := se.kind(); got != tc.want {
			t.Errorf("-ERR %s: got %v, want %v", tc.text, got, tc.want)
		}
	}
}

// TestLoginErrClasses: at login, an -ERR that puts the failure on the
// server is ErrUnavailable, not a wrong password; [AUTH] and a plain -ERR
// are ErrAuth with the hint to check the credentials.
func TestLoginErrClasses(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  error
	}{
		{"-ERR [AUTH] Authentication failed.", remote.ErrAuth},
		{"-ERR Authentication failed.", remote.ErrAuth},
		{"-ERR [IN-USE] Mailbox locked", remote.ErrUnavailable},
		{"-ERR [LOGIN-DELAY] Too soon", remote.ErrUnavailable},
		{"-ERR [SYS/TEMP] Internal error", remote.ErrUnavailable},
		{"-ERR [SYS/PERM] Maildrop damaged", remote.ErrUnavailable},
	} {
		t.Run(tc.reply, func(t *testing.T) {
			host, port := fakeServer(t, func(f *fakeConn) {
				f.send("+OK fake ready\r\n")
				f.expect("CAPA")
				f.send("-ERR no CAPA here\r\n")
				f.expect("USER ")
				f.send("+OK\r\n")
				f.expect("PASS ")
				f.send(tc.reply + "\r\n")
			})
			_, err := fakeClient(host, port, nil).Connect(context.Background())
			if !errIs(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.want == remote.ErrAuth && !strings.Contains(err.Error(), "check username") {
				t.Errorf("error %q has no hint to check the credentials", err)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestCommandErrClasses: an -ERR to RETR has its code's class, and the
// session stays usable after it.
func TestCommandErrClasses(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  error
	}{
		{"-ERR [SYS/TEMP] Internal error occurred.", remote.ErrUnavailable},
		{"-ERR [SYS/PERM] Message is damaged", remote.ErrUnavailable},
		{"-ERR [IN-USE] locked", remote.ErrUnavailable},
		{"-ERR no such message", remote.ErrRefused},
	} {
		t.Run(tc.reply, func(t *testing.T) {
			host, port := fakeServer(t, func(f *fakeConn) {
				loggedIn(f)
				f.expect("LIST 1")
				f.send("+OK 1 100\r\n")
				f.expect("RETR 1")
				f.send(tc.reply + "\r\n")
				f.expect("NOOP")
				f.send("+OK\r\n")
			})
			s := connect(t, fakeClient(host, port, nil))
			var buf bytes.Buffer
			_, err := s.Retrieve(context.Background(), 1, &buf)
			if !errIs(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(tc.reply, "-ERR ")) {
				t.Errorf("error %q does not carry the server's words", err)
			}
			if err := s.(*session).noop(context.Background()); err != nil {
				t.Errorf("the session after the -ERR: %v, want it usable", err)
			}
		})
	}
}

// TestResetDuringRetr: a TCP reset in the middle of a message is
// ErrUnavailable (EIO), with the reset kept in the chain for the log.
func TestResetDuringRetr(t *testing.T) {
	host, port := fakeServer(t, func(f *fakeConn) {
		loggedIn(f)
		f.expect("LIST 1")
		f.send("+OK 1 100000\r\n")
		f.expect("RETR 1")
		f.send("+OK\r\nSubject: cut\r\n\r\n" + strings.Repeat("a line of the body\r\n", 500))
		time.Sleep(50 * time.Millisecond)
		f.c.(*net.TCPConn).SetLinger(0)
		f.c.Close()
	})
	s := connect(t, fakeClient(host, port, nil))
	var buf bytes.Buffer
	_, err := s.Retrieve(context.Background(), 1, &buf)
	if !errIs(err, remote.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if !errors.Is(err, syscall.ECONNRESET) || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("error %q does not keep the reset", err)
	}
}
