package pop3store

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a store under test with its maildrop and directory.
type env struct {
	t     *testing.T
	dir   string
	drop  *fakeDrop
	clock *clock
	leave bool
	s     *Store
}

func newEnv(t *testing.T, leave bool, msgs ...*fakeMsg) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "pop3", "acct"), drop: newFakeDrop(msgs...), clock: newClock(), leave: leave}
	e.reopen()
	return e
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// reopen closes the store (if open) and opens it again on the same
// directory and maildrop.
func (e *env) reopen() {
	e.t.Helper()
	if e.s != nil {
		if err := e.s.Close(); err != nil {
			e.t.Fatalf("Close: %v", err)
		}
	}
	s, err := Open(&Options{
		Dir: e.dir, Account: "acct", Downloader: e.drop, LeaveOnServer: e.leave,
		PollWait: time.Minute, Logger: testLogger(e.t), Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.s = s
	e.t.Cleanup(func() { s.Close() })
}

func (e *env) poll() error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.s.Poll(ctx)
}

func (e *env) mustPoll() {
	e.t.Helper()
	if err := e.poll(); err != nil {
		e.t.Fatalf("Poll: %v", err)
	}
}

// list returns the mailbox's listing without polling.
func (e *env) list(mailbox string) *remote.Listing {
	e.t.Helper()
	e.s.mu.RLock()
	f, ok := e.s.folders[mailbox]
	e.s.mu.RUnlock()
	if !ok {
		e.t.Fatalf("no mailbox %s", mailbox)
	}
	return f.listing
}

// subjects returns the subjects of the listing, in UID order.
func subjects(l *remote.Listing) []string {
	var out []string
	for _, m := range l.Messages {
		out = append(out, m.Subject)
	}
	return out
}

// read returns the content of message uid.
func (e *env) read(mailbox string, uid uint32) []byte {
	e.t.Helper()
	l := e.list(mailbox)
	f, err := e.s.Open(context.Background(), mailbox, l.UIDValidity, uid)
	if err != nil {
		e.t.Fatalf("Open %s/%d: %v", mailbox, uid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// files returns the names in msgs/, and fails the test on a temporary file.
func (e *env) files() []string {
	e.t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.dir, msgsDir))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), tempPrefix) {
			e.t.Errorf("temporary file left: %s", d.Name())
		}
		out = append(out, d.Name())
	}
	return out
}

// stored reports whether a message with the UIDL is in the store's INBOX.
func (e *env) stored(uidl string) bool {
	e.s.mu.RLock()
	defer e.s.mu.RUnlock()
	for _, r := range e.s.folders[Inbox].msgs {
		if r.UIDL == uidl {
			if _, err := os.Stat(e.s.path(r.File)); err != nil {
				return false
			}
			return true
		}
	}
	return false
}

// checkInbox compares INBOX with want (UIDL -> body), message by message.
func (e *env) checkInbox(want map[string]string) {
	e.t.Helper()
	l := e.list(Inbox)
	if len(l.Messages) != len(want) {
		e.t.Fatalf("INBOX has %d messages, want %d", len(l.Messages), len(want))
	}
	seen := map[string]bool{}
	for _, m := range l.Messages {
		e.s.mu.RLock()
		r := e.s.folders[Inbox].msgs[m.UID]
		e.s.mu.RUnlock()
		if seen[r.UIDL] {
			e.t.Errorf("UIDL %s stored twice", r.UIDL)
		}
		seen[r.UIDL] = true
		body, ok := want[r.UIDL]
		if !ok {
			e.t.Errorf("unexpected UIDL %q in INBOX", r.UIDL)
			continue
		}
		if got := e.read(Inbox, m.UID); !bytes.Equal(got, []byte(body)) {
			e.t.Errorf("message %s: got %q, want %q", r.UIDL, got, body)
		}
		if m.Size != int64(len(body)) {
			e.t.Errorf("message %s: size %d, want %d", r.UIDL, m.Size, len(body))
		}
	}
}

// sample returns a small well-formed message.
func sample(subject string) string {
	return "From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject +
		"\r\nDate: Fri, 20 Nov 2026 09:15:00 +0100\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\nBody of " + subject + "\r\n"
}

var _ = remote.ErrNotFound
