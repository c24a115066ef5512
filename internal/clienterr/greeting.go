package clienterr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// GreetingSilence is how long a server may say nothing after the connect
// before AwaitGreeting checks, on a second connection, whether it speaks
// TLS at once. Plain-text mail servers greet within milliseconds; a TLS
// server waits for the client's hello and never greets.
const GreetingSilence = 3 * time.Second

// probeTimeout bounds the TLS handshake of the second connection.
const probeTimeout = 2 * time.Second

// TLSAtOnceError says that a server speaks TLS from its first byte where
// a plain-text greeting was expected (tls = "starttls" or "none" on an
// implicit-TLS port).
type TLSAtOnceError struct {
	// Silent is how long the server said nothing before a second
	// connection found it answering a TLS handshake; zero when its first
	// bytes were a TLS record.
	Silent time.Duration
}

// Error says what was seen.
func (e *TLSAtOnceError) Error() string {
	if e.Silent > 0 {
		return fmt.Sprintf("no plain-text greeting within %s, and the server answers a TLS handshake", e.Silent)
	}
	return "the server sent a TLS record instead of a plain-text greeting"
}

// GreetingOptions configures AwaitGreeting; nil means defaults.
type GreetingOptions struct {
	// Silence is how long to wait for a first byte before probing;
	// default GreetingSilence.
	Silence time.Duration
	// Addr and ServerName say where the probe connects and whom its TLS
	// hello names; with Addr empty there is no probe and AwaitGreeting
	// just waits.
	Addr, ServerName string
}

// AwaitGreeting waits, at most wait, for the first bytes of the plain-text
// greeting a server sends on nc, and returns a connection that reads those
// bytes again before the rest. It fails with a *TLSAtOnceError when the
// first bytes are a TLS record (0x16 0x03), or when the server stays
// silent for opts.Silence and a TLS handshake on a second connection to
// opts.Addr gets a TLS answer (the probe sends nothing but a TLS hello
// and is closed at once). A server silent for wait is a timeout
// (a net.Error whose Timeout is true). When ctx ends, the wait ends with
// ctx's error. The read deadline of nc is cleared on success.
func AwaitGreeting(ctx context.Context, nc net.Conn, wait time.Duration, opts *GreetingOptions) (net.Conn, error) {
	var o GreetingOptions
	if opts != nil {
		o = *opts
	}
	if o.Silence <= 0 {
		o.Silence = GreetingSilence
	}
	start := time.Now()

	// The context moves the deadline into the past; mu orders that with
	// our own deadlines.
	var mu sync.Mutex
	ended := false
	setDeadline := func(t time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			nc.SetReadDeadline(t)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		ended = true
		nc.SetReadDeadline(time.Unix(1, 0))
	})
	defer stop()

	buf := make([]byte, 512)
	probed := false
	for {
		limit := start.Add(wait)
		if !probed && o.Addr != "" && o.Silence < wait {
			limit = start.Add(o.Silence)
		}
		setDeadline(limit)
		n, err := nc.Read(buf)
		if n > 0 {
			setDeadline(time.Time{})
			if buf[0] == 0x16 && (n < 2 || buf[1] == 0x03) {
				return nil, &TLSAtOnceError{}
			}
			return &prefixConn{Conn: nc, prefix: buf[:n]}, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() || probed || o.Addr == "" || o.Silence >= wait {
			if err == nil {
				err = errors.New("empty read")
			}
			return nil, err
		}
		probed = true
		if ProbeTLS(ctx, o.Addr, o.ServerName) {
			return nil, &TLSAtOnceError{Silent: time.Since(start).Round(100 * time.Millisecond)}
		}
	}
}

// ProbeTLS reports whether the server at addr answers a TLS handshake,
// on a connection of its own that is closed at once: true when the
// handshake completes or the server answers with a TLS alert. The
// certificate is not verified and nothing but the TLS hello is sent.
func ProbeTLS(ctx context.Context, addr, serverName string) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer nc.Close()
	tc := tls.Client(nc, &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	err = tc.HandshakeContext(ctx)
	if err == nil {
		return true
	}
	var alert tls.AlertError
	return errors.As(err, &alert)
}

// prefixConn reads prefix before the rest of Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

// Read returns the bytes of prefix first.
func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
