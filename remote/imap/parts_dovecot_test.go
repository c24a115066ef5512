package imap

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/internal/mimeparts/mimepartstest"
	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// globalMessage has a message/global part (RFC 6532), which Dovecot
// describes as a basic part.
const globalMessage = "Subject: global\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
	"Content-Type: message/global\r\n\r\nSubject: g\r\n\r\nx\r\n--b--\r\n"

// TestPartsDovecot checks Structure and FetchPart against a real Dovecot
// (skipped without it unless MAILFS_INTEROP=1) for every message of the
// corpus, with no normalisation: Structure equals mimeparts.Parse of the
// message as Dovecot serves it, each part decodes to what go-message
// decodes (checkParts). Reading the text of a message with a 5 MB
// attachment sends one BODY.PEEK of the text's section and costs a few
// hundred bytes; no flag changes.
func TestPartsDovecot(t *testing.T) {
	d := interop.StartDovecot(t, nil) // skips when Dovecot is missing
	var user, pass string
	for u, p := range d.Users {
		user, pass = u, p
	}
	corpus := mimepartstest.Corpus(t)
	for _, smp := range corpus {
		d.Deliver(t, user, "INBOX", smp.Raw) // as written, LF: Dovecot serves CRLF
	}
	large := mimepartstest.Large(largeText, 5<<20)
	d.Deliver(t, user, "INBOX", large)
	d.Deliver(t, user, "INBOX", []byte(globalMessage))
	tap := remotetest.NewTap(t, d.IMAPAddr())
	s := New(&Options{MaxConns: 2, Server: remote.Server{
		Host: tap.Host(), Port: tap.Port(), TLS: remote.TLSNone, Username: user, Account: "dovecot",
		Password:    func(context.Context) (string, error) { return pass, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	t.Cleanup(func() { s.Close() })
	uv := uidValidity(t, s, "INBOX")

	held := d.Messages(t, user, "INBOX") // by UID, with CRLF, read by doveadm
	before := d.Flags(t, user, "INBOX")
	for i, smp := range corpus {
		uid := uint32(i + 1)
		t.Run(smp.Name, func(t *testing.T) {
			msg := held[uid]
			if !reflect.DeepEqual(msg, smp.CRLF()) {
				t.Fatalf("Dovecot holds UID %d as %q, want the sample %s with CRLF", uid, clipped(msg), smp.Name)
			}
			checkParts(t, s, "INBOX", uv, uid, msg, nil)
		})
	}
	t.Run("missing part", func(t *testing.T) {
		var buf bytes.Buffer
		if n, err := s.FetchPart(context.Background(), "INBOX", uv, 1, "7.3", &buf); err != nil || n != 0 || buf.Len() != 0 {
			t.Errorf("FetchPart of a part the message does not have: got %d bytes %q, %v; want none", n, buf.Bytes(), err)
		}
	})
	t.Run("large", func(t *testing.T) {
		checkLarge(t, s, tap, uv, uint32(len(corpus)+1), len(large))
	})
	t.Run("message/global", func(t *testing.T) {
		// go-imap v2.0.0-beta.8 reads a message/global part as it reads
		// message/rfc822 (an envelope, a body structure and a line
		// count after the size), but Dovecot 2.3 describes it as a
		// basic part: the FETCH response cannot be parsed and the
		// connection dies. Structure fails with ErrUnavailable; the
		// Store goes on working. (Parse of the same message works.)
		ctx := context.Background()
		uid := uint32(len(corpus) + 2)
		_, err := s.Structure(ctx, "INBOX", uv, uid)
		if !errors.Is(err, remote.ErrUnavailable) {
			t.Errorf("Structure of a message with a message/global part: got %v, want ErrUnavailable (go-imap cannot read Dovecot's BODYSTRUCTURE); if go-imap was fixed, compare it with mimeparts.Parse", err)
		}
		if _, err := s.Structure(ctx, "INBOX", uv, 1); err != nil {
			t.Errorf("Structure after that: %v", err)
		}
		var buf bytes.Buffer
		if _, err := s.FetchPart(ctx, "INBOX", uv, uid, "1", &buf); err != nil || !strings.HasPrefix(buf.String(), "Subject: g\r\n") {
			t.Errorf("FetchPart of the message/global part: got %q, %v", buf.String(), err)
		}
	})
	if after := d.Flags(t, user, "INBOX"); !reflect.DeepEqual(after, before) {
		t.Errorf("flags after reading parts: got %v, want %v", after, before)
	}
}
