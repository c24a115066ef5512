package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mailfs/outbox"
)

// sendmail runs `mailfs sendmail ARGS` with msg on stdin and returns its
// exit status and stderr.
func sendmail(t *testing.T, msg string, args ...string) (int, string) {
	t.Helper()
	var stderr strings.Builder
	code := cmdSendmail(context.Background(), args, strings.NewReader(msg), &stderr)
	return code, stderr.String()
}

// TestStatusAndRetry queues one message the server answers 4xx (waiting)
// and one it refuses for good (failed), checks `mailfs status` in text and
// JSON, then `mailfs outbox retry` sends the waiting one at once.
func TestStatusAndRetry(t *testing.T) {
	e := newSendEnv(t, nil)
	d := startDaemon(t, e.config)
	ob := d.st.outbox

	e.smtp.FailNext(451, [3]int{4, 3, 0}, "mailbox busy, try again later", 1)
	if code, stderr := sendmail(t, "From: me@example.org\r\nTo: bob@example.org\r\nSubject: waits\r\n\r\nhi\r\n", "-t"); code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	eventually(t, 10*time.Second, "the message never got its 4xx", func() bool {
		q := ob.Queued()
		return len(q) == 1 && q[0].Attempts == 1 && q[0].State == outbox.StateQueued
	})
	e.smtp.RefuseRecipient("nobody@example.org", 550, [3]int{5, 1, 1}, "no such user")
	if code, stderr := sendmail(t, "From: me@example.org\r\nSubject: fails\r\n\r\nhi\r\n", "nobody@example.org"); code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, stderr)
	}
	eventually(t, 10*time.Second, "the refused message never failed", func() bool { return len(ob.Failed()) == 1 })

	var out, errOut strings.Builder
	if err := cmdStatus(context.Background(), nil, &out, &errOut); err != nil {
		t.Fatalf("status: %v (%s)", err, errOut.String())
	}
	text := out.String()
	for _, want := range []string{
		"mailfs on " + d.mountpoint, "ACCOUNT", "me ", "IMAP", "IMAP cache:",
		"0 held, 1 waiting, 1 failed", "sendmail.eml", "me ", "451", "mailbox busy", "in ",
		"sendmail-2.eml", "550", "no such user",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "HELD") {
		t.Errorf("got a HELD table, want none (sendmail does not hold):\n%s", text)
	}

	out.Reset()
	if err := cmdStatus(context.Background(), []string{"-json", d.mountpoint}, &out, &errOut); err != nil {
		t.Fatalf("status -json: %v", err)
	}
	var ds daemonStatus
	if err := json.Unmarshal([]byte(out.String()), &ds); err != nil {
		t.Fatalf("status -json: %v:\n%s", err, out.String())
	}
	if len(ds.Accounts) != 1 || ds.Accounts[0].Name != "me" || ds.Accounts[0].Kind != "IMAP" || ds.Accounts[0].State != "online" {
		t.Errorf("got accounts %+v, want me, IMAP, online", ds.Accounts)
	}
	if ds.Cache == nil {
		t.Errorf("got no cache size")
	}
	ws := ds.Outbox.Waiting
	if len(ws) != 1 || ws[0].Name != "sendmail.eml" || ws[0].Account != "me" || ws[0].Attempts != 1 ||
		!strings.Contains(ws[0].LastError, "451") || ws[0].NextAttempt.Before(time.Now().Add(20*time.Second)) {
		t.Errorf("got waiting %+v, want sendmail.eml, 1 attempt, a 451, next try in about 30s", ws)
	}
	fs := ds.Outbox.Failed
	if len(fs) != 1 || fs[0].Name != "sendmail-2.eml" || !strings.Contains(fs[0].Error, "550") {
		t.Errorf("got failed %+v, want sendmail-2.eml with the 550", fs)
	}

	// The server has recovered: retry sends the waiting message now, not
	// in 30s.
	out.Reset()
	if err := cmdOutbox(context.Background(), []string{"retry"}, &out, &errOut); err != nil {
		t.Fatalf("outbox retry: %v", err)
	}
	if got := out.String(); got != "sending 1 waiting message now\n" {
		t.Errorf("got %q, want \"sending 1 waiting message now\"", got)
	}
	eventually(t, 10*time.Second, "the waiting message was not sent after retry", func() bool {
		for _, m := range e.smtp.Messages() {
			if strings.Contains(string(m.Data), "Subject: waits") {
				return true
			}
		}
		return false
	})
	eventually(t, 10*time.Second, "the sent message is still listed", func() bool { return len(ob.Queued()) == 0 })
}

// TestStatusNoDaemon checks the error without a running mailfs.
func TestStatusNoDaemon(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	mnt := t.TempDir()
	var out strings.Builder
	err := cmdStatus(context.Background(), []string{mnt}, &out, &out)
	if err == nil || err.Error() != "no mailfs is running for "+mnt {
		t.Errorf("got %v, want \"no mailfs is running for %s\"", err, mnt)
	}
	err = cmdOutbox(context.Background(), []string{"retry"}, &out, &out)
	if err == nil || err.Error() != "no mailfs is running" {
		t.Errorf("got %v, want \"no mailfs is running\"", err)
	}
}
