package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"mailfs/remote"
)

// sentMsg is one message a fakeSender received.
type sentMsg struct {
	env  remote.Envelope
	data string
}

// fakeSender records what it is asked to send. Each call takes the next of
// errs (nil once they run out); hook, when set, runs first and may block.
type fakeSender struct {
	mu    sync.Mutex // guards all fields
	sent  []sentMsg  // successful sends
	calls int
	errs  []error
	hook  func(ctx context.Context, env remote.Envelope, data string) error
}

func (f *fakeSender) Send(ctx context.Context, env remote.Envelope, msg io.Reader) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.calls++
	hook := f.hook
	var scripted error
	if len(f.errs) > 0 {
		scripted, f.errs = f.errs[0], f.errs[1:]
	}
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, env, string(b)); err != nil {
			return err
		}
	}
	if scripted != nil {
		return scripted
	}
	f.mu.Lock()
	f.sent = append(f.sent, sentMsg{env: env, data: string(b)})
	f.mu.Unlock()
	return nil
}

func (f *fakeSender) Close() error { return nil }

func (f *fakeSender) got() []sentMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMsg(nil), f.sent...)
}

func (f *fakeSender) nCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakeCopier records Sent copies; errs scripts its failures.
type fakeCopier struct {
	mu     sync.Mutex // guards all fields
	copies []string
	calls  int
	sizes  []int64
	errs   []error
}

func (c *fakeCopier) copy(ctx context.Context, msg io.Reader, size int64) error {
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if len(c.errs) > 0 {
		e := c.errs[0]
		c.errs = c.errs[1:]
		if e != nil {
			return e
		}
	}
	c.copies = append(c.copies, string(b))
	c.sizes = append(c.sizes, size)
	return nil
}

var (
	errTemp = errors.New("451 4.3.0 mailbox busy, try again later")
	errPerm = fmt.Errorf("550 5.1.1 no such user: %w", remote.ErrPermanent)
)

// testEnv is an Outbox with two accounts on fake senders:
// "work" (me@work.example, default) and "home" (me@home.example, Me@Alias.example).
type testEnv struct {
	t      *testing.T
	dir    string
	opts   Options
	ob     *Outbox
	work   *fakeSender
	home   *fakeSender
	cancel context.CancelFunc
	done   chan error
}

func newEnv(t *testing.T, change ...func(*Options)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir() + "/spool", work: &fakeSender{}, home: &fakeSender{}}
	e.opts = Options{
		Dir: e.dir,
		Accounts: []Account{
			{Name: "work", Addresses: []string{"me@work.example"}, Default: true, Sender: e.work},
			{Name: "home", Addresses: []string{"me@home.example", "Me@Alias.example"}, Sender: e.home},
		},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, c := range change {
		c(&e.opts)
	}
	e.dir = e.opts.Dir
	e.open()
	return e
}

func (e *testEnv) open() {
	e.t.Helper()
	ob, err := Open(&e.opts)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.ob = ob
}

// start runs the queue until stop.
func (e *testEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- e.ob.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

func (e *testEnv) stop() {
	e.t.Helper()
	if e.cancel == nil {
		return
	}
	e.cancel()
	if err := <-e.done; !errors.Is(err, context.Canceled) {
		e.t.Errorf("Run returned %v, want context.Canceled", err)
	}
	e.cancel = nil
}

// reopen simulates a restart: stop, close, open again on the same spool.
func (e *testEnv) reopen() {
	e.t.Helper()
	e.stop()
	if err := e.ob.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

// commit writes msg into outbox/name in chunks of 7 bytes and commits it.
func (e *testEnv) commit(name, msg string) (string, error) {
	e.t.Helper()
	d, err := e.ob.Create(name)
	if err != nil {
		e.t.Fatalf("Create(%q): %v", name, err)
	}
	defer d.Abort()
	for off := 0; off < len(msg); off += 7 {
		end := min(off+7, len(msg))
		if _, err := d.WriteAt([]byte(msg[off:end]), int64(off)); err != nil {
			cerr := d.Commit()
			return d.Name(), fmt.Errorf("write at %d: %w (commit: %v)", off, err, cerr)
		}
	}
	err = d.Commit()
	return d.Name(), err
}

func (e *testEnv) mustCommit(name, msg string) string {
	e.t.Helper()
	n, err := e.commit(name, msg)
	if err != nil {
		e.t.Fatalf("commit %s: %v", name, err)
	}
	return n
}

// spoolEntries lists what is left in a spool directory.
func (e *testEnv) spoolEntries(sub string) []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.dir + "/" + sub)
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, en := range ents {
		names = append(names, en.Name())
	}
	return names
}

func names(es []Entry) []string {
	var n []string
	for _, e := range es {
		n = append(n, e.Name)
	}
	return n
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// crlf turns the lines of s into CRLF lines.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
