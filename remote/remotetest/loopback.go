package remotetest

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
)

// loopback is the TCP listener of a test server on 127.0.0.1. It tracks the
// connections it accepts, so that dropAll can close them all, counts them,
// and closes new ones at once while the server is down (setDown) or closed
// (Close). Protocol layers (TLS, go-imap, go-smtp) go on top of it.
type loopback struct {
	net.Listener        // the TCP listener
	addr         string // "127.0.0.1:PORT"

	mu       sync.Mutex
	conns    map[*trackedConn]struct{} // open connections; guarded by mu
	accepted int                       // connections accepted; guarded by mu
	down     bool                      // guarded by mu
	closed   bool                      // guarded by mu
}

// listenLoopback listens on 127.0.0.1 at a free port.
func listenLoopback() (*loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	return &loopback{Listener: ln, addr: ln.Addr().String(), conns: map[*trackedConn]struct{}{}}, nil
}

// Accept returns the next connection, tracked and counted. A connection
// that arrives while the server is down or closed is closed at once and
// not counted.
func (l *loopback) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.down || l.closed {
			l.mu.Unlock()
			c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, l: l}
		l.accepted++
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// Close closes the listener; connections accepted from then on (already
// queued ones) are closed at once. Open connections stay: see dropAll.
func (l *loopback) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Listener.Close()
}

// setDown makes the server unreachable (true): every open connection is
// dropped and new ones are closed at once. False serves again.
func (l *loopback) setDown(down bool) {
	l.mu.Lock()
	l.down = down
	l.mu.Unlock()
	if down {
		l.dropAll()
	}
}

// connections returns the number of connections accepted so far (not
// those closed at once because the server was down).
func (l *loopback) connections() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepted
}

// dropAll closes every open connection; the goroutines serving them then
// end on the read error.
func (l *loopback) dropAll() {
	l.mu.Lock()
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// host returns the listener's IP address.
func (l *loopback) host() string { h, _, _ := net.SplitHostPort(l.addr); return h }

// port returns the listener's TCP port.
func (l *loopback) port() int {
	_, p, _ := net.SplitHostPort(l.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// trackedConn is an accepted TCP connection, forgotten by its listener
// when closed.
type trackedConn struct {
	net.Conn
	l    *loopback
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// startForTest runs start, fails the test when it returns an error
// ("start KIND test server: ...") and closes the server in t.Cleanup.
func startForTest[S interface{ Close() error }](t testing.TB, kind string, start func() (S, error)) S {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatalf("start %s test server: %v", kind, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
