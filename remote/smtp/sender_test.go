package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// newSender returns a Sender for srv, plain text unless opts says
// otherwise, closed in t.Cleanup.
func newSender(t *testing.T, srv *remotetest.SMTP, mutate func(*Options)) *Sender {
	t.Helper()
	o := &Options{Server: remote.Server{Account: "test", Host: srv.Host(), Port: srv.Port(), TLS: remote.TLSNone, CommandTimeout: 10 * time.Second}}
	if mutate != nil {
		mutate(o)
	}
	s := New(o)
	t.Cleanup(func() { s.Close() })
	return s
}

func env(to ...string) remote.Envelope {
	if len(to) == 0 {
		to = []string{"bob@example.org"}
	}
	return remote.Envelope{From: "alice@example.org", To: to}
}

const asciiMsg = "From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: Hello\r\n" +
	"Message-ID: <1@example.org>\r\n" +
	"\r\n" +
	"Hello Bob,\r\n" +
	".a line starting with a dot\r\n" +
	"\r\n" +
	"bye\r\n"

// utf8Msg is an 8-bit UTF-8 text/plain message with a long line, an
// 8-bit subject and an 8-bit display name.
var utf8Msg = "From: Alice <alice@example.org>\r\n" +
	"To: Jürgen Groß <bob@example.org>\r\n" +
	"Subject: Grüße aus Köln — ça va? 日本語のテキストはとても長いです、折り返しが必要になるかもしれません\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Grüße, ça va? 日本語\r\n" +
	"trailing space \r\n" +
	strings.Repeat("é", 700) + "\r\n" +
	"=not an escape=\r\n"

// binary is every byte value, several times.
var binary = func() []byte {
	var b []byte
	for i := 0; i < 3000; i++ {
		b = append(b, byte(i*7))
	}
	return b
}()

// multipartMsg has a multipart/alternative of 8-bit text and HTML, a
// binary attachment with an 8-bit file name, and an 8-bit message/rfc822.
var multipartMsg = "From: alice@example.org\r\n" +
	"To: bob@example.org\r\n" +
	"Subject: Pièce jointe\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer-b\"\r\n" +
	"\r\n" +
	"This is a multi-part message in MIME format.\r\n" +
	"--outer-b\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Voilà le fichier. Ünïcödé\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"<p>Voilà le fichier.</p>\r\n" +
	"--inner--\r\n" +
	"--outer-b\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Disposition: attachment; filename=\"résumé.bin\"\r\n" +
	"Content-Transfer-Encoding: binary\r\n" +
	"\r\n" +
	string(binary) + "\r\n" +
	"--outer-b\r\n" +
	"Content-Type: text/plain; charset=iso-8859-1\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"caf\xe9 en latin-1\r\n" +
	"--outer-b--\r\n"

func TestSendSuccess(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	if err := s.Send(t.Context(), env("bob@example.org", "carol@example.org"), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if string(m.Data) != asciiMsg {
		t.Errorf("got data %q, want %q", m.Data, asciiMsg)
	}
	if m.From != "alice@example.org" || strings.Join(m.To, ",") != "bob@example.org,carol@example.org" {
		t.Errorf("got envelope %s -> %v, want alice@example.org -> [bob@example.org carol@example.org]", m.From, m.To)
	}
}

func TestTemporaryThenSuccess(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	srv.FailNext(451, [3]int{4, 3, 0}, "Try again later", 1)
	err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg))
	if err == nil {
		t.Fatal("first Send: got nil error, want 451")
	}
	if errors.Is(err, remote.ErrPermanent) {
		t.Errorf("first Send: got permanent error %v, want temporary", err)
	}
	if !strings.Contains(err.Error(), "server said: 451 4.3.0 Try again later") {
		t.Errorf("got error %q, want the server's reply in it", err)
	}
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("got %d messages, want 1", n)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("got %d connections, want 1 (RSET and reuse after a refusal)", n)
	}
}

func TestPermanentFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(*remotetest.SMTP)
		want string
	}{
		{"data", func(s *remotetest.SMTP) { s.FailNext(554, [3]int{5, 7, 1}, "Message rejected as spam", 1) },
			"end of DATA: server said: 554 5.7.1 Message rejected as spam"},
		{"mail", func(s *remotetest.SMTP) { s.FailNextMail(553, [3]int{5, 7, 1}, "Sender address not owned by user", 1) },
			"MAIL FROM:<alice@example.org>: server said: 553 5.7.1 Sender address not owned by user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.NewSMTP(t, nil)
			s := newSender(t, srv, nil)
			tc.fail(srv)
			err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg))
			if !errors.Is(err, remote.ErrPermanent) {
				t.Fatalf("got %v, want a permanent error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("got error %q, want %q", err, tc.want)
			}
			// The connection is still good for the next message.
			if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
				t.Fatalf("next Send: %v", err)
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("got %d connections, want 1", n)
			}
		})
	}
}

func TestPartialRecipients(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	srv.RefuseRecipient("nobody@example.org", 550, [3]int{5, 1, 1}, "No such user")
	srv.RefuseRecipient("ghost@example.org", 550, [3]int{5, 1, 1}, "No such user")
	s := newSender(t, srv, nil)
	err := s.Send(t.Context(), env("bob@example.org", "nobody@example.org", "ghost@example.org"), strings.NewReader(asciiMsg))
	if !errors.Is(err, remote.ErrPermanent) {
		t.Fatalf("got %v, want a permanent error", err)
	}
	want := "2 of 3 recipients refused, nothing sent: <nobody@example.org>, <ghost@example.org>: 550 5.1.1 No such user"
	if err.Error() != want {
		t.Errorf("got error %q, want %q", err, want)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("got %d messages delivered, want 0: nothing is half-sent", n)
	}
	if err := s.Send(t.Context(), env("bob@example.org"), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("next Send: %v", err)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("got %d connections, want 1", n)
	}
}

func TestDropDuringData(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	srv.DropNextDuringData(1)
	big := asciiMsg + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 20000)
	err := s.Send(t.Context(), env(), strings.NewReader(big))
	if err == nil {
		t.Fatal("got nil error, want a network error")
	}
	if errors.Is(err, remote.ErrPermanent) || !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("got %v, want temporary ErrUnavailable", err)
	}
	if err := s.Send(t.Context(), env(), strings.NewReader(big)); err != nil {
		t.Fatalf("next Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || string(msgs[0].Data) != big {
		t.Errorf("got %d messages, want the one sent intact", len(msgs))
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("got %d connections, want 2", n)
	}
}

func TestServerDroppedIdleConnection(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	srv.SetDown(true) // drops the kept connection
	srv.SetDown(false)
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("Send after the server dropped the connection: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("got %d connections, want 2", n)
	}
}

func TestServerDown(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	srv.SetDown(true)
	s := newSender(t, srv, nil)
	err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg))
	if !errors.Is(err, remote.ErrUnavailable) || errors.Is(err, remote.ErrPermanent) {
		t.Fatalf("got %v, want temporary ErrUnavailable", err)
	}
}

func TestBurstUsesOneConnection(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	for i := range 10 {
		msg := strings.Replace(asciiMsg, "Subject: Hello", fmt.Sprintf("Subject: Hello %d", i), 1)
		if err := s.Send(t.Context(), env(), strings.NewReader(msg)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if n := len(srv.Messages()); n != 10 {
		t.Errorf("got %d messages, want 10", n)
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("got %d connections, want 1", n)
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- s.Send(t.Context(), env(), strings.NewReader(asciiMsg)) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if n := len(srv.Messages()); n != 8 {
		t.Errorf("got %d messages, want 8", n)
	}
}

func TestIdleTimeoutClosesConnection(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, func(o *Options) { o.IdleTimeout = 20 * time.Millisecond })
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// Poll (no fixed sleep) until the idle timer has quit the connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.sem <- struct{}{}
		open := s.sess != nil
		<-s.sem
		if !open {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("connection still open 10s after a 20ms idle timeout")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("Send after idle close: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("got %d connections, want 2", n)
	}
}

func TestEightBitMIMEAsIs(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	if err := s.Send(t.Context(), env(), strings.NewReader(utf8Msg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Messages()[0]
	if string(m.Data) != utf8Msg {
		t.Errorf("got data %q, want it unchanged", m.Data)
	}
	if !m.Body8BitMIME || m.UTF8 {
		t.Errorf("got BODY=8BITMIME %v, SMTPUTF8 %v; want true, false", m.Body8BitMIME, m.UTF8)
	}
}

func TestSevenBitServer(t *testing.T) {
	for name, msg := range map[string]string{"text": utf8Msg, "multipart": multipartMsg, "ascii": asciiMsg} {
		for _, seekable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/seekable=%v", name, seekable), func(t *testing.T) {
				srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{No8BitMIME: true, NoSMTPUTF8: true})
				s := newSender(t, srv, func(o *Options) { o.TempDir = t.TempDir() })
				var r io.Reader = strings.NewReader(msg) // seekable
				if !seekable {
					r = io.MultiReader(r)
				}
				if err := s.Send(t.Context(), env(), r); err != nil {
					t.Fatalf("Send: %v", err)
				}
				m := srv.Messages()[0]
				if m.Body8BitMIME {
					t.Error("got BODY=8BITMIME on a server that does not offer it")
				}
				if name == "ascii" && string(m.Data) != msg {
					t.Errorf("7-bit message changed: got %q, want %q", m.Data, msg)
				}
				checkSevenBit(t, m.Data)
				want, got := decode(t, []byte(msg)), decode(t, m.Data)
				if len(got) != len(want) {
					t.Fatalf("got %d parts %v, want %d %v", len(got), got, len(want), want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("part %d: got %.300q, want %.300q", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// checkSevenBit fails unless data is 7-bit with lines of at most 998
// bytes.
func checkSevenBit(t *testing.T, data []byte) {
	t.Helper()
	for i, b := range data {
		if b >= 0x80 || b == 0 {
			t.Fatalf("byte %#x at offset %d in %.400q", b, i, data[max(0, i-100):])
		}
	}
	for i, l := range bytes.Split(data, []byte("\r\n")) {
		if len(l) > 998 {
			t.Fatalf("line %d is %d bytes long", i+1, len(l))
		}
	}
}

// decode reads a message with go-message's mail reader and returns its
// decoded subject, addresses and every part's type, file name and content.
func decode(t *testing.T, data []byte) []string {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("mail.CreateReader: %v", err)
	}
	subject, err := mr.Header.Subject()
	if err != nil {
		t.Fatalf("Subject: %v", err)
	}
	to, err := mr.Header.AddressList("To")
	if err != nil {
		t.Fatalf("To: %v", err)
	}
	out := []string{"subject: " + subject, fmt.Sprintf("to: %v", to)}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		desc := ""
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			ct, params, _ := h.ContentType()
			desc = "inline " + ct + " " + params["charset"]
		case *mail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil {
				t.Fatalf("Filename: %v", err)
			}
			desc = "attachment " + name
		}
		out = append(out, desc+": "+string(body))
	}
	return out
}

func TestSevenBitMultipartDecodesBinary(t *testing.T) {
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{No8BitMIME: true})
	s := newSender(t, srv, nil)
	if err := s.Send(t.Context(), env(), strings.NewReader(multipartMsg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	mr, err := mail.CreateReader(bytes.NewReader(srv.Messages()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no attachment found: %v", err)
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			body, _ := io.ReadAll(p.Body)
			if name != "résumé.bin" || !bytes.Equal(body, binary) {
				t.Errorf("got attachment %q (%d bytes), want résumé.bin with the original %d bytes", name, len(body), len(binary))
			}
			return
		}
	}
}

func TestNonASCIIRecipient(t *testing.T) {
	const rcpt = "jürgen@bücher.example"
	t.Run("smtputf8", func(t *testing.T) {
		srv := remotetest.NewSMTP(t, nil)
		s := newSender(t, srv, nil)
		if err := s.Send(t.Context(), env(rcpt), strings.NewReader(asciiMsg)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := srv.Messages()[0]
		if !m.UTF8 || len(m.To) != 1 || m.To[0] != rcpt {
			t.Errorf("got SMTPUTF8 %v, To %v; want true, [%s]", m.UTF8, m.To, rcpt)
		}
	})
	t.Run("no smtputf8", func(t *testing.T) {
		srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{NoSMTPUTF8: true})
		s := newSender(t, srv, nil)
		err := s.Send(t.Context(), env("bob@example.org", rcpt), strings.NewReader(asciiMsg))
		if !errors.Is(err, remote.ErrPermanent) {
			t.Fatalf("got %v, want a permanent error", err)
		}
		if want := "server lacks SMTPUTF8, cannot send to non-ASCII address " + rcpt; err.Error() != want {
			t.Errorf("got error %q, want %q", err, want)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("got %d messages, want 0", n)
		}
	})
	t.Run("in header, no smtputf8", func(t *testing.T) {
		srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{NoSMTPUTF8: true})
		s := newSender(t, srv, nil)
		msg := strings.Replace(asciiMsg, "To: Bob <bob@example.org>", "To: <"+rcpt+">", 1)
		err := s.Send(t.Context(), env(), strings.NewReader(msg))
		if !errors.Is(err, remote.ErrPermanent) || !strings.Contains(err.Error(), rcpt) {
			t.Fatalf("got %v, want a permanent error naming %s", err, rcpt)
		}
	})
}

func TestAuth(t *testing.T) {
	const secret = "s3cret-Pa55"
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{Username: "alice", Password: secret})
	for _, tc := range []struct {
		name, auth, password string
		wantErr              bool
	}{
		{"plain", "", secret, false},
		{"login", AuthLogin, secret, false},
		{"wrong password", "", "wrong-" + secret, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSender(t, srv, func(o *Options) {
				o.Username, o.Auth = "alice", tc.auth
				o.Password = func(context.Context) (string, error) { return tc.password, nil }
			})
			err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg))
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				return
			}
			if !errors.Is(err, remote.ErrPermanent) || !errors.Is(err, remote.ErrAuth) {
				t.Fatalf("got %v, want permanent ErrAuth", err)
			}
			if !strings.Contains(err.Error(), "535 5.7.8") || strings.Contains(err.Error(), secret) {
				t.Errorf("got error %q, want the 535 reply and no secret", err)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		s := newSender(t, srv, nil)
		err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg))
		if !errors.Is(err, remote.ErrPermanent) || !strings.Contains(err.Error(), "530 5.7.0") {
			t.Fatalf("got %v, want permanent 530", err)
		}
	})
}

func TestReplyErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		code             int
		auth             bool
		perm, isAuth, rf bool
	}{
		{535, true, true, true, true},
		{454, true, false, false, true},
		{550, false, true, false, true},
		{421, false, false, false, true},
	} {
		err := error(&ReplyError{Op: "x", Code: tc.code, Auth: tc.auth})
		if got := errors.Is(err, remote.ErrPermanent); got != tc.perm {
			t.Errorf("%d: Is(ErrPermanent) = %v, want %v", tc.code, got, tc.perm)
		}
		if got := errors.Is(err, remote.ErrAuth); got != tc.isAuth {
			t.Errorf("%d: Is(ErrAuth) = %v, want %v", tc.code, got, tc.isAuth)
		}
		if got := errors.Is(err, remote.ErrRefused); got != tc.rf {
			t.Errorf("%d: Is(ErrRefused) = %v, want %v", tc.code, got, tc.rf)
		}
	}
}

func TestTLS(t *testing.T) {
	ca, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	other, err := remotetest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		server remotetest.TLSMode
		client remote.TLSMode
	}{
		{"starttls", remotetest.TLSStartTLS, remote.TLSStartTLS},
		{"implicit", remotetest.TLSImplicit, remote.TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{TLS: tc.server, CA: ca, Username: "alice", Password: "pw"})
			auth := func(o *Options) {
				o.TLS = tc.client
				o.Username = "alice"
				o.Password = func(context.Context) (string, error) { return "pw", nil }
			}
			s := newSender(t, srv, func(o *Options) { auth(o); o.TLSConfig = &tls.Config{RootCAs: ca.Pool} })
			if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			ext, err := s.Check(t.Context())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			joined := strings.Join(ext, "|")
			if !strings.Contains(joined, "8BITMIME") || !strings.Contains(joined, "AUTH PLAIN LOGIN") || strings.Contains(joined, "STARTTLS") {
				t.Errorf("got extensions %v, want those offered after TLS (8BITMIME, AUTH PLAIN LOGIN, no STARTTLS)", ext)
			}

			bad := newSender(t, srv, func(o *Options) { auth(o); o.TLSConfig = &tls.Config{RootCAs: other.Pool} })
			err = bad.Send(t.Context(), env(), strings.NewReader(asciiMsg))
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Fatalf("got %v, want a certificate error (x509.UnknownAuthorityError)", err)
			}
			if !errors.Is(err, remote.ErrUnavailable) || errors.Is(err, remote.ErrPermanent) {
				t.Errorf("got %v, want temporary ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("got %q, want it to say certificate", err)
			}
		})
	}
}

func TestStartTLSMissing(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil) // plain text only
	s := newSender(t, srv, func(o *Options) { o.TLS = remote.TLSStartTLS })
	err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("got %v, want an error about STARTTLS", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("got %d messages sent in plain text, want 0", n)
	}
}

func TestCancelSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and never say a word
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	s := New(&Options{Server: remote.Server{Host: "127.0.0.1", Port: addr.Port, TLS: remote.TLSNone}})
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, env(), strings.NewReader(asciiMsg)) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || errors.Is(err, remote.ErrPermanent) {
			t.Errorf("got %v, want context.Canceled, temporary", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Send still blocked 30s after ctx was cancelled")
	}
}

func TestDeadlineStalledData(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	srv.StallNextData(1)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, env(), strings.NewReader(asciiMsg))
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, remote.ErrPermanent) {
		t.Fatalf("got %v, want context.DeadlineExceeded, temporary", err)
	}
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("next Send: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("got %d connections, want 2 (the stalled one dropped)", n)
	}
}

func TestDeliverHook(t *testing.T) {
	var got []byte
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{Deliver: func(from string, to []string, data []byte) error {
		got = data
		return nil
	}})
	s := newSender(t, srv, nil)
	if err := s.Send(t.Context(), env(), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if string(got) != asciiMsg {
		t.Errorf("Deliver got %q, want %q", got, asciiMsg)
	}
}

func TestBadEnvelope(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	s := newSender(t, srv, nil)
	for _, e := range []remote.Envelope{
		{From: "alice@example.org"},
		{From: "alice@example.org", To: []string{"bob@example.org>\r\nRCPT TO:<evil@example.org"}},
	} {
		if err := s.Send(t.Context(), e, strings.NewReader(asciiMsg)); !errors.Is(err, remote.ErrPermanent) {
			t.Errorf("envelope %q: got %v, want a permanent error", e, err)
		}
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("got %d connections, want 0: a bad envelope fails before connecting", n)
	}
}

func TestFoldField(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"Subject", "short", "Subject: short\r\n"},
		{"Subject", strings.Repeat("a", 70) + " " + strings.Repeat("b", 70),
			"Subject: " + strings.Repeat("a", 70) + "\r\n " + strings.Repeat("b", 70) + "\r\n"},
		{"To", "a@b, c@d", "To: a@b, c@d\r\n"},
	} {
		if got := foldField(tc.key, tc.value); got != tc.want {
			t.Errorf("foldField(%q, %q) = %q, want %q", tc.key, tc.value, got, tc.want)
		}
	}
}

func TestSevenBitField(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"Subject", "Grüße", "=?utf-8?q?Gr=C3=BC=C3=9Fe?="},
		{"Subject", "caf\xe9", "=?unknown-8bit?q?caf=E9?="},
		{"To", "Jürgen <j@example.org>, bob@example.org", "=?utf-8?q?J=C3=BCrgen?= <j@example.org>, <bob@example.org>"},
		{"Content-Disposition", `attachment; filename="é.pdf"`, "attachment; filename*=utf-8''%C3%A9.pdf"},
	} {
		got, err := sevenBitField(tc.key, tc.value)
		if err != nil || got != tc.want {
			t.Errorf("sevenBitField(%q, %q) = %q, %v; want %q", tc.key, tc.value, got, err, tc.want)
		}
	}
	if _, err := sevenBitField("To", "<jürgen@example.org>"); err == nil {
		t.Error("sevenBitField with a non-ASCII address: got nil error, want one")
	}
}
