package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// A change must reach changed within eventWait.
const eventWait = 2 * time.Second

// watching is a Watch running in the background for a test.
type watching struct {
	calls  chan struct{} // one per call of changed (more are dropped)
	done   chan error    // Watch's result
	cancel context.CancelFunc
}

// startWatch runs s.Watch(mailbox) until the test ends and waits for the
// first call of changed, which says the watch has begun.
func startWatch(t *testing.T, s *Store, mailbox string) *watching {
	t.Helper()
	w := runWatch(t, s, mailbox, 0)
	w.waitChanged(t, 5*time.Second, "the first call after connecting")
	return w
}

// runWatch runs s.Watch(mailbox) until the test ends, without waiting;
// each call of changed takes slow.
func runWatch(t *testing.T, s *Store, mailbox string, slow time.Duration) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{calls: make(chan struct{}, 100), done: make(chan error, 1), cancel: cancel}
	var running sync.Mutex // changed must never run concurrently with itself
	go func() {
		w.done <- s.Watch(ctx, mailbox, func() {
			if !running.TryLock() {
				t.Error("changed called concurrently with itself")
				return
			}
			defer running.Unlock()
			time.Sleep(slow)
			select {
			case w.calls <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after its context was canceled")
		}
	})
	return w
}

// waitChanged waits up to within for a call of changed caused by what.
func (w *watching) waitChanged(t *testing.T, within time.Duration, what string) {
	t.Helper()
	select {
	case <-w.calls:
	case err := <-w.done:
		t.Fatalf("%s: got Watch returning %v, want a call of changed", what, err)
	case <-time.After(within):
		t.Fatalf("%s: got no call of changed within %v, want one", what, within)
	}
}

// drain forgets the calls of changed so far.
func (w *watching) drain() {
	for {
		select {
		case <-w.calls:
		default:
			return
		}
	}
}

// result waits up to within for Watch to return.
func (w *watching) result(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err // for the cleanup
		return err
	case <-time.After(within):
		t.Fatalf("got Watch still running after %v, want it to return", within)
		return nil
	}
}

// TestIdleEvents checks that what other clients do to the watched
// mailbox — a delivery, an expunge, a change of flags — calls changed.
func TestIdleEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(srv *remotetest.IMAP, uid uint32) error
		event  string // the response, as logged
	}{
		{"append", func(srv *remotetest.IMAP, _ uint32) error {
			_, err := srv.Append("INBOX", testMessage(9, "new"), nil, time.Now())
			return err
		}, "event=EXISTS"},
		{"expunge elsewhere", func(srv *remotetest.IMAP, uid uint32) error {
			return srv.Expunge("INBOX", uid)
		}, "event=EXPUNGE"},
		{"flags set elsewhere", func(srv *remotetest.IMAP, uid uint32) error {
			return srv.SetFlags("INBOX", uid, []string{`\Seen`, `\Flagged`})
		}, `event="FETCH FLAGS"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := remotetest.NewIMAP(t, nil)
			msgs := seed(t, srv, "INBOX", 2)
			var logs lockedBuffer
			s := testStore(t, srv, func(o *Options) { o.Logger = newTestLogger(&logs) })
			w := startWatch(t, s, "INBOX")
			w.drain()
			if err := tc.change(srv, msgs[0].uid); err != nil {
				t.Fatalf("change: %v", err)
			}
			// Until the change's own response has been seen (an expunge
			// elsewhere sends FETCH FLAGS for \Deleted first).
			deadline := time.Now().Add(eventWait)
			for {
				w.waitChanged(t, time.Until(deadline), tc.name)
				if strings.Contains(logs.String(), tc.event) {
					break
				}
			}
		})
	}
}

// TestIdleCoalesces checks that a burst of changes while changed is busy
// makes few calls, never blocking the client, and that the last change is
// reported after the burst.
func TestIdleCoalesces(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, nil)
	w := runWatch(t, s, "INBOX", 200*time.Millisecond)
	w.waitChanged(t, 5*time.Second, "the first call after connecting")
	const burst = 10
	for i := range burst {
		if _, err := srv.Append("INBOX", testMessage(i, "burst"), nil, time.Now()); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	w.waitChanged(t, eventWait, "the burst")
	time.Sleep(time.Second) // the calls still due
	calls := 1 + len(w.calls)
	if calls >= burst {
		t.Errorf("got %d calls of changed for a burst of %d deliveries, want them coalesced", calls, burst)
	}
	w.drain()
	if _, err := srv.Append("INBOX", testMessage(burst, "after the burst"), nil, time.Now()); err != nil {
		t.Fatalf("append: %v", err)
	}
	w.waitChanged(t, eventWait, "append after the burst")
}

// TestIdleReissue checks that IDLE is ended and issued again every
// IdleRestart, and that changes still arrive after the re-issues.
func TestIdleReissue(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, func(o *Options) { o.IdleRestart = 200 * time.Millisecond })
	w := startWatch(t, s, "INBOX")
	time.Sleep(1500 * time.Millisecond)
	if got := srv.Count("IDLE"); got < 4 {
		t.Errorf("got %d IDLE commands in 1.5 s, want at least 4 (one per 200 ms)", got)
	}
	if got := srv.Count("EXAMINE"); got != 1 {
		t.Errorf("got %d EXAMINE commands, want 1 (IDLE re-issued on the same connection)", got)
	}
	w.drain()
	for i := range 3 {
		if _, err := srv.Append("INBOX", testMessage(i, "after re-issue"), nil, time.Now()); err != nil {
			t.Fatalf("append: %v", err)
		}
		w.waitChanged(t, eventWait, fmt.Sprintf("append %d after re-issues", i))
		time.Sleep(250 * time.Millisecond) // across a re-issue
	}
}

// TestIdleReconnect drops the watching connection from the server side
// and keeps the server down through one reconnection attempt: Watch
// reconnects, calls changed, and later deliveries arrive. The outage is
// logged once as a warning and its end once as information.
func TestIdleReconnect(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewIMAP(t, nil)
	var logs lockedBuffer
	s := testStore(t, srv, func(o *Options) { o.Logger = newTestLogger(&logs) })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	w := startWatch(t, s, "INBOX")
	w.drain()

	srv.SetDown(true)
	time.Sleep(1500 * time.Millisecond) // the retry after 1 s fails
	srv.SetDown(false)
	w.waitChanged(t, 5*time.Second, "reconnection") // the retry 2 s later works
	if _, err := srv.Append("INBOX", testMessage(1, "after the outage"), nil, time.Now()); err != nil {
		t.Fatalf("append: %v", err)
	}
	w.waitChanged(t, eventWait, "append after reconnection")

	text := logs.String()
	for _, tc := range []struct {
		msg   string
		level string
		want  int
	}{
		{"imap watching mailbox", "INFO", 1},
		{"imap watch interrupted", "WARN", 1},
		{"imap watch reconnect failed", "DEBUG", 1},
		{"imap watch recovered", "INFO", 1},
	} {
		if got := countLogLines(text, tc.level, tc.msg); got != tc.want {
			t.Errorf("got %d %s lines %q, want %d; log:\n%s", got, tc.level, tc.msg, tc.want, text)
		}
	}
	if got := strings.Count(text, "level=WARN"); got != 1 {
		t.Errorf("got %d warnings, want 1 (one per outage); log:\n%s", got, text)
	}
	if strings.Contains(text, srv.Password) {
		t.Errorf("got the password in the log, want it never logged")
	}
	if !strings.Contains(text, "mailbox=INBOX") {
		t.Errorf("got no mailbox attribute in the log, want mailbox=INBOX")
	}
}

// countLogLines counts the lines of a text log at level whose message
// starts with msg.
func countLogLines(text, level, msg string) int {
	n := 0
	for line := range strings.Lines(text) {
		if strings.Contains(line, "level="+level+" ") && strings.Contains(line, `msg="`+msg) {
			n++
		}
	}
	return n
}

// TestIdleCancel checks that canceling the context ends Watch within a
// second with the context's error, and that no goroutine is left behind.
// Not parallel: it counts goroutines.
func TestIdleCancel(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, nil)
	before := runtime.NumGoroutine()
	w := startWatch(t, s, "INBOX")
	start := time.Now()
	w.cancel()
	err := w.result(t, 2*time.Second)
	if took := time.Since(start); took > time.Second {
		t.Errorf("got Watch returning %v after cancel, want within 1s", took.Round(time.Millisecond))
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		buf := make([]byte, 1<<20)
		t.Errorf("got %d goroutines after Watch returned, want at most %d as before:\n%s", got, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestIdleStoreClose checks that closing the Store ends a Watch.
func TestIdleStoreClose(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, nil)
	w := startWatch(t, s, "INBOX")
	s.Close()
	if err := w.result(t, 2*time.Second); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable (store closed)", err)
	}
}

// TestIdleUnsupported checks the errors that end Watch at once: a server
// without IDLE (the caller polls) and a mailbox that does not exist.
func TestIdleUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    *remotetest.IMAPOptions
		mailbox string
		want    error
	}{
		{"no IDLE", &remotetest.IMAPOptions{NoIdle: true}, "INBOX", remote.ErrUnsupported},
		{"no IDLE over TLS", &remotetest.IMAPOptions{NoIdle: true, TLS: remotetest.TLSImplicit}, "INBOX", remote.ErrUnsupported},
		{"no such mailbox", nil, "Nonexistent", remote.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := remotetest.NewIMAP(t, tc.opts)
			s := testStore(t, srv, func(o *Options) {
				if srv.CA != nil {
					o.TLS = remote.TLSImplicit
					o.TLSConfig = &tls.Config{RootCAs: srv.CA.Pool}
				}
			})
			w := runWatch(t, s, tc.mailbox, 0)
			if err := w.result(t, 2*time.Second); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			select {
			case <-w.calls:
				t.Errorf("got a call of changed, want none")
			default:
			}
			if got := srv.Count("IDLE"); got != 0 {
				t.Errorf("got %d IDLE commands, want 0", got)
			}
		})
	}
}

// TestIdleNoIdleServer checks the test server's NoIdle knob itself: IDLE
// is not advertised and an IDLE sent anyway is answered BAD.
func TestIdleNoIdleServer(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{NoIdle: true})
	s := testStore(t, srv, nil)
	caps, err := s.Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	for _, c := range caps {
		if c == "IDLE" || c == "IMAP4rev2" {
			t.Errorf("got capability %s, want neither IDLE nor IMAP4rev2", c)
		}
	}
	cn, err := s.dial(context.Background())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer cn.close("test done", true)
	_, err = cn.client.Idle()
	if err == nil || !strings.Contains(err.Error(), "BAD") {
		t.Errorf("got IDLE answered %v, want BAD", err)
	}
}

// TestIdleOwnConnection checks that the watch takes no slot of the pool (a
// Store with MaxConns 1 still fetches while watching) and never opens a
// mailbox read-write or changes flags.
func TestIdleOwnConnection(t *testing.T) {
	t.Parallel()
	srv := remotetest.NewIMAP(t, nil)
	msgs := seed(t, srv, "INBOX", 2)
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 1 })
	startWatch(t, s, "INBOX")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	uv := uidValidity(t, s, "INBOX")
	var got []byte
	err := s.Fetch(ctx, "INBOX", uv, []uint32{msgs[1].uid}, func(_ uint32, body io.Reader) error {
		var err error
		got, err = io.ReadAll(body)
		return err
	})
	if err != nil {
		t.Fatalf("Fetch while watching: got %v, want the message", err)
	}
	if string(got) != string(msgs[1].msg) {
		t.Errorf("got body %q, want %q", got, msgs[1].msg)
	}
	for _, cmd := range []string{"SELECT", "STORE", "UID STORE", "EXPUNGE"} {
		if n := srv.Count(cmd); n != 0 {
			t.Errorf("got %d %s commands, want 0", n, cmd)
		}
	}
	if n := srv.ReadWriteFetches(); n != 0 {
		t.Errorf("got %d FETCH commands on a read-write mailbox, want 0", n)
	}
	flags, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatalf("flags: %v", err)
	}
	for _, m := range msgs {
		if !sameFlags(flags[m.uid], m.flags) {
			t.Errorf("UID %d: got flags %q, want %q as seeded", m.uid, flags[m.uid], m.flags)
		}
	}
}

// idleFake answers a watch as a server with IDLE would, except where
// silent says it stays silent: "IDLE" (no continuation) or "DONE" (IDLE
// never ends). logins counts the connections that logged in.
func idleFake(t *testing.T, silent string, logins *atomic.Int64) *fakeServer {
	var mu sync.Mutex
	idleTag := "" // of the IDLE running; guarded by mu
	return newFakeServer(t, "* OK fake ready", func(w *bufio.Writer, tag, cmd string) {
		mu.Lock()
		defer mu.Unlock()
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch {
		case tag == "DONE": // the line that ends IDLE
			if silent != "DONE" {
				fmt.Fprintf(w, "%s OK idle done\r\n", idleTag)
			}
		case verb == "CAPABILITY":
			fmt.Fprintf(w, "* CAPABILITY IMAP4rev1 IDLE\r\n%s OK done\r\n", tag)
		case verb == "LOGIN":
			logins.Add(1)
			fmt.Fprintf(w, "%s OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n", tag)
		case verb == "EXAMINE":
			fmt.Fprintf(w, "* 0 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 1] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case verb == "IDLE":
			idleTag = tag
			if silent != "IDLE" {
				fmt.Fprintf(w, "+ idling\r\n")
			}
		case verb == "LOGOUT":
			fmt.Fprintf(w, "* BYE\r\n%s OK bye\r\n", tag)
		}
	})
}

// TestIdleSilentServer checks that a server that stops answering is given
// up within CommandTimeout and dialled again: one that never sends IDLE's
// continuation, and one that does not answer DONE (found at the re-issue).
func TestIdleSilentServer(t *testing.T) {
	for _, silent := range []string{"IDLE", "DONE"} {
		t.Run(silent, func(t *testing.T) {
			t.Parallel()
			var logins atomic.Int64
			f := idleFake(t, silent, &logins)
			var logs lockedBuffer
			s := New(&Options{IdleRestart: 100 * time.Millisecond, Server: remote.Server{
				Host: f.host(), Port: f.port(), TLS: remote.TLSNone, Username: "u", Account: "test",
				Password:       func(context.Context) (string, error) { return "p", nil },
				CommandTimeout: 200 * time.Millisecond,
				Logger:         newTestLogger(&logs),
			}})
			t.Cleanup(func() { s.Close() })
			w := runWatch(t, s, "INBOX", 0)
			if silent == "DONE" {
				w.waitChanged(t, 2*time.Second, "watching")
			}
			// Killed after 200 ms, redialled 1 s later.
			deadline := time.Now().Add(4 * time.Second)
			for {
				n := logins.Load()
				if n >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("got %d logins, want a second one after the server went silent", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if text := logs.String(); !strings.Contains(text, "no response from the server") || !strings.Contains(text, silent+` \"INBOX\"`) {
				t.Errorf("got log without the silence at %s, want it said:\n%s", silent, text)
			}
		})
	}
}

// TestIdleBackoff checks the schedule of reconnections.
func TestIdleBackoff(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name string
		ups  []time.Duration // how long each connection was up
		want []time.Duration // the delays before the reconnections
	}{
		{"doubling", []time.Duration{0, 0, 0, 0}, []time.Duration{s, 2 * s, 4 * s, 8 * s}},
		{"capped at a minute", []time.Duration{0, 0, 0, 0, 0, 0, 0, 0}, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 60 * s, 60 * s}},
		{"short connections do not reset", []time.Duration{0, 30 * s, 59 * s}, []time.Duration{s, 2 * s, 4 * s}},
		{"a healthy minute resets", []time.Duration{0, 0, 0, 60 * s, 0}, []time.Duration{s, 2 * s, 4 * s, s, 2 * s}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := backoff{min: watchBackoffMin, max: watchBackoffMax, healthy: watchHealthy}
			for i, up := range tc.ups {
				if got := b.delay(up); got != tc.want[i] {
					t.Errorf("delay %d (up %v): got %v, want %v", i, up, got, tc.want[i])
				}
			}
		})
	}
}

// TestIdleDovecot watches INBOX on a real Dovecot: a delivery calls
// changed, and after the server kicks the session out (doveadm kick)
// Watch reconnects and the next delivery arrives.
func TestIdleDovecot(t *testing.T) {
	t.Parallel()
	d, user, s := dovecotStore(t, "", 1)
	w := startWatch(t, s, "INBOX")
	w.drain()
	d.Deliver(t, user, "INBOX", testMessage(1, "delivered"))
	w.waitChanged(t, eventWait, "delivery")

	w.drain()
	d.Kick(t, user)
	w.waitChanged(t, 5*time.Second, "reconnection after kick")
	d.Deliver(t, user, "INBOX", testMessage(2, "after kick"))
	w.waitChanged(t, eventWait, "delivery after kick")
}
