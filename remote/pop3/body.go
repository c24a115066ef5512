package pop3

import (
	"bufio"
	"bytes"
	"io"
)

// terminator ends a multi-line answer when it starts a line.
var terminator = []byte(".\r\n")

// copyDotBody streams the body of a multi-line answer from r to w until
// the terminating ".CRLF" and returns the number of bytes written. It
// removes one leading "." from every line that starts with one and changes
// nothing else: line endings, bare CR and LF, NUL bytes and lines of any
// length pass as they are. A line starts after every LF. It holds at most
// r's buffer in memory.
//
// An error from w is returned as a *writeError; the answer is then left
// unread. A stream that ends before the terminator returns
// io.ErrUnexpectedEOF.
func copyDotBody(w io.Writer, r *bufio.Reader) (int64, error) {
	var n int64
	lineStart := true
	for {
		if lineStart {
			first, err := r.Peek(1)
			if err != nil {
				return n, eof(err)
			}
			if first[0] == '.' {
				// The terminator, or a stuffed dot to remove. Peek(3)
				// cannot block on a well-formed answer: after a line
				// starting with "." come at least a line ending and the
				// terminator.
				p, err := r.Peek(len(terminator))
				if bytes.Equal(p, terminator) {
					r.Discard(len(terminator))
					return n, nil
				}
				if err != nil {
					return n, eof(err)
				}
				r.Discard(1)
			}
		}
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			m, werr := w.Write(chunk)
			n += int64(m)
			if werr != nil {
				return n, &writeError{err: werr}
			}
		}
		switch err {
		case nil:
			lineStart = true
		case bufio.ErrBufferFull:
			lineStart = false // the line goes on
		default:
			return n, eof(err)
		}
	}
}

// eof turns the end of the stream inside an answer into ErrUnexpectedEOF.
func eof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// tailWriter passes everything to w but the last two bytes, which it holds
// until finish decides whether they belong to the message.
type tailWriter struct {
	w    io.Writer
	tail []byte // at most 2 bytes not yet written
	n    int64  // bytes written to w
}

func (t *tailWriter) Write(p []byte) (int, error) {
	if len(p) >= 2 {
		if err := t.flush(t.tail); err != nil {
			return 0, err
		}
		if err := t.flush(p[:len(p)-2]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], p[len(p)-2:]...)
		return len(p), nil
	}
	t.tail = append(t.tail, p...)
	if extra := len(t.tail) - 2; extra > 0 {
		if err := t.flush(t.tail[:extra]); err != nil {
			return 0, err
		}
		t.tail = append(t.tail[:0], t.tail[extra:]...)
	}
	return len(p), nil
}

// flush writes p to w and counts it.
func (t *tailWriter) flush(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	m, err := t.w.Write(p)
	t.n += int64(m)
	if err == nil && m < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// finish writes the held bytes, or drops them when dropCRLF is set and
// they are a CRLF.
func (t *tailWriter) finish(dropCRLF bool) error {
	if dropCRLF && bytes.Equal(t.tail, []byte("\r\n")) {
		t.tail = t.tail[:0]
		return nil
	}
	err := t.flush(t.tail)
	t.tail = t.tail[:0]
	return err
}

// endsWithAddedCRLF reports whether a body of got bytes, ending with CRLF,
// got that CRLF from the server (RFC 1939's line end before the
// terminator) rather than from the message: the server announced exactly
// two bytes less.
func endsWithAddedCRLF(got, listed int64) bool {
	return listed >= 0 && got == listed+2
}
