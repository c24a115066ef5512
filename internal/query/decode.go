package query

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"strings"

	"github.com/emersion/go-message/charset"
)

// decoder returns the UTF-8 text of a body r holds in transfer encoding
// cte and in charset cs; nil when the encoding is unknown (Dovecot then
// skips the body). An unknown charset is read as UTF-8.
func decoder(cte, cs string, r io.Reader) io.Reader {
	switch cte {
	case "", "7bit", "8bit", "binary":
	case "quoted-printable":
		r = &qpReader{br: bufio.NewReader(r)}
	case "base64":
		r = &base64Reader{r: r}
	default:
		return nil
	}
	switch strings.ToLower(cs) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return r
	}
	if cr, err := charset.Reader(cs, r); err == nil {
		return cr
	}
	return r
}

// qpReader decodes quoted-printable leniently, as Dovecot does: "=XX"
// is a byte, "=" at the end of a line (after trailing white space) joins
// it to the next, trailing white space is dropped, and anything else,
// an "=" not followed by two hex digits included, is kept as it is.
type qpReader struct {
	br  *bufio.Reader
	out []byte
	err error
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		line, err := q.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil // a long line comes in pieces; decode each
		}
		q.err = err
		q.out = decodeQPLine(q.out[:0], line)
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

// decodeQPLine appends the decoding of one line (or piece of one) to dst.
func decodeQPLine(dst, line []byte) []byte {
	body := line
	eol := []byte(nil)
	if bytes.HasSuffix(body, []byte("\n")) {
		body = body[:len(body)-1]
		eol = []byte("\n")
		if bytes.HasSuffix(body, []byte("\r")) {
			body = body[:len(body)-1]
			eol = []byte("\r\n")
		}
		body = bytes.TrimRight(body, " \t")
	}
	if bytes.HasSuffix(body, []byte("=")) && eol != nil {
		body, eol = body[:len(body)-1], nil // a soft line break
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '=' && i+2 < len(body) && isHex(body[i+1]) && isHex(body[i+2]) {
			dst = append(dst, unhex(body[i+1])<<4|unhex(body[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, eol...)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// base64Reader decodes base64 as Dovecot does: white space is skipped,
// and the text ends at the padding or at the first character that is not
// base64.
type base64Reader struct {
	r    io.Reader
	in   [4096]byte
	quad []byte // characters of an incomplete group
	out  []byte
	end  bool // the padding or a bad character was met
	err  error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.end {
			return 0, io.EOF
		}
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.r.Read(b.in[:])
		b.err = err
		b.out = b.out[:0]
		for _, c := range b.in[:n] {
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				continue
			}
			if c == '=' || !isBase64(c) {
				b.end = true
				break
			}
			b.quad = append(b.quad, c)
			if len(b.quad) == 4 {
				b.out = b.decode(b.out)
			}
		}
		if (b.end || b.err != nil) && len(b.quad) > 1 {
			b.out = b.decode(b.out) // the last, short group
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// decode appends the decoding of the pending group (2 to 4 characters).
func (b *base64Reader) decode(dst []byte) []byte {
	var out [3]byte
	n, _ := base64.RawStdEncoding.Decode(out[:], b.quad)
	b.quad = b.quad[:0]
	return append(dst, out[:n]...)
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}
