package mimeparts

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-message/charset"

	"mailfs/remote"
)

// Decode returns the content of part p read from body (the part's body as
// transferred, what IMAP's BODY[section] gives): its transfer encoding
// undone (base64, quoted-printable; 7bit, 8bit, binary and encodings it
// does not know as they are) and, for a text part, its charset converted
// to UTF-8 (a charset go-message does not know: the bytes as they are).
//
// On well-formed input it gives what go-message gives. It is more
// lenient: base64 skips what is not in the alphabet (RFC 2045 §6.8) and
// decodes what follows padding; quoted-printable lets bytes through that
// go-message stops at (control characters, a stray "="), and takes lines
// of any length. Errors of body are returned; the encoding never fails.
func Decode(p remote.Part, body io.Reader) io.Reader {
	var r io.Reader
	switch strings.ToLower(p.Encoding) {
	case "base64":
		r = &base64Reader{r: body}
	case "quoted-printable":
		r = &qpReader{br: bufio.NewReaderSize(body, 64<<10)}
	default:
		r = body
	}
	if strings.EqualFold(p.Type, "text") {
		switch cs := strings.ToLower(p.Params["charset"]); cs {
		case "", "utf-8", "us-ascii":
		default:
			if cr, err := charset.Reader(cs, r); err == nil {
				r = cr
			}
		}
	}
	return r
}

// base64Reader decodes base64 leniently: characters outside the alphabet
// are skipped, "=" ends a quantum (1 or 2 bytes from 2 or 3 characters; a
// quantum of 1 character is dropped), and decoding goes on after it.
type base64Reader struct {
	r   io.Reader
	in  [4096]byte
	out []byte // decoded, not yet returned
	q   uint32 // the characters of the current quantum, 6 bits each
	nq  int    // characters in q
	err error  // of r, once it has failed or ended
}

// base64Values maps a byte to its value in the standard alphabet, 0xff
// for "=" and 0xfe for anything else.
var base64Values = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xfe
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	t['='] = 0xff
	return t
}()

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.r.Read(b.in[:])
		out := b.out[:0]
		for _, c := range b.in[:n] {
			switch v := base64Values[c]; v {
			case 0xfe:
			case 0xff:
				out = b.flush(out)
			default:
				b.q = b.q<<6 | uint32(v)
				b.nq++
				if b.nq == 4 {
					out = append(out, byte(b.q>>16), byte(b.q>>8), byte(b.q))
					b.q, b.nq = 0, 0
				}
			}
		}
		if err != nil {
			out = b.flush(out)
			b.err = err
		}
		b.out = out
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// flush appends what a partial quantum holds and starts a new one.
func (b *base64Reader) flush(out []byte) []byte {
	switch b.nq {
	case 2:
		out = append(out, byte(b.q>>4))
	case 3:
		out = append(out, byte(b.q>>10), byte(b.q>>2))
	}
	b.q, b.nq = 0, 0
	return out
}

// qpReader decodes quoted-printable as Go's mime/quotedprintable does on
// valid input (white space at the end of a line dropped, "=" at the end of
// a line a soft break, a line break kept as CRLF or LF as it came, "="
// not followed by two hex digits taken literally), but never fails on the
// encoding: every other byte passes through, and a line longer than the
// buffer is decoded in pieces.
type qpReader struct {
	br  *bufio.Reader
	out []byte // decoded, not yet returned
	err error  // of br, once it has failed or ended
	// carry is the end of a piece of a long line that could still be
	// part of an escape or of trailing white space.
	carry []byte
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		line, err := q.br.ReadSlice('\n')
		if len(q.carry) > 0 {
			line = append(q.carry, line...)
			q.carry = nil
		}
		out := q.out[:0]
		switch {
		case err == bufio.ErrBufferFull:
			// A piece of a long line: decode all but its end, which may
			// be white space before the line's end or an escape cut in
			// two.
			cut := len(bytes.TrimRight(line, " \t\r="))
			if cut >= 2 && line[cut-2] == '=' {
				cut -= 2 // "=X": an escape cut in two
			}
			cut = max(cut, len(line)-maxCarry)
			out = qpDecode(out, line[:cut])
			q.carry = append([]byte(nil), line[cut:]...)
			err = nil
		default:
			out = qpLine(out, line)
		}
		if err != nil {
			q.err = err
		}
		q.out = out
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

// maxCarry bounds the end of a piece of a long line kept for the next:
// a longer run of white space is decoded as it is even if the line ends
// after it.
const maxCarry = 1 << 10

// qpLine appends the decoded line (with its line break, if any) to out.
func qpLine(out, line []byte) []byte {
	hasLF := bytes.HasSuffix(line, []byte("\n"))
	hasCRLF := bytes.HasSuffix(line, []byte("\r\n"))
	body := bytes.TrimRight(line, " \t\r\n")
	if soft, ok := bytes.CutSuffix(body, []byte("=")); ok {
		return qpDecode(out, soft)
	}
	out = qpDecode(out, body)
	switch {
	case hasCRLF:
		out = append(out, '\r', '\n')
	case hasLF:
		out = append(out, '\n')
	}
	return out
}

// qpDecode appends s with its "=XX" escapes decoded to out.
func qpDecode(out, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
