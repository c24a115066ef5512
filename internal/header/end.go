package header

import (
	"bytes"
	"io"
)

// MaxBytes is the most of a header block anything reads.
const MaxBytes = 256 << 10

// End returns the length of the header block at the start of b, including
// the blank line that ends it (LF or CRLF), or -1 when b holds no blank line
// yet; next is where a later call may resume scanning (the start of the
// first incomplete line). from must be the start of a line. A b that starts
// with a blank line has an empty header: end is the length of that line.
func End(b []byte, from int) (end, next int) {
	i := from
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		if j == 0 || (j == 1 && b[i] == '\r') {
			return i + j + 1, i + j + 1
		}
		i += j + 1
	}
	return -1, i
}

// Read reads the header block at the start of r: at most MaxBytes, up to and
// including the blank line. When r ends first, or MaxBytes come without a
// blank line, it returns what it read and a nil error; an error of r other
// than io.EOF is returned with what was read before it. Read may consume
// more of r than the block.
func Read(r io.Reader) ([]byte, error) {
	var c Collector
	buf := make([]byte, 4096)
	for !c.done {
		n, err := r.Read(buf)
		c.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return c.Bytes(), err
		}
	}
	return c.Bytes(), nil
}

// Collector is an io.Writer that keeps the header block of what is written
// to it (up to MaxBytes) and discards the rest; Bytes returns it. The zero
// value is ready to use.
type Collector struct {
	buf  []byte
	next int // where End resumes
	done bool
}

// Write keeps what of p belongs to the header block. It never fails.
func (c *Collector) Write(p []byte) (int, error) {
	if c.done {
		return len(p), nil
	}
	c.buf = append(c.buf, p[:min(len(p), MaxBytes-len(c.buf))]...)
	end, next := End(c.buf, c.next)
	c.next = next
	if end >= 0 {
		c.buf, c.done = c.buf[:end], true
	} else if len(c.buf) >= MaxBytes {
		c.done = true
	}
	return len(p), nil
}

// Bytes returns the header block collected so far: up to and including its
// blank line once that was written, else all that was written (at most
// MaxBytes).
func (c *Collector) Bytes() []byte { return c.buf }

// Done reports whether the header block is complete: its blank line or
// MaxBytes were written. Later writes are discarded.
func (c *Collector) Done() bool { return c.done }
