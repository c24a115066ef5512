package smtp

import (
	"context"
	"net"
	"sync"
	"time"
)

// deadlineConn is the TCP connection under go-smtp's client. It makes every
// blocking call honour the context of the operation in progress and bounds
// writes, which go-smtp leaves without a deadline while DATA streams:
//
//   - every deadline go-smtp sets is clamped to the context's deadline;
//   - every Write first sets a write deadline of now + timeout, so a server
//     that stops reading in the middle of DATA is noticed;
//   - when the context is cancelled every deadline is moved into the past,
//     so the call blocked in Read or Write returns at once.
//
// A connection whose context ended in the middle of a call is out of step
// with the server and is dropped by the caller.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	mu      sync.Mutex
	limit   time.Time // deadline of the bound context, zero for none; guarded by mu
	expired bool      // the bound context ended; guarded by mu
}

// pastDeadline is a deadline that has already passed.
var pastDeadline = time.Unix(1, 0)

func newDeadlineConn(c net.Conn, timeout time.Duration) *deadlineConn {
	return &deadlineConn{Conn: c, timeout: timeout}
}

// bind ties the connection to ctx until the returned function is called.
// That function reports whether the connection is still usable: false when
// ctx ended while bound.
func (c *deadlineConn) bind(ctx context.Context) (unbind func() bool) {
	c.mu.Lock()
	c.limit, _ = ctx.Deadline()
	c.expired = false
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.expired = true
		c.Conn.SetDeadline(pastDeadline)
		c.mu.Unlock()
	})
	return func() bool {
		stopped := stop()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.limit = time.Time{}
		ok := stopped && !c.expired
		c.expired = false
		return ok
	}
}

// clamp returns the deadline to set instead of t. c.mu must be held.
func (c *deadlineConn) clamp(t time.Time) time.Time {
	if c.expired {
		return pastDeadline
	}
	if !c.limit.IsZero() && (t.IsZero() || t.After(c.limit)) {
		return c.limit
	}
	return t
}

// SetDeadline sets both deadlines, clamped to the bound context.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.clamp(t))
}

// SetReadDeadline sets the read deadline, clamped to the bound context.
func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.clamp(t))
}

// SetWriteDeadline sets the write deadline, clamped to the bound context.
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

// Write writes b with a write deadline of now + timeout.
func (c *deadlineConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetWriteDeadline(c.clamp(time.Now().Add(c.timeout)))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
