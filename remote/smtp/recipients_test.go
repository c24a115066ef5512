package smtp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// addrs returns n addresses prefix01@example.org, prefix02@…
func addrs(prefix string, n int) []string {
	var a []string
	for i := 1; i <= n; i++ {
		a = append(a, fmt.Sprintf("%s%02d@example.org", prefix, i))
	}
	return a
}

// TestRefusedThenClosed is Postfix's smtpd_hard_error_limit: 20 recipients
// refused with 550, then 421 and a closed connection. The message can never
// reach them: a permanent *RecipientsError listing the 20 (without 421 it
// would be temporary and retried forever), nothing sent, and the next
// message gets a new connection.
func TestRefusedThenClosed(t *testing.T) {
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{HardErrorLimit: 20})
	to := addrs("ghost", 25)
	for _, a := range to {
		srv.RefuseRecipient(a, 550, [3]int{5, 1, 1}, "<"+a+">: Recipient address rejected: User unknown in virtual mailbox table")
	}
	s := newSender(t, srv, nil)
	err := s.Send(t.Context(), env(to...), strings.NewReader(asciiMsg))
	if !errors.Is(err, remote.ErrPermanent) {
		t.Fatalf("got %v, want a permanent error", err)
	}
	var re *RecipientsError
	if !errors.As(err, &re) || len(re.Refused) != 20 || re.Untried != 5 || re.Total != 25 {
		t.Fatalf("got %#v, want a RecipientsError with 20 refused, 5 untried of 25", err)
	}
	var listed []string
	for _, a := range to[:20] {
		listed = append(listed, "<"+a+">")
	}
	want := "20 of 25 recipients refused, nothing sent: " + strings.Join(listed, ", ") +
		": 550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table; " +
		"5 more not tried: RCPT TO:<ghost21@example.org>: server said: 421 4.7.0 127.0.0.1 Error: too many errors"
	if err.Error() != want {
		t.Errorf("got error\n%q\nwant\n%q", err, want)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("got %d messages delivered, want 0", n)
	}
	if err := s.Send(t.Context(), env("bob@example.org"), strings.NewReader(asciiMsg)); err != nil {
		t.Fatalf("next Send: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Errorf("got %d connections, want 2 (the closed one is not reused)", n)
	}
}

// TestTemporaryCloseIsTemporary: a 421 with no recipient refused before is
// the server's trouble, not the message's: temporary.
func TestTemporaryCloseIsTemporary(t *testing.T) {
	srv := remotetest.NewSMTP(t, nil)
	srv.RefuseRecipient("bob@example.org", 421, [3]int{4, 3, 2}, "Shutting down")
	s := newSender(t, srv, nil)
	err := s.Send(t.Context(), env("carol@example.org", "bob@example.org"), strings.NewReader(asciiMsg))
	if err == nil || errors.Is(err, remote.ErrPermanent) {
		t.Fatalf("got %v, want a temporary error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("got %d messages delivered, want 0", n)
	}
}

// TestRecipientLimitSplits: a server taking 5 recipients per transaction
// (452 4.5.3 beyond) gets 12 recipients in three transactions on one
// connection, each with the whole message, each reported as delivered.
// Both a seekable reader and one that is not (spooled before the first
// DATA) work, as does the 7-bit path.
func TestRecipientLimitSplits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seekable bool
		no8bit   bool
	}{
		{"stream", false, false},
		{"file", true, false},
		{"7bit-stream", false, true},
		{"7bit-file", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{MaxRecipients: 5, No8BitMIME: tc.no8bit})
			s := newSender(t, srv, nil)
			to := addrs("r", 12)
			var msg io.Reader
			if tc.seekable {
				f, err := os.CreateTemp(t.TempDir(), "msg")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				f.WriteString(utf8Msg)
				f.Seek(0, 0)
				msg = f
			} else {
				msg = struct{ io.Reader }{strings.NewReader(utf8Msg)} // not seekable
			}
			var reported [][]string
			err := s.SendProgress(t.Context(), env(to...), msg, func(got []string) { reported = append(reported, slices.Clone(got)) })
			if err != nil {
				t.Fatalf("SendProgress: %v", err)
			}
			want := [][]string{to[:5], to[5:10], to[10:]}
			got := srv.Messages()
			if len(got) != 3 {
				t.Fatalf("got %d transactions, want 3", len(got))
			}
			for i, m := range got {
				if !slices.Equal(m.To, want[i]) {
					t.Errorf("transaction %d: got recipients %v, want %v", i, m.To, want[i])
				}
				if !tc.no8bit && string(m.Data) != utf8Msg {
					t.Errorf("transaction %d: message differs from what was sent", i)
				}
				if string(m.Data) != string(got[0].Data) {
					t.Errorf("transaction %d: message differs from the first transaction's", i)
				}
			}
			if !slices.EqualFunc(reported, want, slices.Equal) {
				t.Errorf("reported %v, want %v", reported, want)
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("got %d connections, want 1", n)
			}
		})
	}
}

// TestRecipientLimitThenTemporary: the second transaction of a split
// message fails temporarily. The first was reported; the error is
// temporary and, for Send (no report), says how many already have it.
func TestRecipientLimitThenTemporary(t *testing.T) {
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{MaxRecipients: 2})
	srv.RefuseRecipient("r04@example.org", 450, [3]int{4, 2, 0}, "Mailbox busy")
	s := newSender(t, srv, nil)
	to := addrs("r", 5)
	var reported []string
	err := s.SendProgress(t.Context(), env(to...), strings.NewReader(asciiMsg), func(got []string) { reported = append(reported, got...) })
	if err == nil || errors.Is(err, remote.ErrPermanent) {
		t.Fatalf("got %v, want a temporary error", err)
	}
	if !slices.Equal(reported, to[:2]) {
		t.Errorf("reported %v, want %v", reported, to[:2])
	}
	err = s.Send(t.Context(), env(to...), strings.NewReader(asciiMsg))
	if err == nil || !strings.Contains(err.Error(), "(2 of 5 recipients got the message in an earlier transaction)") {
		t.Errorf("Send: got %v, want a temporary error saying 2 of 5 got it", err)
	}
}

// TestMixedRecipientsAcrossTransactions: refused recipients in a message
// split by the server's limit. Nothing is sent in or after a transaction
// holding a refused recipient; the rest are still tried so every refusal
// is listed; transactions complete before it stay delivered and reported.
func TestMixedRecipientsAcrossTransactions(t *testing.T) {
	srv := remotetest.NewSMTP(t, &remotetest.SMTPOptions{MaxRecipients: 3})
	to := addrs("r", 10)
	srv.RefuseRecipient(to[4], 550, [3]int{5, 1, 1}, "No such user")
	srv.RefuseRecipient(to[8], 553, [3]int{5, 1, 3}, "Bad address syntax")
	s := newSender(t, srv, nil)
	var reported []string
	err := s.SendProgress(t.Context(), env(to...), strings.NewReader(asciiMsg), func(got []string) { reported = append(reported, got...) })
	want := "2 of 7 recipients refused, nothing sent: <r05@example.org>: 550 5.1.1 No such user; <r09@example.org>: 553 5.1.3 Bad address syntax"
	if !errors.Is(err, remote.ErrPermanent) || err.Error() != want {
		t.Fatalf("got %v, want permanent %q", err, want)
	}
	if !slices.Equal(reported, to[:3]) {
		t.Errorf("reported %v, want %v", reported, to[:3])
	}
	if got := srv.Messages(); len(got) != 1 || !slices.Equal(got[0].To, to[:3]) {
		t.Errorf("got transactions %v, want one to %v", got, to[:3])
	}
	// Without a report the error says who has it.
	err = s.Send(t.Context(), env(to...), strings.NewReader(asciiMsg))
	want = "2 of 7 recipients refused, nothing sent to these 7 (the other 3 got it in an earlier transaction): "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Send: got %v, want %q…", err, want)
	}
}
