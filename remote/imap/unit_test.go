package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
)

func TestOptionsDefaults(t *testing.T) {
	o := (&Options{Server: remote.Server{Host: "h", Username: "u"}}).withDefaults()
	if o.Port != 993 || o.Auth != "plain" || o.MaxConns != 4 || o.DialTimeout != 15*time.Second ||
		o.CommandTimeout != 60*time.Second || o.Logger == nil || o.Account != "u@h" {
		t.Errorf("got %+v, want the documented defaults", o)
	}
	if p := (&Options{Server: remote.Server{TLS: remote.TLSStartTLS}}).withDefaults().Port; p != 143 {
		t.Errorf("STARTTLS port: got %d, want 143", p)
	}
}

// listingServer answers EXAMINE and a UID FETCH with the given FETCH lines.
func listingServer(t *testing.T, fetchLines ...string) *Store {
	t.Helper()
	f := newFakeServer(t, "* OK fake ready", loginHandler(func(w *bufio.Writer, tag, cmd string) {
		switch {
		case strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* OK [UIDVALIDITY 42] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case strings.HasPrefix(cmd, "UID FETCH"):
			for _, l := range fetchLines {
				fmt.Fprintf(w, "%s\r\n", l)
			}
			fmt.Fprintf(w, "%s OK done\r\n", tag)
		default:
			fmt.Fprintf(w, "%s BAD unexpected\r\n", tag)
		}
	}))
	s := New(&Options{Server: remote.Server{
		Host: f.host(), Port: f.port(), TLS: remote.TLSNone, Username: "u", Account: "test",
		Password: func(context.Context) (string, error) { return "p", nil },
	}})
	t.Cleanup(func() { s.Close() })
	return s
}

func fetchLine(seq int, uid uint32, uidLast bool) string {
	h := fmt.Sprintf("Subject: n%d\r\nMessage-ID: <%d@x>\r\n\r\n", uid, uid)
	attrs := fmt.Sprintf(`RFC822.SIZE 100 INTERNALDATE "20-Nov-2026 09:15:00 +0900" FLAGS (\Seen) BODY[HEADER.FIELDS (SUBJECT MESSAGE-ID)] {%d}`+"\r\n%s", len(h), h)
	if uidLast {
		return fmt.Sprintf("* %d FETCH (%s UID %d)", seq, attrs, uid)
	}
	return fmt.Sprintf("* %d FETCH (UID %d %s)", seq, uid, attrs)
}

func TestMessagesUIDAfterHeader(t *testing.T) {
	s := listingServer(t, fetchLine(1, 3, true), fetchLine(2, 5, false), fetchLine(3, 8, true))
	var got []string
	err := s.Messages(context.Background(), "INBOX", 42, 1, func(mi remote.MessageInfo) error {
		got = append(got, fmt.Sprintf("%d %s %s %s", mi.UID, mi.Subject, mi.MessageID, mi.InternalDate.Format(time.RFC3339)))
		return nil
	})
	want := []string{
		"3 n3 3@x 2026-11-20T09:15:00+09:00",
		"5 n5 5@x 2026-11-20T09:15:00+09:00",
		"8 n8 8@x 2026-11-20T09:15:00+09:00",
	}
	if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

// TestMessagesOutOfOrder: a listing out of UID order breaks the protocol:
// the server's trouble (ErrUnavailable, EIO), not a refusal (EACCES).
func TestMessagesOutOfOrder(t *testing.T) {
	s := listingServer(t, fetchLine(1, 5, false), fetchLine(2, 3, false))
	err := s.Messages(context.Background(), "INBOX", 42, 1, func(remote.MessageInfo) error { return nil })
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("got %v, want ErrUnavailable about the order", err)
	}
}
