package pop3

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	gopop3 "github.com/knadh/go-pop3"
)

// Sizes of the connection layer.
const (
	// bufSize is our read buffer of a connection: the most a body read
	// ever holds in memory, and the longest multi-line answer line or
	// status line we read ourselves.
	bufSize = 64 << 10
	// libLineMax is the longest reply line go-pop3 reads whole: the size of
	// its private bufio.Reader. A longer line is split by its ReadLine,
	// which would put the session out of step, so it is refused. RFC 2449
	// limits status lines to 512 octets.
	libLineMax = 4096
	// maxAuthLine is the longest AUTH command line with its initial
	// response (RFC 5034 section 4); longer ones send the response after an
	// empty challenge.
	maxAuthLine = 255
)

// conn is one POP3 connection: go-pop3's session (pc) speaking through our
// wire. go-pop3 sends every command and reads single-line replies; the
// multi-line answers are read by us straight from the wire's reader.
//
// Every error other than an -ERR reply breaks the connection: it is closed
// and every later command fails. A conn is used by one goroutine at a
// time; close may be called from any goroutine.
type conn struct {
	w  *wire
	pc *gopop3.Conn

	broken error // the error that broke the connection; nil while usable
}

// close closes the network connection; safe to call more than once and
// from any goroutine.
func (c *conn) close() error { return c.w.Close() }

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
func (c *conn) watch(ctx context.Context) (stop func() error) { return c.w.watch(ctx) }

// single runs fn, one go-pop3 call that sends the command line and reads
// its one-line reply, and returns that reply line as the wire delivered it
// to go-pop3 (without its line ending). go-pop3's own verdict on the reply
// is not used: our parser decides (see wire.endCall). line is the command
// as sent, checked for injected line breaks before anything is sent.
func (c *conn) single(line string, fn func(pc *gopop3.Conn) error) ([]byte, error) {
	if err := checkCommand(line); err != nil {
		return nil, err
	}
	if err := c.w.inStep(); err != nil {
		return nil, err
	}
	c.w.beginCall()
	return c.w.endCall(fn(c.pc))
}

// cmd runs a single-line command through go-pop3 (see single) and returns
// the text after "+OK", or a *serverError for -ERR. Data from the server
// beyond the reply line is a *protocolError.
func (c *conn) cmd(line string, fn func(pc *gopop3.Conn) error) (string, error) {
	reply, err := c.single(line, fn)
	if err != nil {
		return "", err
	}
	text, err := parseStatus(reply)
	if e := c.w.inStep(); e != nil {
		return "", e
	}
	return text, err
}

// simple sends line with go-pop3's generic Cmd and reads its one-line
// reply (see cmd).
func (c *conn) simple(line string) (string, error) {
	return c.cmd(line, func(pc *gopop3.Conn) error {
		_, err := pc.Cmd(line, false)
		return err
	})
}

// multi sends line with go-pop3's Send, which writes and flushes it, and
// reads the status line of its multi-line answer from our reader; the
// caller then reads the body with readMulti or readBody. It returns the
// text after "+OK", or a *serverError for -ERR (there is no body then).
func (c *conn) multi(line string) (string, error) {
	if err := checkCommand(line); err != nil {
		return "", err
	}
	if err := c.w.inStep(); err != nil {
		return "", err
	}
	c.w.beginCall()
	sendErr := c.pc.Send(line)
	if _, err := c.w.endCall(sendErr); err != errNoReply {
		if err == nil {
			err = &protocolError{msg: "go-pop3 read a reply while sending"}
		}
		return "", err
	}
	text, err := c.readStatus()
	if err != nil {
		return "", err
	}
	return text, nil
}

// readLine reads one line from our reader and returns it without its line
// ending (CRLF or bare LF). The slice is valid until the next read.
func (c *conn) readLine() ([]byte, error) {
	line, err := c.w.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, &protocolError{msg: fmt.Sprintf("line longer than %d bytes", bufSize)}
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// readStatus reads a status line from our reader: "+OK [text]" returns
// the text, "-ERR [text]" a *serverError, anything else a *protocolError.
func (c *conn) readStatus() (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", err
	}
	return parseStatus(line)
}

// parseStatus interprets a status line: "+OK [text]" returns the text,
// "-ERR [text]" a *serverError, anything else a *protocolError. It is the
// only judge of a reply, whoever read it.
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
				if err := c.w.inStep(); err != nil {
					return err
				}
				return fnErr
			}
			line = line[1:]
		}
		if fnErr == nil {
			fnErr = fn(line)
		}
	}
}

// readBody streams the body of a multi-line answer into w with
// copyDotBody and returns the bytes written.
func (c *conn) readBody(w io.Writer) (int64, error) {
	n, err := copyDotBody(w, c.w.r)
	if err != nil {
		return n, err
	}
	return n, c.w.inStep()
}

// checkCommand refuses a command line that would smuggle a second command:
// go-pop3 sends what it is given. Callers validate arguments; this is the
// last line of defence.
func checkCommand(line string) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		return &protocolError{msg: "command contains a line break or NUL"}
	}
	return nil
}

// errNoReply is wire.endCall's verdict on a go-pop3 call that read
// nothing, which is right only for Send.
var errNoReply = &protocolError{msg: "no reply line"}

// wire is the net.Conn go-pop3 talks through; our dialer returns it. All
// bytes from the server pass through one buffered reader, r, which our
// multi-line reading uses directly; go-pop3's private bufio.Reader is fed
// from r by Read, which never hands over more than the rest of the
// current line. go-pop3 reads a reply with bufio.Reader.ReadLine, which
// stops filling its buffer at the first LF, so after every go-pop3 call its
// buffer is empty and whatever the server sent beyond the reply line is
// still in r, where inStep sees it (the lock-step invariant, see doc.go).
//
// The wire renews a deadline before every read from and write to the
// network (CommandTimeout bounds the server's silence), is closed by the
// context watcher, counts the bytes each way and records what it handed
// to go-pop3 during a call.
type wire struct {
	raw     net.Conn // the TCP connection; closing it ends everything
	nc      net.Conn // raw, or TLS over raw; changed only while dialing
	replay  []byte   // bytes to read before nc's: the greeting after STLS
	r       *bufio.Reader
	timeout time.Duration

	bytesIn, bytesOut int64 // network bytes, TLS records excluded

	// State of the current go-pop3 call.
	inCall  bool
	reply   []byte // the bytes handed to go-pop3, at most bufSize
	lines   int    // LFs handed to go-pop3
	midLine bool   // the last byte handed over was not an LF
	ioErr   error  // the first network error during the call

	closeOnce sync.Once
	closeErr  error
}

var _ net.Conn = (*wire)(nil)

// newWire wraps the TCP connection raw; timeout bounds each read and
// write.
func newWire(raw net.Conn, timeout time.Duration) *wire {
	w := &wire{raw: raw, nc: raw, timeout: timeout}
	w.r = bufio.NewReaderSize(wireSource{w}, bufSize)
	return w
}

// upgrade makes nc (TLS over raw) the connection to read and write, to be
// read after replay. Nothing may be buffered: the caller checks.
func (w *wire) upgrade(nc net.Conn, replay []byte) {
	w.nc = nc
	w.replay = append([]byte(nil), replay...)
}

// wireSource is the reader under r: replay first, then the network.
type wireSource struct{ w *wire }

func (s wireSource) Read(p []byte) (int, error) {
	w := s.w
	if len(w.replay) > 0 {
		n := copy(p, w.replay)
		w.replay = w.replay[n:]
		return n, nil
	}
	if err := w.nc.SetReadDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	n, err := w.nc.Read(p)
	w.bytesIn += int64(n)
	return n, err
}

// Read hands go-pop3 bytes from r, never past the end of the current
// line, and records them. It is only called inside a go-pop3 call.
func (w *wire) Read(p []byte) (int, error) {
	if !w.inCall {
		// go-pop3 is never asked to read a multi-line answer; if it
		// tried, it would take bytes our reader needs.
		err := &protocolError{msg: "go-pop3 read outside a command"}
		w.noteErr(err)
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.r.Buffered() == 0 {
		if _, err := w.r.Peek(1); err != nil {
			w.noteErr(err)
			return 0, err
		}
	}
	buf, _ := w.r.Peek(w.r.Buffered())
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i+1]
	}
	n := copy(p, buf)
	w.r.Discard(n)
	w.reply = append(w.reply, p[:min(n, bufSize-len(w.reply))]...)
	if p[n-1] == '\n' {
		w.lines++
		w.midLine = false
	} else {
		w.midLine = true
	}
	return n, nil
}

// Write sends p, go-pop3's command, within the timeout.
func (w *wire) Write(p []byte) (int, error) {
	n, err := w.write(p)
	if err != nil {
		w.noteErr(err)
	}
	return n, err
}

// write sends p within the timeout and counts it.
func (w *wire) write(p []byte) (int, error) {
	if err := w.nc.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	n, err := w.nc.Write(p)
	w.bytesOut += int64(n)
	return n, err
}

// noteErr keeps the first network error of a go-pop3 call, so that the
// call's error is the original one (timeouts, TLS) rather than go-pop3's.
func (w *wire) noteErr(err error) {
	if w.ioErr == nil {
		w.ioErr = err
	}
}

// beginCall starts recording a go-pop3 call.
func (w *wire) beginCall() {
	w.inCall = true
	w.reply = w.reply[:0]
	w.lines = 0
	w.midLine = false
	w.ioErr = nil
}

// endCall ends the go-pop3 call whose error was libErr and returns the
// reply line go-pop3 read, without its line ending. Our verdict replaces
// go-pop3's: a network error is returned as it was; a call that did not
// consume exactly one whole line is a *protocolError (errNoReply when it
// read nothing), since the session would be out of step; otherwise the
// line is returned for our parser, whatever go-pop3 thought of it.
func (w *wire) endCall(libErr error) ([]byte, error) {
	w.inCall = false
	switch {
	case w.ioErr != nil:
		return nil, w.ioErr
	case w.midLine:
		return nil, &protocolError{msg: fmt.Sprintf("reply line longer than %d bytes", libLineMax)}
	case w.lines > 1:
		return nil, &protocolError{msg: "more than one reply line to one command"}
	case w.lines == 0:
		if libErr != nil {
			return nil, libErr
		}
		return nil, errNoReply
	}
	line := bytes.TrimSuffix(w.reply, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// inStep checks the lock-step invariant between commands: once a reply
// has been read whole, the server has sent nothing more, so nothing is
// buffered. Anything there is the server speaking out of turn; reading on
// would take it for the next reply.
func (w *wire) inStep() error {
	if n := w.r.Buffered(); n > 0 {
		line, _ := w.r.Peek(min(n, 80))
		return &protocolError{msg: fmt.Sprintf("server sent unexpected data %q", clip(line, 80))}
	}
	return nil
}

// watch closes the connection when ctx is done before the returned stop
// is called. stop reports ctx's error when the watcher closed the
// connection, nil otherwise; it may be called more than once.
func (w *wire) watch(ctx context.Context) (stop func() error) {
	if ctx.Done() == nil {
		return func() error { return nil }
	}
	fired := make(chan struct{})
	stopFn := context.AfterFunc(ctx, func() {
		w.Close()
		close(fired)
	})
	return sync.OnceValue(func() error {
		if stopFn() {
			return nil
		}
		<-fired
		return ctx.Err()
	})
}

// Close closes the TCP connection (and so TLS over it); safe to call more
// than once and from any goroutine.
func (w *wire) Close() error {
	w.closeOnce.Do(func() { w.closeErr = w.raw.Close() })
	return w.closeErr
}

// LocalAddr returns the local network address.
func (w *wire) LocalAddr() net.Addr { return w.raw.LocalAddr() }

// RemoteAddr returns the server's network address.
func (w *wire) RemoteAddr() net.Addr { return w.raw.RemoteAddr() }

// SetDeadline is part of net.Conn; the wire renews its own deadlines
// before every read and write, so these only matter until then.
func (w *wire) SetDeadline(t time.Time) error { return w.nc.SetDeadline(t) }

// SetReadDeadline is part of net.Conn (see SetDeadline).
func (w *wire) SetReadDeadline(t time.Time) error { return w.nc.SetReadDeadline(t) }

// SetWriteDeadline is part of net.Conn (see SetDeadline).
func (w *wire) SetWriteDeadline(t time.Time) error { return w.nc.SetWriteDeadline(t) }

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
