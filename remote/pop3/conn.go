package pop3

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Sizes of the command layer.
const (
	// bufSize is the read buffer of a connection: the most a body read ever
	// holds in memory, and the longest status or listing line accepted.
	bufSize = 64 << 10
	// maxAuthLine is the longest AUTH command line with its initial
	// response (RFC 5034 section 4); longer ones send the response after an
	// empty challenge.
	maxAuthLine = 255
)

// conn is one POP3 connection: a buffered reader and writer over a network
// connection whose deadline is renewed before every read and write, so the
// server may stay silent for at most timeout at any point of a command.
//
// Every error other than an -ERR reply breaks the connection: it is closed
// and every later command fails with the first error. A conn is used by one
// goroutine at a time; close may be called from any goroutine.
type conn struct {
	nc      net.Conn // the current connection (TLS after STLS)
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration

	broken error // the error that broke the connection; nil while usable

	closeOnce sync.Once
	closeErr  error
}

// newConn wraps nc; timeout bounds each read and write.
func newConn(nc net.Conn, timeout time.Duration) *conn {
	c := &conn{timeout: timeout}
	c.setNetConn(nc)
	return c
}

// setNetConn makes nc the connection to read and write, as after STLS.
func (c *conn) setNetConn(nc net.Conn) {
	c.nc = nc
	tc := &timedConn{Conn: nc, timeout: c.timeout}
	c.r = bufio.NewReaderSize(tc, bufSize)
	c.w = bufio.NewWriterSize(tc, 4096)
}

// close closes the network connection; safe to call more than once and
// from any goroutine.
func (c *conn) close() error {
	c.closeOnce.Do(func() { c.closeErr = c.nc.Close() })
	return c.closeErr
}

// fail records err as the reason the connection is unusable and closes it.
func (c *conn) fail(err error) {
	if c.broken == nil {
		c.broken = err
	}
	c.close()
}

// watch closes the connection when ctx is done before the returned stop
// is called. stop reports ctx's error when the watcher closed the
// connection, nil otherwise.
func (c *conn) watch(ctx context.Context) (stop func() error) {
	if ctx.Done() == nil {
		return func() error { return nil }
	}
	fired := make(chan struct{})
	stopFn := context.AfterFunc(ctx, func() {
		c.close()
		close(fired)
	})
	return func() error {
		if stopFn() {
			return nil
		}
		<-fired
		return ctx.Err()
	}
}

// send writes one command line.
func (c *conn) send(line string) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		// Callers validate arguments; this is the last line of defence
		// against injecting a second command.
		return &protocolError{msg: "command contains a line break or NUL"}
	}
	if _, err := c.w.WriteString(line); err != nil {
		return err
	}
	if _, err := c.w.WriteString("\r\n"); err != nil {
		return err
	}
	return c.w.Flush()
}

// cmd sends line and reads its status line; it returns the text after
// "+OK", or a *serverError for -ERR.
func (c *conn) cmd(line string) (string, error) {
	if err := c.send(line); err != nil {
		return "", err
	}
	return c.readStatus()
}

// readLine reads one line and returns it without its line ending (CRLF or
// bare LF). The slice is valid until the next read.
func (c *conn) readLine() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, &protocolError{msg: fmt.Sprintf("line longer than %d bytes", bufSize)}
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// readStatus reads a status line: "+OK [text]" returns the text,
// "-ERR [text]" a *serverError, anything else a *protocolError.
func (c *conn) readStatus() (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	return parseStatus(line)
}

// parseStatus interprets a status line.
func parseStatus(line []byte) (string, error) {
	switch {
	case bytes.Equal(line, []byte("+OK")):
		return "", nil
	case bytes.HasPrefix(line, []byte("+OK ")):
		return string(line[4:]), nil
	case bytes.Equal(line, []byte("-ERR")):
		return "", &serverError{}
	case bytes.HasPrefix(line, []byte("-ERR ")):
		return "", &serverError{text: printable(line[5:])}
	}
	return "", &protocolError{msg: fmt.Sprintf("expected +OK or -ERR, got %q", clip(line, 80))}
}

// readMulti reads the lines of a multi-line answer up to the terminating
// "." and calls fn with each, dot-unstuffed and without its line ending.
// On an error from fn the rest of the answer is still read, so that the
// connection stays in step, and the first error is returned.
func (c *conn) readMulti(fn func(line []byte) error) error {
	var fnErr error
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if len(line) > 0 && line[0] == '.' {
			if len(line) == 1 {
				return fnErr
			}
			line = line[1:]
		}
		if fnErr == nil {
			fnErr = fn(line)
		}
	}
}

// timedConn renews the connection's deadline before every read and write.
type timedConn struct {
	net.Conn
	timeout time.Duration
}

func (t *timedConn) Read(p []byte) (int, error) {
	if err := t.Conn.SetReadDeadline(time.Now().Add(t.timeout)); err != nil {
		return 0, err
	}
	return t.Conn.Read(p)
}

func (t *timedConn) Write(p []byte) (int, error) {
	if err := t.Conn.SetWriteDeadline(time.Now().Add(t.timeout)); err != nil {
		return 0, err
	}
	return t.Conn.Write(p)
}

// printable returns b as a string with control characters replaced, fit
// for an error message or a log line.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, string(b))
}

// clip shortens b to at most n bytes for a message.
func clip(b []byte, n int) string {
	if len(b) > n {
		return printable(b[:n]) + "…"
	}
	return printable(b)
}
