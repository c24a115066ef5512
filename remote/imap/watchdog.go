package imap

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// go-imap has neither timeouts on responses nor contexts: a silent server
// blocks a command forever and only closing the connection releases it. The
// watchdog does that. The connection records when it last made progress (a
// byte read from the server); while a command runs, a goroutine closes the
// network connection when no progress was made for the timeout or when the
// caller's context ends. While the caller's callback runs (and the client is
// not reading) the watchdog is paused.

// progress is the clock of a connection: the time of the last byte read and
// whether the caller's callback holds the connection.
type progress struct {
	last   atomic.Int64 // unix nanoseconds of the last byte read or resume
	paused atomic.Int32 // > 0 while a callback runs
}

func (p *progress) touch() { p.last.Store(time.Now().UnixNano()) }

// pause stops the clock while the caller's callback runs.
func (p *progress) pause() { p.paused.Add(1) }

// resume restarts the clock from now.
func (p *progress) resume() {
	p.touch()
	p.paused.Add(-1)
}

// idle returns how long ago the last progress was, 0 while paused.
func (p *progress) idle() time.Duration {
	if p.paused.Load() > 0 {
		return 0
	}
	return time.Since(time.Unix(0, p.last.Load()))
}

// watchConn is the network connection under the IMAP client (under TLS,
// too): it records the time of every read that returned bytes.
type watchConn struct {
	net.Conn
	p *progress
}

func (c *watchConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.p.touch()
	}
	return n, err
}

// watch guards the commands that run until the returned stop function is
// called: it calls kill when ctx ends or when the connection made no progress
// for timeout. stop ends the watch and returns why kill was called
// (ctx.Err() or errNoResponse), nil when it was not.
func watch(ctx context.Context, p *progress, timeout time.Duration, kill func()) (stop func() error) {
	p.touch()
	quit := make(chan struct{})
	done := make(chan struct{})
	var reason error
	go func() {
		defer close(done)
		t := time.NewTimer(timeout)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				reason = ctx.Err()
				kill()
				return
			case <-t.C:
				idle := p.idle()
				if idle >= timeout {
					reason = errNoResponse
					kill()
					return
				}
				t.Reset(timeout - idle)
			}
		}
	}()
	return func() error {
		close(quit)
		<-done
		return reason
	}
}
