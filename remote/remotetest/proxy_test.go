package remotetest

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tcpTarget is a TCP server on loopback for the proxy tests: it runs
// handle for each connection and closes the connection after it.
type tcpTarget struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn // accepted; guarded by mu
}

func newTCPTarget(t *testing.T, handle func(net.Conn)) *tcpTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpTarget{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *tcpTarget) addr() string { return s.ln.Addr().String() }

func echo(c net.Conn) { io.Copy(c, c) }

func dialProxy(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pingPong writes one byte and reads it back, returning the time taken.
func pingPong(t *testing.T, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestProxyRoundTripLatency(t *testing.T) {
	const latency = 50 * time.Millisecond
	target := newTCPTarget(t, echo)
	p := NewProxy(t, target.addr(), &ProxyOptions{Latency: latency})
	c := dialProxy(t, p)

	// The first exchange includes the handshake: two round trips.
	if d := pingPong(t, c); d < 2*latency {
		t.Errorf("first round trip (with handshake): got %v, want ≥ %v", d, 2*latency)
	}
	for i := range 5 {
		d := pingPong(t, c)
		if d < latency {
			t.Errorf("round trip %d: got %v, want ≥ %v", i, d, latency)
		}
		if d > latency+time.Second {
			t.Errorf("round trip %d: got %v, want about %v", i, d, latency)
		}
	}
	if got := p.Connections(); got != 1 {
		t.Errorf("Connections: got %d, want 1", got)
	}
}

// TestProxyThroughput echoes 10 MB through a 50 ms proxy: the bytes come
// back exact, and far faster than a stop-and-wait relay would carry them
// (one chunk per 25 ms each way).
func TestProxyThroughput(t *testing.T) {
	const (
		latency = 50 * time.Millisecond
		size    = 10 << 20
	)
	target := newTCPTarget(t, echo)
	p := NewProxy(t, target.addr(), &ProxyOptions{Latency: latency})
	c := dialProxy(t, p)
	pingPong(t, c) // connected

	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		errc <- err
	}()
	got := make([]byte, size)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read back %d bytes: %v", size, err)
	}
	elapsed := time.Since(start)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("bytes read back differ from those written")
	}
	stopAndWait := time.Duration(size/proxyChunkSize) * latency / 2
	t.Logf("10 MB echoed in %v (stop-and-wait one way: %v)", elapsed, stopAndWait)
	if elapsed > stopAndWait/4 {
		t.Errorf("10 MB through a %v proxy: got %v, want far less than %v", latency, elapsed, stopAndWait)
	}
}

// TestProxyHalfClose passes the end of one direction on while the other
// still carries bytes.
func TestProxyHalfClose(t *testing.T) {
	target := newTCPTarget(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		c.Write(append([]byte("got "), b...))
	})
	p := NewProxy(t, target.addr(), &ProxyOptions{Latency: 10 * time.Millisecond})
	c := dialProxy(t, p)
	c.Write([]byte("hello"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "got hello" {
		t.Errorf("reply: got %q, want %q", got, "got hello")
	}
}

func TestProxyCutAll(t *testing.T) {
	ended := make(chan struct{}, 3)
	target := newTCPTarget(t, func(c net.Conn) {
		echo(c)
		ended <- struct{}{}
	})
	p := NewProxy(t, target.addr(), &ProxyOptions{Latency: 10 * time.Millisecond})
	c1, c2 := dialProxy(t, p), dialProxy(t, p)
	pingPong(t, c1)
	pingPong(t, c2)

	// Bytes in flight when cut are dropped; both sides see the end.
	c1.Write([]byte("in flight"))
	p.CutAll()
	for i, c := range []net.Conn{c1, c2} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 16)); err == nil {
			t.Errorf("client %d after CutAll: read %d bytes, want an error", i+1, n)
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("client %d after CutAll: connection still open", i+1)
		}
	}
	for i := range 2 {
		select {
		case <-ended:
		case <-time.After(5 * time.Second):
			t.Fatalf("target side after CutAll: %d of 2 connections still open after 5 s", 2-i)
		}
	}

	// The proxy still serves.
	c3 := dialProxy(t, p)
	pingPong(t, c3)
	if got := p.Connections(); got != 3 {
		t.Errorf("Connections: got %d, want 3", got)
	}
}

// TestProxyTargetDown closes the client's connection when the target
// cannot be dialed.
func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := NewProxy(t, addr, nil)
	c := dialProxy(t, p)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read through a proxy to a closed port: got %v, want the connection closed", err)
	}
}

// TestProxyCloseStopsEverything closes a proxy with open connections (one
// still waiting for its handshake delay) and finds no goroutine left.
func TestProxyCloseStopsEverything(t *testing.T) {
	target := newTCPTarget(t, echo)
	before := runtime.NumGoroutine()

	p, err := StartProxy(target.addr(), &ProxyOptions{Latency: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 3 {
		c := dialProxy(t, p)
		pingPong(t, c)
		conns = append(conns, c)
	}
	conns[0].Write(bytes.Repeat([]byte("y"), 1<<20)) // in flight
	slow, err := StartProxy(target.addr(), &ProxyOptions{Latency: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dialProxy(t, slow)

	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := slow.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			if _, err := c.Read(make([]byte, 64<<10)); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Error("client connection still open after Close")
				}
				break
			}
		}
	}
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Error("dial after Close: got a connection, want refused")
	}
	// The target's handlers end once the proxy has closed their sides.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines after Close: got %d, want ≤ %d\n%s", got, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestProxyReset passes a reset by the target on to the client.
func TestProxyReset(t *testing.T) {
	target := newTCPTarget(t, func(c net.Conn) {
		c.Read(make([]byte, 1))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	p := NewProxy(t, target.addr(), &ProxyOptions{Latency: 10 * time.Millisecond})
	c := dialProxy(t, p)
	c.Write([]byte("x"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after the target reset: got %v, want ECONNRESET", err)
	}
}
