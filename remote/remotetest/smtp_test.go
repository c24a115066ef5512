package remotetest_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"mailfs/remote/remotetest"
)

// TestSMTPServer drives the test server with go-smtp's client: the
// extensions it advertises, a delivered message and an injected fault.
func TestSMTPServer(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       remotetest.SMTPOptions
		want8, wU8 bool
	}{
		{"default", remotetest.SMTPOptions{}, true, true},
		{"7bit", remotetest.SMTPOptions{No8BitMIME: true, NoSMTPUTF8: true}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := remotetest.NewSMTP(t, &tc.opts)
			c, err := smtp.Dial(srv.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got, _ := c.Extension("8BITMIME"); got != tc.want8 {
				t.Errorf("8BITMIME offered: got %v, want %v", got, tc.want8)
			}
			if got, _ := c.Extension("SMTPUTF8"); got != tc.wU8 {
				t.Errorf("SMTPUTF8 offered: got %v, want %v", got, tc.wU8)
			}
			const msg = "Subject: hi\r\n\r\n.dot\r\nbody\r\n"
			if err := c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(msg)); err != nil {
				t.Fatalf("SendMail: %v", err)
			}
			got := srv.Messages()
			if len(got) != 1 || string(got[0].Data) != msg || got[0].Body8BitMIME != tc.want8 {
				t.Fatalf("got %+v, want one message %q with BODY=8BITMIME %v", got, msg, tc.want8)
			}
			srv.FailNext(550, [3]int{5, 7, 1}, "no", 1)
			err = c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader(msg))
			if err == nil || !strings.Contains(err.Error(), "550") {
				t.Errorf("got %v, want 550", err)
			}
			if n := srv.Connections(); n != 1 {
				t.Errorf("got %d connections, want 1", n)
			}
		})
	}
}
