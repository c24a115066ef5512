package pop3

import (
	"bytes"
	"context"
	"crypto/tls"
	"sort"
	"strings"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/remote"
)

// TestDovecotInterop downloads tricky messages from a real Dovecot pop3d
// over STLS and implicit TLS and compares them with what Dovecot holds.
func TestDovecotInterop(t *testing.T) {
	d := interop.StartDovecot(t, nil) // skips when Dovecot is missing
	var user, pass string
	for u, p := range d.Users {
		user, pass = u, p
		break
	}
	msgs := [][]byte{
		[]byte("Subject: dots\r\nMessage-ID: <dots@x>\r\n\r\n.one dot\r\n..two dots\r\n.\r\nafter a dot line\r\n"),
		[]byte("Subject: long line\r\n\r\n" + strings.Repeat("L", 1<<20) + "\r\n"),
		[]byte("Subject: 8bit\r\n\r\ncaf\xc3\xa9 \x80\xff\r\n"),
		[]byte("Subject: last line is a dot\r\n\r\nbody\r\n.\r\n"),
		[]byte("Subject: no final newline\r\n\r\nno final newline"),
	}
	for _, m := range msgs {
		d.Deliver(t, user, "INBOX", m)
	}
	held := d.Messages(t, user, "INBOX")
	var uids []uint32
	for uid := range held {
		uids = append(uids, uid)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })

	for _, tc := range []struct {
		name string
		port int
		mode remote.TLSMode
	}{
		{"STLS", d.POP3Port, remote.TLSStartTLS},
		{"implicit TLS", d.POP3SPort, remote.TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(&Options{Server: remote.Server{
				Account:        "dovecot",
				Host:           d.Host,
				Port:           tc.port,
				TLS:            tc.mode,
				TLSConfig:      &tls.Config{RootCAs: d.CA.Pool},
				Username:       user,
				Password:       func(context.Context) (string, error) { return pass, nil },
				DialTimeout:    10 * time.Second,
				CommandTimeout: 30 * time.Second,
			}})
			caps, count, _, err := c.Check(context.Background())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if count != len(msgs) || !capLine(caps, "UIDL") {
				t.Fatalf("Check: %d messages, capabilities %q; want %d and UIDL", count, caps, len(msgs))
			}
			s := connect(t, c)
			list, err := s.List(context.Background())
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(list) != len(uids) {
				t.Fatalf("List: %d messages, Dovecot holds %d", len(list), len(uids))
			}
			for i, m := range list {
				want := held[uids[i]]
				var buf bytes.Buffer
				n, err := s.Retrieve(context.Background(), m.Number, &buf)
				if err != nil {
					t.Fatalf("Retrieve %d: %v", m.Number, err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("message %d (%s): got %d bytes %q, Dovecot holds %d bytes %q",
						m.Number, m.UID, n, clip(buf.Bytes(), 100), len(want), clip(want, 100))
				}
				if m.Size != n {
					t.Errorf("message %d: LIST size %d, retrieved %d bytes", m.Number, m.Size, n)
				}
			}
			if err := s.Quit(context.Background()); err != nil {
				t.Fatalf("Quit: %v", err)
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		c := New(&Options{Server: remote.Server{
			Host: d.Host, Port: d.POP3SPort, TLS: remote.TLSImplicit,
			TLSConfig: &tls.Config{RootCAs: d.CA.Pool},
			Username:  user,
			Password:  func(context.Context) (string, error) { return "not-" + pass, nil },
		}})
		_, err := c.Connect(context.Background())
		if !errIs(err, remote.ErrAuth) || strings.Contains(err.Error(), "not-"+pass) {
			t.Fatalf("got %v, want ErrAuth without the password", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		c := New(&Options{Server: remote.Server{
			Host: d.Host, Port: d.POP3SPort, TLS: remote.TLSImplicit,
			TLSConfig: &tls.Config{RootCAs: d.CA.Pool},
			Username:  user,
			Password:  func(context.Context) (string, error) { return pass, nil },
		}})
		s := connect(t, c)
		if err := s.Delete(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Quit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := len(d.Messages(t, user, "INBOX")); got != len(msgs)-1 {
			t.Fatalf("after DELE + QUIT Dovecot holds %d messages, want %d", got, len(msgs)-1)
		}
	})
}
