package pop3store

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"mailfs/remote"
)

// fakeMsg is one message of the fake maildrop. A message with gen set
// produces size bytes from gen instead of holding a body.
type fakeMsg struct {
	uid  string
	body []byte
	size int64
	gen  func(w io.Writer) error
}

// fakeDrop is a scripted POP3 maildrop: a remote.Downloader that counts
// what is done to it and injects faults.
type fakeDrop struct {
	mu       sync.Mutex
	msgs     []*fakeMsg
	connects int
	retr     map[string]int // RETR count by UID
	dele     map[string]int // committed DELE count by UID
	quits    int

	// Faults and hooks.
	down       bool             // Connect fails with ErrUnavailable
	failAfter  map[string]int64 // UID -> bytes written before the connection drops
	refuse     map[string]bool  // UID -> RETR answers -ERR (the session goes on)
	keepDele   bool             // QUIT succeeds but the server keeps deleted mail
	chunkDelay time.Duration    // sleep between chunks of RETR
	onDelete   func(uid string) // called when DELE is sent
	connected  chan struct{}    // if set, receives a value on each Connect
}

func newFakeDrop(msgs ...*fakeMsg) *fakeDrop {
	return &fakeDrop{msgs: msgs, retr: map[string]int{}, dele: map[string]int{}, failAfter: map[string]int64{}}
}

func msg(uid, body string) *fakeMsg { return &fakeMsg{uid: uid, body: []byte(body)} }

func (d *fakeDrop) add(m ...*fakeMsg) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, m...)
}

func (d *fakeDrop) uids() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, m := range d.msgs {
		out = append(out, m.uid)
	}
	return out
}

func (d *fakeDrop) retrCount(uid string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.retr[uid]
}

func (d *fakeDrop) totalRetr() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.retr {
		n += c
	}
	return n
}

func (d *fakeDrop) totalDele() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.dele {
		n += c
	}
	return n
}

func (d *fakeDrop) Connect(ctx context.Context) (remote.DropSession, error) {
	d.mu.Lock()
	d.connects++
	down := d.down
	msgs := slices.Clone(d.msgs)
	ch := d.connected
	d.mu.Unlock()
	if ch != nil {
		ch <- struct{}{}
	}
	if down {
		return nil, fmt.Errorf("dial fake: connection refused: %w", remote.ErrUnavailable)
	}
	return &fakeSession{d: d, msgs: msgs, marked: map[int]bool{}}, nil
}

type fakeSession struct {
	d      *fakeDrop
	msgs   []*fakeMsg // the maildrop at login; number = index+1
	marked map[int]bool
	broken bool
}

func (s *fakeSession) List(ctx context.Context) ([]remote.DropMessage, error) {
	var out []remote.DropMessage
	for i, m := range s.msgs {
		size := int64(len(m.body))
		if m.gen != nil {
			size = m.size
		}
		out = append(out, remote.DropMessage{Number: i + 1, UID: m.uid, Size: size})
	}
	return out, nil
}

func (s *fakeSession) Retrieve(ctx context.Context, n int, w io.Writer) (int64, error) {
	if s.broken {
		return 0, fmt.Errorf("fake: %w", remote.ErrUnavailable)
	}
	if n < 1 || n > len(s.msgs) {
		return 0, fmt.Errorf("fake: no message %d: %w", n, remote.ErrRefused)
	}
	m := s.msgs[n-1]
	s.d.mu.Lock()
	s.d.retr[m.uid]++
	limit, fail := s.d.failAfter[m.uid]
	refused := s.d.refuse[m.uid]
	delay := s.d.chunkDelay
	s.d.mu.Unlock()
	if refused {
		return 0, fmt.Errorf("fake: -ERR cannot read message %d: %w", n, remote.ErrRefused)
	}
	cw := &countWriter{w: w, limit: -1}
	if fail {
		cw.limit = limit
	}
	var src io.Writer = cw
	if delay > 0 {
		src = &slowWriter{ctx: ctx, w: cw, delay: delay}
	}
	var err error
	if m.gen != nil {
		err = m.gen(src)
	} else {
		for b := m.body; len(b) > 0 && err == nil; {
			k := min(len(b), 4096)
			_, err = src.Write(b[:k])
			b = b[k:]
		}
	}
	if err != nil {
		s.broken = true
		return cw.n, err
	}
	return cw.n, nil
}

func (s *fakeSession) Delete(ctx context.Context, n int) error {
	if s.broken {
		return fmt.Errorf("fake: %w", remote.ErrUnavailable)
	}
	s.marked[n] = true
	if h := s.d.onDelete; h != nil {
		h(s.msgs[n-1].uid)
	}
	return nil
}

func (s *fakeSession) Quit(ctx context.Context) error {
	if s.broken {
		return fmt.Errorf("fake: %w", remote.ErrUnavailable)
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	d.quits++
	gone := map[*fakeMsg]bool{}
	for n := range s.marked {
		m := s.msgs[n-1]
		d.dele[m.uid]++
		gone[m] = true
	}
	if !d.keepDele {
		d.msgs = slices.DeleteFunc(d.msgs, func(m *fakeMsg) bool { return gone[m] })
	}
	return nil
}

func (s *fakeSession) Close() error { return nil }

// errDropped is what a dropped connection looks like.
var errDropped = fmt.Errorf("fake: connection reset mid-RETR: %w", remote.ErrUnavailable)

// countWriter counts bytes and fails with errDropped after limit (>= 0).
type countWriter struct {
	w     io.Writer
	n     int64
	limit int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.limit >= 0 && c.n+int64(len(p)) > c.limit {
		k := int(c.limit - c.n)
		k, _ = c.w.Write(p[:k])
		c.n += int64(k)
		return k, errDropped
	}
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}

// slowWriter sleeps before each write.
type slowWriter struct {
	ctx   context.Context
	w     io.Writer
	delay time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	select {
	case <-time.After(s.delay):
	case <-s.ctx.Done():
		return 0, s.ctx.Err()
	}
	return s.w.Write(p)
}

var _ remote.Downloader = (*fakeDrop)(nil)
