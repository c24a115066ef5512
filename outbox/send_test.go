package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/mail"

	"mailfs/remote"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func statMode(p string) (os.FileMode, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}

const plainMsg = "From: Me <me@work.example>\n" +
	"To: Ann <ann@example.org>, bob@example.org\n" +
	"Cc: carl@example.org\n" +
	"Bcc: secret@example.org,\n" +
	" hidden@example.org\n" +
	"Subject: Hello\n" +
	"X-Keep:   odd   spacing\n" +
	"\n" +
	"Body line 1\n" +
	"Bcc: this is body, not header\n"

func TestSendPreparesMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		name := e.mustCommit("hello.eml", crlf(plainMsg))
		if name != "hello.eml" {
			t.Errorf("name = %q, want hello.eml", name)
		}
		// Queued and readable before Run.
		q := e.ob.Queued()
		if len(q) != 1 || q[0].Name != "hello.eml" || q[0].Account != "work" || q[0].State != StateQueued {
			t.Fatalf("Queued() = %+v", q)
		}
		f, err := e.ob.OpenQueued("hello.eml")
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := io.ReadAll(f)
		f.Close()
		if int64(len(stored)) != q[0].Size {
			t.Errorf("Size = %d, want %d", q[0].Size, len(stored))
		}

		e.start()
		synctest.Wait()
		e.stop()
		got := e.work.got()
		if len(got) != 1 {
			t.Fatalf("work sent %d messages, want 1", len(got))
		}
		m := got[0]
		if m.data != string(stored) {
			t.Errorf("sent bytes differ from the queued file")
		}
		wantTo := []string{"ann@example.org", "bob@example.org", "carl@example.org", "secret@example.org", "hidden@example.org"}
		if m.env.From != "me@work.example" || !slices.Equal(m.env.To, wantTo) {
			t.Errorf("envelope = %+v, want from me@work.example to %v", m.env, wantTo)
		}
		// Date and Message-ID on top, Bcc gone, every other byte kept.
		lines := strings.SplitN(m.data, "\r\n", 3)
		if !strings.HasPrefix(lines[0], "Date: ") || !strings.HasPrefix(lines[1], "Message-ID: <") {
			t.Fatalf("first lines = %q, want Date and Message-ID", lines[:2])
		}
		want := crlf(strings.Replace(plainMsg, "Bcc: secret@example.org,\n hidden@example.org\n", "", 1))
		if lines[2] != want {
			t.Errorf("rest of message =\n%q\nwant\n%q", lines[2], want)
		}
		date, err := time.Parse(dateLayout, strings.TrimPrefix(lines[0], "Date: "))
		if err != nil || !date.Equal(time.Now().Truncate(time.Second)) {
			t.Errorf("Date: %q (%v), want now %v", lines[0], err, time.Now())
		}
		if !regexp.MustCompile(`^Message-ID: <[0-9A-Za-z.]+@work\.example>$`).MatchString(lines[1]) {
			t.Errorf("Message-ID line %q", lines[1])
		}
		var h mail.Header
		h.Set("Message-Id", strings.TrimPrefix(lines[1], "Message-ID: "))
		if _, err := h.MessageID(); err != nil {
			t.Errorf("Message-ID does not parse: %v", err)
		}
		if q := e.ob.Queued(); len(q) != 0 {
			t.Errorf("Queued() after send = %v, want empty", names(q))
		}
		for _, d := range []string{"queue", "tmp", "failed"} {
			if left := e.spoolEntries(d); len(left) != 0 {
				t.Errorf("spool %s/ holds %v after send", d, left)
			}
		}
	})
}

func TestSendKeepsDateAndMessageID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		msg := "Date: Tue, 1 Nov 2022 10:00:00 +0100\n" +
			"message-id: <abc@x.example>\n" +
			"From: me@home.example\n" +
			"To: ann@example.org\n" +
			"\n" +
			"body\n"
		e.mustCommit("a.eml", msg)
		e.start()
		synctest.Wait()
		e.stop()
		got := e.home.got()
		if len(got) != 1 || got[0].data != msg {
			t.Fatalf("home sent %q, want the message unchanged %q", got, msg)
		}
		if len(e.work.got()) != 0 {
			t.Errorf("work sent a message routed to home")
		}
	})
}

func TestSendFixedClock(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	e := newEnv(t, func(o *Options) { o.Now = func() time.Time { return now } })
	e.mustCommit("a.eml", "To: ann@example.org\n\nhi\n")
	f, err := e.ob.OpenQueued("a.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(string(b), "\n")
	if lines[0] != "From: me@work.example" || lines[1] != "Date: Thu, 26 Nov 2026 10:00:00 +0100" {
		t.Errorf("header starts %q, want From filled and Date from Now", lines[:2])
	}
	if !strings.HasSuffix(string(b), "\nTo: ann@example.org\n\nhi\n") {
		t.Errorf("message %q does not end with the original", b)
	}
	q := e.ob.Queued()
	if len(q) != 1 || !q[0].ModTime.Equal(now) || !q[0].NextAttempt.Equal(now) {
		t.Errorf("Queued() = %+v, want ModTime and NextAttempt %v", q, now)
	}
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name     string
		from     string // "" = no From:
		noDef    bool
		allow    bool   // Options.AllowUnknownFrom
		received bool   // the message has a Received: header
		allowRcv bool   // Options.AllowReceived
		account  string // "" = invalid
		envFrom  string
		fillFrom string
		reason   string
	}{
		{name: "work", from: "From: me@work.example", account: "work", envFrom: "me@work.example"},
		{name: "alias any case", from: "From: \"Me\" <me@ALIAS.example>", account: "home", envFrom: "me@ALIAS.example"},
		{name: "second From matches", from: "From: x@y.example, me@home.example", account: "home", envFrom: "me@home.example"},
		{name: "no From uses default", account: "work", envFrom: "me@work.example", fillFrom: "From: me@work.example"},
		{name: "unknown From refused", from: "From: stranger@else.example",
			reason: "From: stranger@else.example is not an address of any account: add it to an account's addresses, or set allow_unknown_from = true in [outbox]"},
		{name: "unknown From allowed uses default", from: "From: stranger@else.example", allow: true, account: "work", envFrom: "me@work.example"},
		{name: "unknown From allowed, no default", from: "From: stranger@else.example", allow: true, noDef: true,
			reason: "From: stranger@else.example matches no account's addresses and no account is default"},
		{name: "received refused", from: "From: me@work.example", received: true,
			reason: "it has a Received: header, so a mail server delivered it"},
		{name: "received allowed", from: "From: me@work.example", received: true, allowRcv: true, account: "work", envFrom: "me@work.example"},
		{name: "no From, no default", noDef: true, reason: "no From: and no account is default"},
		{name: "empty From", from: "From: undisclosed:;", reason: "From: has no address"},
		{name: "8-bit display name", from: "From: =?windows-1252?q?J=F6rg?= <me@home.example>", account: "home", envFrom: "me@home.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, func(o *Options) {
					if tc.noDef {
						o.Accounts[0].Default = false
					}
					o.AllowUnknownFrom, o.AllowReceived = tc.allow, tc.allowRcv
				})
				msg := "To: ann@example.org\nSubject: s\n\nbody\n"
				if tc.from != "" {
					msg = tc.from + "\n" + msg
				}
				if tc.received {
					msg = "Received: from mx.else.example by mx.example.org; Mon, 30 Nov 2026 09:00:00 +0000\n" + msg
				}
				_, err := e.commit("m.eml", msg)
				if tc.account == "" {
					if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
						t.Fatalf("commit: %v, want ErrInvalid with %q", err, tc.reason)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				e.start()
				synctest.Wait()
				e.stop()
				s := map[string]*fakeSender{"work": e.work, "home": e.home}
				got := s[tc.account].got()
				if len(got) != 1 {
					t.Fatalf("%s sent %d, want 1", tc.account, len(got))
				}
				if got[0].env.From != tc.envFrom {
					t.Errorf("envelope from %q, want %q", got[0].env.From, tc.envFrom)
				}
				if tc.fillFrom != "" && !strings.HasPrefix(got[0].data, tc.fillFrom+"\n") {
					t.Errorf("message starts %q, want %q", got[0].data[:40], tc.fillFrom)
				}
				if tc.fillFrom == "" && strings.Count(got[0].data, "From:") != 1 {
					t.Errorf("message has %d From: fields, want 1", strings.Count(got[0].data, "From:"))
				}
			})
		})
	}
}

func TestGroupSyntaxAndDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.mustCommit("g.eml", "From: me@work.example\nTo: Team: a@x.example, B <b@x.example>;, c@x.example\n"+
			"Cc: undisclosed-recipients:;\nBcc: A@x.example\n\nhi\n")
		e.start()
		synctest.Wait()
		e.stop()
		got := e.work.got()
		if len(got) != 1 || !slices.Equal(got[0].env.To, []string{"a@x.example", "b@x.example", "c@x.example"}) {
			t.Fatalf("sent %+v, want recipients a, b, c once each", got)
		}
	})
}

func TestInvalidMessages(t *testing.T) {
	tests := []struct {
		name   string
		header string // up to and including the blank line
		reason string
		// badLine, when set, is the line whose end fails the write (a
		// line that cannot be a header field); else it is the blank line.
		badLine string
	}{
		{"no recipients", "From: me@work.example\nSubject: x\n\n", "no recipients (To, Cc or Bcc)", ""},
		{"bad header line", "From: me@work.example\nthis is not a header\nTo: a@x.example\n\n", "is not a header field", "this is not a header\n"},
		{"bad address", "From: me@work.example\nTo: ann@\n\n", "To: \"ann@\"", ""},
		{"bad From", "From: <me@work.example\nTo: a@x.example\n\n", "From: ", ""},
		{"empty header", "\n", "no From: and no account is default", ""},
		{"continuation first", " folded\nTo: a@x.example\n\n", "is indented", " folded\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, func(o *Options) { o.Accounts[0].Default = false })
				d, err := e.ob.Create("bad.eml")
				if err != nil {
					t.Fatal(err)
				}
				defer d.Abort()
				hdr := crlf(tc.header)
				last := len(hdr) - 1 // the write that completes the header
				if tc.badLine != "" {
					last = strings.Index(hdr, crlf(tc.badLine)) + len(crlf(tc.badLine)) - 1
				}
				// Every write before the one that completes the bad
				// line or the header works.
				for i := 0; i < last; i++ {
					if _, err := d.WriteAt([]byte{hdr[i]}, int64(i)); err != nil {
						t.Fatalf("write %d of %d: %v", i, len(hdr), err)
					}
				}
				_, err = d.WriteAt([]byte(hdr[last:]+"body\r\n"), int64(last))
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("write completing the header: %v, want ErrInvalid with %q", err, tc.reason)
				}
				if _, err := d.WriteAt([]byte("more"), int64(len(hdr))); !errors.Is(err, ErrInvalid) {
					t.Errorf("later write: %v, want ErrInvalid", err)
				}
				err = d.Commit()
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.reason) {
					t.Fatalf("Commit: %v, want ErrInvalid with %q", err, tc.reason)
				}
				if err2 := d.Commit(); err2 == nil || err2.Error() != err.Error() {
					t.Errorf("second Commit: %v, want %v", err2, err)
				}
				checkFailed(t, e, "bad.eml", tc.reason)
				f, err := e.ob.OpenFailed("bad.eml")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) != hdr+"body\r\n" {
					t.Errorf("failed/bad.eml = %q, want what was written %q", b, hdr+"body\r\n")
				}
				if q := e.ob.Queued(); len(q) != 0 {
					t.Errorf("Queued() = %v, want empty", names(q))
				}
			})
		})
	}
}

// checkFailed checks that name is in failed/ with a one-line reason.
func checkFailed(t *testing.T, e *testEnv, name, reason string) {
	t.Helper()
	fl := e.ob.Failed()
	if len(fl) != 1 || fl[0].Name != name || fl[0].State != StateFailed {
		t.Fatalf("Failed() = %+v, want %s", fl, name)
	}
	text, err := e.ob.FailedError(name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, reason) || strings.Count(text, "\n") != 1 || !strings.HasSuffix(text, " UTC)\n") {
		t.Errorf("%s.error = %q, want one line with %q and a time", name, text, reason)
	}
	if fl[0].Error+"\n" != text {
		t.Errorf("Entry.Error %q differs from FailedError %q", fl[0].Error, text)
	}
}

func TestInvalidAtCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		// No blank line: the whole file is the header, checked at Commit.
		if _, err := e.commit("nohdr.eml", "Subject: only a subject\n"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("commit: %v, want ErrInvalid", err)
		}
		checkFailed(t, e, "nohdr.eml", "no recipients")
		// A header-only file with recipients is a valid message.
		e.mustCommit("hdronly.eml", "To: a@x.example\r\nSubject: s")
		e.start()
		synctest.Wait()
		e.stop()
		got := e.work.got()
		if len(got) != 1 || !strings.HasSuffix(got[0].data, "\r\nTo: a@x.example\r\nSubject: s\r\n\r\n") {
			t.Fatalf("sent %q, want the header completed by a blank line", got)
		}
	})
}

func TestHeaderTooLong(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxHeaderBytes = 100 })
	d, err := e.ob.Create("long.eml")
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("X-Long: " + strings.Repeat("a", 40) + "\n")
	var off int64
	for i := 0; ; i++ {
		_, err = d.WriteAt(line, off)
		off += int64(len(line))
		if err != nil || i > 5 {
			break
		}
	}
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "no blank line within the first 100 bytes") {
		t.Fatalf("write: %v, want ErrInvalid", err)
	}
	if err := d.Commit(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Commit: %v, want ErrInvalid", err)
	}
	checkFailed(t, e, "long.eml", "no blank line")
}

func TestTemporaryFailureBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.work.errs = []error{errTemp, errTemp, nil}
		e.start()
		start := time.Now()
		e.mustCommit("a.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		if n := e.work.nCalls(); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
		q := e.ob.Queued()
		if len(q) != 1 || q[0].Attempts != 1 || !strings.Contains(q[0].LastError, "451 4.3.0 mailbox busy") {
			t.Fatalf("Queued() = %+v, want 1 attempt with the server's reply", q)
		}
		firstRetry := q[0].NextAttempt
		if d := firstRetry.Sub(start); d < 30*time.Second || d > 33*time.Second {
			t.Errorf("first retry after %v, want 30s..33s", d)
		}
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if n := e.work.nCalls(); n != 1 {
			t.Fatalf("calls after 29s = %d, want 1", n)
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if n := e.work.nCalls(); n != 2 {
			t.Fatalf("calls after 33s = %d, want 2", n)
		}
		q = e.ob.Queued()
		if len(q) != 1 || q[0].Attempts != 2 {
			t.Fatalf("Queued() = %+v, want 2 attempts", q)
		}
		// The second attempt ran exactly when the first retry was due.
		if d := q[0].NextAttempt.Sub(firstRetry); d < 60*time.Second || d > 66*time.Second {
			t.Errorf("second retry after %v, want 60s..66s (doubled)", d)
		}
		time.Sleep(67 * time.Second)
		synctest.Wait()
		if n, got := e.work.nCalls(), e.work.got(); n != 3 || len(got) != 1 {
			t.Fatalf("calls = %d, sent %d, want 3 and 1", n, len(got))
		}
		if q := e.ob.Queued(); len(q) != 0 {
			t.Errorf("Queued() = %v, want empty", names(q))
		}
		e.stop()
	})
}

func TestBackoffSchedule(t *testing.T) {
	o := &Outbox{minBackoff: 30 * time.Second, maxBackoff: time.Hour}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour}
	for i, w := range want {
		got := o.backoff(i + 1)
		if got < w || got > w+w/10 {
			t.Errorf("backoff(%d) = %v, want %v plus at most a tenth", i+1, got, w)
		}
	}
}

func TestPermanentFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.work.errs = []error{errPerm}
		e.start()
		e.mustCommit("a.eml", "To: nobody@x.example\n\nhi\n")
		synctest.Wait()
		checkFailed(t, e, "a.eml", "rejected: 550 5.1.1 no such user")
		if q := e.ob.Queued(); len(q) != 0 {
			t.Errorf("Queued() = %v, want empty", names(q))
		}
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if n := e.work.nCalls(); n != 1 {
			t.Errorf("calls = %d, want 1 (no retry of a permanent failure)", n)
		}
		// The failed message is the prepared one; the state survives a restart.
		e.reopen()
		checkFailed(t, e, "a.eml", "rejected: 550 5.1.1 no such user")
		if fl := e.ob.Failed(); fl[0].Account != "work" || !slices.Equal(fl[0].Recipients, []string{"nobody@x.example"}) {
			t.Errorf("failed entry %+v lost its envelope", fl[0])
		}

		// mv failed/a.eml outbox/
		e.start()
		if err := e.ob.Retry("a.eml"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := e.work.got(); len(got) != 1 || !slices.Equal(got[0].env.To, []string{"nobody@x.example"}) {
			t.Fatalf("after Retry sent %+v", got)
		}
		if len(e.ob.Failed())+len(e.ob.Queued()) != 0 {
			t.Errorf("spool not empty after Retry and send")
		}
		if err := e.ob.Retry("a.eml"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Retry of a sent message: %v, want ErrNotExist", err)
		}
		e.stop()
	})
}

// TestAuthFailureKeepsQueued checks that a refused login, permanent as the
// server's 535 is, keeps the message queued with the reason visible: the
// account's password is wrong, not the message.
func TestAuthFailureKeepsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.work.errs = []error{fmt.Errorf("AUTH: server said: 535 5.7.8 bad credentials: %w", errors.Join(remote.ErrAuth, remote.ErrPermanent))}
		e.start()
		e.mustCommit("a.eml", "To: bob@x.example\n\nhi\n")
		synctest.Wait()
		if f := e.ob.Failed(); len(f) != 0 {
			t.Fatalf("Failed() = %v, want nothing: a login failure is not the message's", names(f))
		}
		q := e.ob.Queued()
		if len(q) != 1 || !strings.Contains(q[0].LastError, "535") || q[0].Attempts != 1 {
			t.Fatalf("Queued() = %+v, want a.eml with the 535 as its last error after one attempt", q)
		}
		time.Sleep(2 * time.Hour) // past the backoff: the next attempt succeeds
		synctest.Wait()
		if got := e.work.got(); len(got) != 1 {
			t.Errorf("sent %d messages after the login works again, want 1", len(got))
		}
		e.stop()
	})
}

func TestRetryResetsAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.work.errs = []error{errTemp, errTemp, errPerm, errTemp}
		e.start()
		e.mustCommit("a.eml", "To: a@x.example\n\nhi\n")
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if fl := e.ob.Failed(); len(fl) != 1 || fl[0].Attempts != 3 {
			t.Fatalf("Failed() = %+v, want a.eml after 3 attempts", fl)
		}
		if err := e.ob.Retry("a.eml"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		q := e.ob.Queued()
		if len(q) != 1 || q[0].Attempts != 1 || time.Until(q[0].NextAttempt) > 33*time.Second {
			t.Fatalf("Queued() = %+v, want attempts counted from 0 again", q)
		}
		e.stop()
	})
}

func TestRetryInvalid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(o *Options) { o.Accounts[0].Default, o.AllowUnknownFrom = false, true })
		msg := "From: someone@else.example\nTo: a@x.example\nBcc: b@x.example\n\nhi\n"
		if _, err := e.commit("a.eml", msg); !errors.Is(err, ErrInvalid) {
			t.Fatalf("commit: %v, want ErrInvalid", err)
		}
		if err := e.ob.Retry("a.eml"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Retry: %v, want ErrInvalid", err)
		}
		checkFailed(t, e, "a.eml", "matches no account")
		// The configuration changes: now there is a default account.
		e.opts.Accounts[0].Default = true
		e.reopen()
		e.start()
		if err := e.ob.Retry("a.eml"); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		synctest.Wait()
		e.stop()
		got := e.work.got()
		if len(got) != 1 || !slices.Equal(got[0].env.To, []string{"a@x.example", "b@x.example"}) ||
			strings.Contains(got[0].data, "Bcc") {
			t.Fatalf("sent %+v, want prepared from the original with Bcc", got)
		}
		if len(e.ob.Failed()) != 0 {
			t.Errorf("Failed() = %v, want empty", names(e.ob.Failed()))
		}
	})
}

func TestRemove(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		release := make(chan struct{})
		e.work.errs = []error{errTemp}
		e.start()
		e.mustCommit("waiting.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		if err := e.ob.Remove("waiting.eml"); err != nil {
			t.Fatal(err)
		}
		if q := e.ob.Queued(); len(q) != 0 {
			t.Fatalf("Queued() = %v after Remove", names(q))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := e.work.nCalls(); n != 1 {
			t.Errorf("calls = %d, want 1: a removed message is not sent", n)
		}

		// Being sent: refused.
		e.work.mu.Lock()
		e.work.hook = func(ctx context.Context, env remote.Envelope, data string) error { <-release; return nil }
		e.work.mu.Unlock()
		e.mustCommit("busy.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		if q := e.ob.Queued(); len(q) != 1 || q[0].State != StateSending {
			t.Fatalf("Queued() = %+v, want busy.eml sending", q)
		}
		if err := e.ob.Remove("busy.eml"); !errors.Is(err, ErrBusy) {
			t.Errorf("Remove while sending: %v, want ErrBusy", err)
		}
		close(release)
		synctest.Wait()
		if got := e.work.got(); len(got) != 1 {
			t.Errorf("sent %d, want 1", len(got))
		}
		if err := e.ob.Remove("busy.eml"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Remove after send: %v, want ErrNotExist", err)
		}

		// Failed.
		e.work.mu.Lock()
		e.work.hook = nil
		e.work.errs = []error{errPerm}
		e.work.mu.Unlock()
		e.mustCommit("bad.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		if err := e.ob.Remove("bad.eml"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Remove of a failed message: %v, want ErrNotExist (it is in failed/)", err)
		}
		if err := e.ob.RemoveFailed("bad.eml"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ob.FailedError("bad.eml"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("FailedError after RemoveFailed: %v, want ErrNotExist", err)
		}
		e.stop()
		e.reopen()
		if n := len(e.ob.Queued()) + len(e.ob.Failed()); n != 0 {
			t.Errorf("%d messages back after restart, want 0", n)
		}
		for _, d := range []string{"queue", "failed"} {
			if left := e.spoolEntries(d); len(left) != 0 {
				t.Errorf("spool %s/ holds %v", d, left)
			}
		}
	})
}

func TestSentCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCopier{errs: []error{errors.New("imap: connection reset"), nil}}
		e := newEnv(t, func(o *Options) { o.Accounts[0].SentCopy = c.copy })
		e.start()
		e.mustCommit("a.eml", "To: a@x.example\nBcc: b@x.example\n\nhi\n")
		synctest.Wait()
		if n := e.work.nCalls(); n != 1 {
			t.Fatalf("sends = %d, want 1", n)
		}
		if q := e.ob.Queued(); len(q) != 0 {
			t.Errorf("Queued() = %v: a sent message waiting for its copy is not listed", names(q))
		}
		c.mu.Lock()
		calls := c.calls
		c.mu.Unlock()
		if calls != 1 {
			t.Fatalf("copy calls = %d, want 1", calls)
		}
		// The name is free again.
		if n := e.mustCommit("a.eml", "To: a@x.example\n\nagain\n"); n != "a.eml" {
			t.Errorf("new message named %q, want a.eml", n)
		}
		time.Sleep(40 * time.Second)
		synctest.Wait()
		if n := e.work.nCalls(); n != 2 {
			t.Fatalf("sends = %d, want 2 (the copy retry never resends)", n)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		sent := e.work.got()
		if len(c.copies) != 2 || c.copies[0] != sent[1].data && c.copies[0] != sent[0].data {
			t.Fatalf("copies = %d, want both messages", len(c.copies))
		}
		for i, cp := range c.copies {
			if int64(len(cp)) != c.sizes[i] {
				t.Errorf("copy %d: size %d, want %d", i, c.sizes[i], len(cp))
			}
			if strings.Contains(cp, "Bcc") {
				t.Errorf("copy %d has Bcc", i)
			}
		}
		e.stop()
		if left := e.spoolEntries("queue"); len(left) != 0 {
			t.Errorf("queue/ holds %v", left)
		}
	})
}

func TestSentCopyGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCopier{errs: []error{errPerm}}
		e := newEnv(t, func(o *Options) { o.Accounts[0].SentCopy = c.copy })
		e.start()
		e.mustCommit("a.eml", "To: a@x.example\n\nhi\n")
		synctest.Wait()
		time.Sleep(time.Hour)
		synctest.Wait()
		e.stop()
		if c.calls != 1 || e.work.nCalls() != 1 {
			t.Errorf("copy calls %d, sends %d, want 1 and 1", c.calls, e.work.nCalls())
		}
		if left := e.spoolEntries("queue"); len(left) != 0 {
			t.Errorf("queue/ holds %v", left)
		}
	})
}

func TestBurstPerAccount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		for i := range 5 {
			e.mustCommit("w.eml", "To: a@x.example\nSubject: "+string(rune('0'+i))+"\n\nhi\n")
		}
		block := make(chan struct{})
		e.home.hook = func(ctx context.Context, env remote.Envelope, data string) error {
			select {
			case <-block:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		e.mustCommit("h.eml", "From: me@home.example\nTo: a@x.example\n\nhi\n")
		start := time.Now()
		e.start()
		synctest.Wait()
		// All of work's messages went out at once, in order, while home hangs.
		got := e.work.got()
		if len(got) != 5 {
			t.Fatalf("work sent %d, want 5", len(got))
		}
		for i, m := range got {
			if !strings.Contains(m.data, "Subject: "+string(rune('0'+i))+"\n") {
				t.Errorf("message %d out of order", i)
			}
		}
		if !time.Now().Equal(start) {
			t.Errorf("the burst took %v of (fake) time, want none", time.Since(start))
		}
		if q := e.ob.Queued(); len(q) != 1 || q[0].Name != "h.eml" || q[0].State != StateSending {
			t.Errorf("Queued() = %+v, want h.eml sending", q)
		}
		// Stopping while home hangs: h.eml is due again after a restart.
		e.stop()
		close(block)
		e.reopen()
		if q := e.ob.Queued(); len(q) != 1 || q[0].Attempts != 0 {
			t.Fatalf("Queued() after restart = %+v, want h.eml with the interrupted attempt not counted", q)
		}
		e.start()
		synctest.Wait()
		e.stop()
		if got := e.home.got(); len(got) != 1 {
			t.Errorf("home sent %d, want 1", len(got))
		}
	})
}

func TestNames(t *testing.T) {
	e := newEnv(t)
	var got []string
	for _, n := range []string{"msg.eml", "msg.eml", "msg.eml", "msg-2.eml", "noext", "noext", ".eml", ".eml", "x.eml.error"} {
		got = append(got, e.mustCommit(n, "To: a@x.example\n\nhi\n"))
	}
	// A failed message reserves NAME.error.
	if _, err := e.commit("x.eml", "Subject: nothing\n\n"); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	got = append(got, e.ob.Failed()[0].Name)
	want := []string{"msg.eml", "msg-2.eml", "msg-3.eml", "msg-2-2.eml", "noext", "noext-2", ".eml", ".eml-2", "x.eml.error", "x-2.eml"}
	if !slices.Equal(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
	if q := names(e.ob.Queued()); !slices.Equal(q, want[:9]) {
		t.Errorf("Queued() = %q, want commit order %q", q, want[:9])
	}
	for _, bad := range []string{"", ".", "..", "failed", "a/b", "a\x00b", strings.Repeat("x", 250)} {
		if _, err := e.ob.Create(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Create(%q): %v, want ErrBadName", bad, err)
		}
	}
	long := strings.Repeat("é", 122) + ".eml" // 248 bytes: the suffix must shorten it
	e.mustCommit(long, "To: a@x.example\n\nhi\n")
	n2 := e.mustCommit(long, "To: a@x.example\n\nhi\n")
	if len(n2) > maxNameBytes || !strings.HasSuffix(n2, "-2.eml") || !utf8Valid(n2) {
		t.Errorf("long name %q (%d bytes)", n2, len(n2))
	}
}

func TestDraftLifecycle(t *testing.T) {
	e := newEnv(t)
	// A redirection flushes the empty file before writing it.
	d, err := e.ob.Create("r.eml")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatalf("Commit of an empty draft: %v", err)
	}
	msg := "To: a@x.example\n\nhi\n"
	if _, err := d.WriteAt([]byte(msg), 0); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Errorf("second Commit: %v", err)
	}
	if _, err := d.WriteAt([]byte("x"), 0); err == nil {
		t.Errorf("write after Commit succeeded")
	}
	d.Abort() // after Commit: nothing happens
	if q := e.ob.Queued(); len(q) != 1 {
		t.Fatalf("Queued() = %v, want r.eml", names(q))
	}

	// touch outbox/x: created, never written, released.
	d, _ = e.ob.Create("t.eml")
	d.Commit()
	d.Abort()
	// Out-of-order writes and truncation.
	d, _ = e.ob.Create("o.eml")
	d.WriteAt([]byte("\nbody\n"), 16)
	d.WriteAt([]byte("To: a@x.example\n"), 0)
	d.Truncate(16 + 6)
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if q := names(e.ob.Queued()); !slices.Equal(q, []string{"r.eml", "o.eml"}) {
		t.Errorf("Queued() = %q, want r.eml o.eml", q)
	}
	if left := e.spoolEntries("tmp"); len(left) != 0 {
		t.Errorf("tmp/ holds %v", left)
	}
}

func TestSpoolLockedAndPrivate(t *testing.T) {
	e := newEnv(t)
	if _, err := Open(&e.opts); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open: %v, want in use", err)
	}
	e.mustCommit("a.eml", "To: a@x.example\n\nhi\n")
	for _, p := range []string{"", "/queue", "/tmp", "/failed"} {
		st, err := statMode(e.dir + p)
		if err != nil || st != 0o700 {
			t.Errorf("%s: mode %o (%v), want 700", e.dir+p, st, err)
		}
	}
	its := e.spoolEntries("queue")
	for _, f := range []string{"message.eml", "state.json"} {
		st, err := statMode(e.dir + "/queue/" + its[0] + "/" + f)
		if err != nil || st != 0o600 {
			t.Errorf("%s: mode %o (%v), want 600", f, st, err)
		}
	}
}
