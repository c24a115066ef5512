package remotetest

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Tap is a TCP relay on 127.0.0.1 in front of a server (an in-process one
// or a real Dovecot) that records what clients ask and counts what the
// server answers: the lines clients send (commands, and the contents of
// any literal they send, line by line) and the bytes the server sends
// back. A test points a client at the tap to check which commands an
// operation sent and how many bytes it cost, such as a FETCH of one part
// rather than the whole message. Start one with StartTap or NewTap;
// Close stops it.
type Tap struct {
	target string
	lb     *loopback

	wg sync.WaitGroup // the accept loop and every relay goroutine

	mu          sync.Mutex
	lines       []string // guarded by mu
	serverBytes int64    // guarded by mu
}

// NewTap starts a tap in front of target for the test and stops it in
// t.Cleanup.
func NewTap(t testing.TB, target string) *Tap {
	t.Helper()
	return startForTest(t, "tap", func() (*Tap, error) { return StartTap(target) })
}

// StartTap starts a tap listening on 127.0.0.1 at a free port that relays
// each connection to target ("host:port"), dialled when the client
// connects.
func StartTap(target string) (*Tap, error) {
	lb, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	t := &Tap{target: target, lb: lb}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr returns the tap's listening address, "127.0.0.1:PORT".
func (t *Tap) Addr() string { return t.lb.addr }

// Host returns the tap's IP address.
func (t *Tap) Host() string { return t.lb.host() }

// Port returns the tap's TCP port.
func (t *Tap) Port() int { return t.lb.port() }

// Lines returns the lines clients sent since the start or the last Reset,
// without their line breaks, in the order they arrived (lines of
// concurrent connections interleave; a line longer than 64 KiB comes in
// pieces). A line is recorded before it is passed to the server, so it
// is there once the server has answered it.
func (t *Tap) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// ServerBytes returns the bytes the server sent to clients since the
// start or the last Reset.
func (t *Tap) ServerBytes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.serverBytes
}

// Reset forgets the lines and bytes recorded so far.
func (t *Tap) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines, t.serverBytes = nil, 0
}

// Close stops listening, closes every relayed connection and waits for
// the tap's goroutines.
func (t *Tap) Close() error {
	err := t.lb.Close()
	t.lb.dropAll()
	t.wg.Wait()
	return err
}

func (t *Tap) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.lb.Accept()
		if err != nil {
			return
		}
		t.wg.Add(1)
		go t.relay(c)
	}
}

// relay copies bytes both ways between the client c and a new connection
// to the target until either side closes.
func (t *Tap) relay(c net.Conn) {
	defer t.wg.Done()
	defer c.Close()
	up, err := net.Dial("tcp", t.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() {
		// Server to client: counted as it goes.
		io.Copy(tapCounter{t: t, w: c}, up)
		c.Close()
		done <- struct{}{}
	}()
	go func() {
		// Client to server: recorded line by line before it is passed
		// on, so that a line is in Lines before the server can answer.
		var partial []byte
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			partial = t.record(append(partial, buf[:n]...))
			if n > 0 {
				if _, werr := up.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		up.Close()
		done <- struct{}{}
	}()
	<-done
	c.Close()
	up.Close()
	<-done
}

// tapCounter adds the bytes written through it to the tap's count.
type tapCounter struct {
	t *Tap
	w io.Writer
}

func (c tapCounter) Write(p []byte) (int, error) {
	// Counted before they are passed on, so that what a client has
	// received is counted.
	c.t.mu.Lock()
	c.t.serverBytes += int64(len(p))
	c.t.mu.Unlock()
	return c.w.Write(p)
}

// maxTapLine is the longest line Lines holds: a longer one is cut into
// pieces (a literal without line breaks).
const maxTapLine = 64 << 10

// record adds the complete lines of b to the log and returns the rest.
func (t *Tap) record(b []byte) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		i := bytes.IndexByte(b, '\n')
		switch {
		case i >= 0:
			t.lines = append(t.lines, strings.TrimRight(string(b[:i]), "\r"))
			b = b[i+1:]
		case len(b) > maxTapLine: // a long literal: cut
			t.lines = append(t.lines, string(b[:maxTapLine]))
			b = b[maxTapLine:]
		default:
			return b
		}
	}
}
