package remotetest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// ProxyOptions configures a TCP proxy. The zero value (or nil) forwards
// bytes without delay.
type ProxyOptions struct {
	// Latency is the round-trip time the proxy adds: every chunk of bytes
	// is delivered Latency/2 after it was read, in each direction. The
	// delay is that of a link, not of a stop-and-wait relay: chunks are
	// read as they come and queued with their due time, so throughput is
	// not capped by the delay. A new connection also costs a TCP
	// handshake: the target is dialed 1.5 × Latency after the client
	// connected, so a server's greeting arrives two round trips after
	// connect, as over a real link.
	Latency time.Duration
}

// Proxy is a TCP proxy on 127.0.0.1 in front of a target address, adding
// latency and able to cut every connection at once. Start one with
// StartProxy or NewProxy; Close stops it.
type Proxy struct {
	target string
	delay  time.Duration // one way: Latency/2
	lb     *loopback     // the listener: address, host, port

	wg sync.WaitGroup // the accept loop and every pipe goroutine

	mu       sync.Mutex
	pairs    map[*proxyPair]struct{} // open proxied connections; guarded by mu
	accepted int                     // connections accepted; guarded by mu
	closed   bool                    // guarded by mu
}

// proxyChunkSize is the most bytes read at once from one side; a chunk is
// the unit that is stamped and delivered.
const proxyChunkSize = 32 << 10

// proxyQueueLen bounds the chunks in flight per direction. A full queue
// stops reading, so the sender is slowed by TCP flow control as by a full
// window (proxyQueueLen × proxyChunkSize bytes in flight at most).
const proxyQueueLen = 256

// proxyDialTimeout bounds the dial of the target.
const proxyDialTimeout = 10 * time.Second

// NewProxy starts a proxy to target for the test and stops it in t.Cleanup.
func NewProxy(t testing.TB, target string, opts *ProxyOptions) *Proxy {
	t.Helper()
	return startForTest(t, "proxy", func() (*Proxy, error) { return StartProxy(target, opts) })
}

// StartProxy starts a proxy listening on 127.0.0.1 at a free port that
// forwards each connection to target ("host:port"). The target is dialed
// for each connection, so it need not be up yet. Close stops the proxy.
func StartProxy(target string, opts *ProxyOptions) (*Proxy, error) {
	var o ProxyOptions
	if opts != nil {
		o = *opts
	}
	if o.Latency < 0 {
		return nil, fmt.Errorf("start proxy to %s: negative latency %v", target, o.Latency)
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("start proxy: target %q is not host:port: %w", target, err)
	}
	lb, err := listenLoopback()
	if err != nil {
		return nil, fmt.Errorf("start proxy to %s: %w", target, err)
	}
	p := &Proxy{target: target, delay: o.Latency / 2, lb: lb, pairs: map[*proxyPair]struct{}{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the proxy's listening address, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.lb.addr }

// Host returns the proxy's IP address.
func (p *Proxy) Host() string { return p.lb.host() }

// Port returns the proxy's TCP port.
func (p *Proxy) Port() int { return p.lb.port() }

// Connections returns the number of client connections accepted so far.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// CutAll closes every proxied connection, both the client's and the
// target's side, before it returns; bytes still queued are dropped, and
// each side reads the end of the stream (FIN) after what it had received.
// The proxy keeps accepting new connections.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	pairs := make([]*proxyPair, 0, len(p.pairs))
	for c := range p.pairs {
		pairs = append(pairs, c)
	}
	p.mu.Unlock()
	for _, c := range pairs {
		c.close()
	}
}

// Close stops listening, cuts every connection and waits until every
// goroutine of the proxy has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.lb.Listener.Close()
	p.CutAll()
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.lb.Listener.Accept()
		if err != nil {
			return // closed
		}
		pair := &proxyPair{client: c, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.accepted++
		p.pairs[pair] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(pair, time.Now())
	}
}

// serve runs both directions of a pair until they end or the pair is
// closed. Bytes from the client are read and stamped from the start; they
// are written once the target is dialed.
func (p *Proxy) serve(pair *proxyPair, accepted time.Time) {
	defer p.wg.Done()
	defer p.forget(pair)

	upstream := make(chan net.Conn, 1)
	var toTarget sync.WaitGroup
	toTarget.Go(func() { p.pipe(pair, pair.client, nil, upstream) })
	up := p.dial(pair, accepted)
	if up == nil {
		close(upstream)
	} else {
		upstream <- up
		p.pipe(pair, up, pair.client, nil)
	}
	toTarget.Wait()
}

// dial connects to the target once the handshake's delay since accepted
// has passed, and records the connection in pair. It returns nil, with the
// pair closed, if that fails or the pair was closed first.
func (p *Proxy) dial(pair *proxyPair, accepted time.Time) net.Conn {
	if !pair.sleepUntil(accepted.Add(3 * p.delay)) {
		return nil
	}
	d := net.Dialer{Timeout: proxyDialTimeout}
	up, err := d.Dial("tcp", p.target)
	if err != nil {
		pair.close()
		return nil
	}
	if !pair.setUpstream(up) {
		up.Close()
		return nil
	}
	return up
}

func (p *Proxy) forget(pair *proxyPair) {
	pair.close()
	p.mu.Lock()
	delete(p.pairs, pair)
	p.mu.Unlock()
}

// chunk is a piece of the byte stream with the time it is due at the
// other side. A chunk with eof set carries the end of the stream (its data
// is empty) and err a read failure, to be passed on as a cut connection.
type chunk struct {
	data []byte
	due  time.Time
	eof  bool
	err  error
}

// pipe carries one direction: a reader goroutine stamps each chunk read
// from src and queues it; this goroutine writes each to dst when it is
// due. dst is given, or (client to target) comes from dstc once dialed; a
// closed dstc means there is none. The end of src is passed on as a
// half-close (CloseWrite), a read error as a reset of dst; a write error
// closes the pair.
func (p *Proxy) pipe(pair *proxyPair, src, dst net.Conn, dstc <-chan net.Conn) {
	queue := make(chan chunk, proxyQueueLen)
	// The reader ends at the end of src or when the pair is closed (which
	// closes src); every return of the writer below happens after one of
	// them.
	var reader sync.WaitGroup
	defer reader.Wait()
	reader.Go(func() {
		buf := make([]byte, proxyChunkSize)
		for {
			n, err := src.Read(buf)
			now := time.Now()
			if n > 0 {
				// A queued chunk owns its bytes: a small one is copied
				// (commands, short replies) and buf reused; a large one
				// keeps buf.
				data := buf[:n]
				if n < proxyChunkSize/4 {
					data = append([]byte(nil), data...)
				} else {
					buf = make([]byte, proxyChunkSize)
				}
				if !pair.send(queue, chunk{data: data, due: now.Add(p.delay)}) {
					return
				}
			}
			if err != nil {
				c := chunk{due: now.Add(p.delay), eof: true}
				if !errors.Is(err, io.EOF) {
					c.err = err
				}
				pair.send(queue, c)
				return
			}
		}
	})

	if dst == nil {
		select {
		case up, ok := <-dstc:
			if !ok {
				return
			}
			dst = up
		case <-pair.done:
			return
		}
	}
	for {
		var c chunk
		select {
		case c = <-queue:
		case <-pair.done:
			return
		}
		if !pair.sleepUntil(c.due) {
			return
		}
		if c.eof {
			if c.err != nil {
				// A reset (or another failure) on one side resets the
				// other, as a cut link would.
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				pair.close()
				return
			}
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				if cw.CloseWrite() == nil {
					return
				}
			}
			pair.close()
			return
		}
		if _, err := dst.Write(c.data); err != nil {
			pair.close()
			return
		}
	}
}

// proxyPair is one proxied connection: the client's side and, once dialed,
// the target's side.
type proxyPair struct {
	client net.Conn
	done   chan struct{} // closed by close

	mu       sync.Mutex
	upstream net.Conn // guarded by mu; nil until dialed
	closed   bool     // guarded by mu
}

// setUpstream records the dialed target connection; false if the pair was
// closed meanwhile (the caller closes up).
func (c *proxyPair) setUpstream(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.upstream = up
	return true
}

// close closes both sides at once and wakes every goroutine of the pair.
func (c *proxyPair) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	up := c.upstream
	c.mu.Unlock()
	close(c.done)
	c.client.Close()
	if up != nil {
		up.Close()
	}
}

// send queues ch; false if the pair was closed first.
func (c *proxyPair) send(queue chan<- chunk, ch chunk) bool {
	select {
	case queue <- ch:
		return true
	case <-c.done:
		return false
	}
}

// sleepUntil waits until t; false if the pair was closed first.
func (c *proxyPair) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-c.done:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-c.done:
		return false
	}
}
