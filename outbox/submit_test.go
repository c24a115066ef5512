package outbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

func TestSubmit(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		sub      Submission
		account  string
		from     string
		to       []string
		contains []string
	}{
		{
			name: "extract", msg: plainMsg, sub: Submission{Extract: true},
			account: "work", from: "me@work.example",
			to: []string{"ann@example.org", "bob@example.org", "carl@example.org", "secret@example.org", "hidden@example.org"},
		},
		{
			name: "explicit recipients only", msg: plainMsg, sub: Submission{Recipients: []string{"zed@example.org", "Ann <ann@example.org>"}},
			account: "work", from: "me@work.example", to: []string{"zed@example.org", "ann@example.org"},
		},
		{
			name: "extract plus arguments", msg: "From: me@home.example\nTo: a@example.org\n\nhi\n",
			sub:     Submission{Extract: true, Recipients: []string{"b@example.org"}},
			account: "home", from: "me@home.example", to: []string{"a@example.org", "b@example.org"},
		},
		{
			name: "-f chooses the account and fills From", msg: "To: a@example.org\n\nhi\n",
			sub:     Submission{Extract: true, From: "me@alias.example"},
			account: "home", from: "me@alias.example", to: []string{"a@example.org"},
			contains: []string{"From: me@alias.example\n", "@alias.example>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				ent, err := e.ob.Submit(context.Background(), strings.NewReader(tt.msg), &tt.sub)
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
				if ent.Name != "sendmail.eml" || ent.State != StateQueued || ent.Account != tt.account || ent.From != tt.from || !slices.Equal(ent.Recipients, tt.to) {
					t.Errorf("got %+v, want sendmail.eml queued for %s from %s to %v", ent, tt.account, tt.from, tt.to)
				}
				e.start()
				synctest.Wait()
				sender := e.work
				if tt.account == "home" {
					sender = e.home
				}
				got := sender.got()
				if len(got) != 1 {
					t.Fatalf("got %d messages sent, want 1", len(got))
				}
				if got[0].env.From != tt.from || !slices.Equal(got[0].env.To, tt.to) {
					t.Errorf("got envelope %+v, want from %s to %v", got[0].env, tt.from, tt.to)
				}
				hdr, _, _ := strings.Cut(got[0].data, "\n\n")
				if strings.Contains(hdr, "Bcc") || !strings.Contains(hdr, "Message-ID: <") || !strings.Contains(hdr, "Date: ") {
					t.Errorf("got header\n%s\nwant no Bcc, a Date and a Message-ID", hdr)
				}
				for _, s := range tt.contains {
					if !strings.Contains(got[0].data, s) {
						t.Errorf("got message\n%s\nwant it to contain %q", got[0].data, s)
					}
				}
				e.stop()
			})
		})
	}
}

func TestSubmitInvalid(t *testing.T) {
	tests := []struct {
		name, msg string
		sub       Submission
		reason    string
	}{
		{"no recipients", "From: me@work.example\nSubject: x\n\nhi\n", Submission{Extract: true}, "no recipients"},
		{"no -t and no arguments", plainMsg, Submission{}, "no recipients"},
		{"not a message", "hello there\n", Submission{Extract: true}, "is not a header field"},
		{"empty", "", Submission{Extract: true}, "empty"},
		{"unknown From", "From: eve@evil.example\nTo: a@example.org\n\nhi\n", Submission{Extract: true}, "not an address of any account"},
		{"unknown -f", "To: a@example.org\n\nhi\n", Submission{Extract: true, From: "eve@evil.example"}, "envelope sender (-f) eve@evil.example"},
		{"bad recipient", "To: a@example.org\n\nhi\n", Submission{Recipients: []string{"not an address"}}, "recipient"},
		{"received", "Received: from x\nTo: a@example.org\n\nhi\n", Submission{Extract: true}, "Received:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.ob.Submit(context.Background(), strings.NewReader(tt.msg), &tt.sub)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("got %v, want ErrInvalid saying %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("got a reason of several lines: %q", err)
			}
			if q, f := e.ob.Queued(), e.ob.Failed(); len(q)+len(f) != 0 {
				t.Errorf("got queued %v, failed %v, want nothing kept", names(q), names(f))
			}
			if left := e.spoolEntries("tmp"); len(left) != 0 {
				t.Errorf("got tmp/ %v, want empty", left)
			}
		})
	}
}

// TestSubmitSurvivesRestart checks that a submitted message is in the
// spool with its explicit envelope when Submit returns: a restart (a crash
// after sendmail's success) sends it to the same recipients.
func TestSubmitSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.ob.Submit(context.Background(), strings.NewReader("To: a@example.org\nBcc: b@example.org\n\nhi\n"), &Submission{Recipients: []string{"c@example.org"}}); err != nil {
			t.Fatal(err)
		}
		ids := e.spoolEntries("queue")
		if len(ids) != 1 {
			t.Fatalf("got queue/ %v, want one message", ids)
		}
		for _, f := range []string{messageFile, stateFile} {
			if _, err := os.Stat(filepath.Join(e.dir, "queue", ids[0], f)); err != nil {
				t.Errorf("got %v, want %s in the queue", err, f)
			}
		}
		e.reopen()
		e.start()
		synctest.Wait()
		got := e.work.got()
		if len(got) != 1 || !slices.Equal(got[0].env.To, []string{"c@example.org"}) {
			t.Fatalf("got %+v, want one message to c@example.org only", got)
		}
		e.stop()
	})
}

// TestSubmitNames checks that submitted messages take unique names.
func TestSubmitNames(t *testing.T) {
	e := newEnv(t)
	var got []string
	for range 3 {
		ent, err := e.ob.Submit(context.Background(), strings.NewReader("To: a@example.org\n\nhi\n"), &Submission{Extract: true})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ent.Name)
	}
	if want := []string{"sendmail.eml", "sendmail-2.eml", "sendmail-3.eml"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
