package query

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"strings"

	"mailfs/internal/header"
)

// The MIME structure is read as Dovecot's message parser reads it, so that
// BODY and TEXT look at the same text:
//
//   - a part's body is searched only when its Content-Type is text/* or
//     message/* (or absent: text/plain); other bodies (attachments,
//     multipart preambles and epilogues) are not;
//   - a body is decoded from its Content-Transfer-Encoding (7bit, 8bit,
//     binary, quoted-printable, base64; another one hides the body) and
//     converted from its charset to UTF-8 (an unknown charset is taken as
//     UTF-8);
//   - multipart/* parts are split at their boundaries (a line that starts
//     with "--" and the longest boundary of any enclosing multipart), and
//     message/rfc822 parts (and parts without Content-Type in a
//     multipart/digest) are messages of their own, with a header;
//   - nesting deeper than maxDepth is not followed.

// maxDepth bounds the nesting of multiparts and messages, as Dovecot's
// parser does (100 levels).
const maxDepth = 100

// maxHeader bounds the header block of a part that is kept; the rest of an
// overlong header is skipped.
const maxHeader = header.MaxBytes

// partVisitor receives what a walk finds, part by part, in order.
type partVisitor interface {
	// header is called with the header block of each part (the message
	// itself first).
	header(h *header.Header)
	// body is called with the decoded UTF-8 text of each searchable
	// body. It may stop reading early.
	body(r io.Reader) error
	// enough reports whether the walk may stop.
	enough() bool
}

// walkMessage walks the message r holds.
func walkMessage(r io.Reader, v partVisitor) error {
	w := &walker{src: newLines(r), v: v}
	_, err := w.part(false, 0)
	if errors.Is(err, errEnough) {
		return nil
	}
	return err
}

// errEnough stops a walk whose visitor has what it wants.
var errEnough = errors.New("enough")

// walker is one walk through a message.
type walker struct {
	src    *lines
	bounds []string // the boundaries of the enclosing multiparts, innermost last
	v      partVisitor
}

// hit is a boundary line: the index of its boundary in walker.bounds and
// whether it closes its multipart ("--boundary--").
type hit struct {
	index int
	final bool
}

// part reads one part, header and body, up to a boundary line of an
// enclosing multipart (consumed and returned) or the end (nil).
func (w *walker) part(inDigest bool, depth int) (*hit, error) {
	var c header.Collector
	for !c.Done() {
		line, start, err := w.src.next()
		if err != nil {
			return nil, err
		}
		if line == nil {
			break
		}
		if start {
			if h := w.boundary(line); h != nil {
				return h, nil // a part that ends within its header
			}
		}
		c.Write(line)
	}
	if !c.Done() || len(c.Bytes()) >= maxHeader {
		// The end came within the header, or the header is too long
		// to keep whole: search what was read, skip the rest.
		w.v.header(header.Parse(c.Bytes()))
		if w.v.enough() {
			return nil, errEnough
		}
		if c.Done() {
			return w.skip()
		}
		return nil, nil
	}
	h := header.Parse(c.Bytes())
	w.v.header(h)
	if w.v.enough() {
		return nil, errEnough
	}

	ctype, params := contentType(h)
	switch {
	case depth >= maxDepth:
		return w.skip()
	case strings.HasPrefix(ctype, "multipart/") && params["boundary"] != "":
		return w.multipart(params["boundary"], ctype == "multipart/digest", depth)
	case ctype == "message/rfc822" || ctype == "" && !h.Has("Content-Type") && inDigest:
		return w.part(false, depth+1)
	case !h.Has("Content-Type") || strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "message/"):
		body := &partBody{w: w}
		dec := decoder(transferEncoding(h), params["charset"], body)
		if dec != nil {
			if err := w.v.body(dec); err != nil {
				return nil, err
			}
			if body.err != nil {
				return nil, body.err
			}
			if w.v.enough() {
				return nil, errEnough
			}
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, err
		}
		return body.hit, nil
	}
	return w.skip()
}

// multipart reads the body of a multipart part: preamble, parts, epilogue.
func (w *walker) multipart(boundary string, digest bool, depth int) (*hit, error) {
	w.bounds = append(w.bounds, boundary)
	own := len(w.bounds) - 1
	defer func() { w.bounds = w.bounds[:own] }()
	h, err := w.skip() // the preamble
	for err == nil && h != nil && h.index == own && !h.final {
		h, err = w.part(digest, depth+1)
	}
	if err != nil || h == nil || h.index != own {
		// The end, or an enclosing boundary: this multipart ends too.
		return h, err
	}
	w.bounds = w.bounds[:own] // the epilogue belongs to the enclosing part
	return w.skip()
}

// skip reads lines up to a boundary line (returned) or the end (nil).
func (w *walker) skip() (*hit, error) {
	for {
		line, start, err := w.src.next()
		if err != nil || line == nil {
			return nil, err
		}
		if start {
			if h := w.boundary(line); h != nil {
				return h, nil
			}
		}
	}
}

// boundary returns the boundary line line is, nil when it is none: "--"
// then the longest boundary of an enclosing multipart that begins what
// follows, as Dovecot matches them.
func (w *walker) boundary(line []byte) *hit {
	if len(w.bounds) == 0 || !bytes.HasPrefix(line, []byte("--")) {
		return nil
	}
	rest := header.TrimEOL(line[2:])
	best := -1
	for i := len(w.bounds) - 1; i >= 0; i-- {
		b := w.bounds[i]
		if bytes.HasPrefix(rest, []byte(b)) && (best < 0 || len(b) > len(w.bounds[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return &hit{index: best, final: bytes.HasPrefix(rest[len(w.bounds[best]):], []byte("--"))}
}

// partBody reads the body of a leaf part up to its ending boundary line,
// which it records.
type partBody struct {
	w    *walker
	buf  []byte // the rest of the current line
	hit  *hit
	done bool
	err  error
}

func (b *partBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.done {
			return 0, io.EOF
		}
		if b.err != nil {
			return 0, b.err
		}
		line, start, err := b.w.src.next()
		if err != nil {
			b.err = err
			return 0, err
		}
		if line == nil {
			b.done = true
			return 0, io.EOF
		}
		if start {
			if h := b.w.boundary(line); h != nil {
				b.hit, b.done = h, true
				return 0, io.EOF
			}
		}
		b.buf = line
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// contentType returns the media type of the part (lower case, "" when
// absent or unreadable) and its parameters (keys in lower case; none when
// they cannot be parsed).
func contentType(h *header.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if v == "" {
		return "", nil
	}
	if t, params, err := mime.ParseMediaType(v); err == nil {
		return t, params
	}
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t)), nil
}

// transferEncoding returns the part's Content-Transfer-Encoding token in
// lower case, "" when absent.
func transferEncoding(h *header.Header) string {
	v := h.Get("Content-Transfer-Encoding")
	if i := strings.IndexAny(v, "; \t("); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}

// lines reads its input line by line. A line longer than the buffer comes
// in pieces; only the first piece is at the start of a line.
type lines struct {
	br      *bufio.Reader
	atStart bool
	err     error
}

func newLines(r io.Reader) *lines {
	return &lines{br: bufio.NewReaderSize(r, 64<<10), atStart: true}
}

// next returns the next line (with its line break) or piece of one, and
// whether it begins a line; nil at the end. The slice is valid until the
// next call.
func (l *lines) next() (line []byte, start bool, err error) {
	if l.err != nil {
		if l.err == io.EOF {
			return nil, false, nil
		}
		return nil, false, l.err
	}
	line, err = l.br.ReadSlice('\n')
	start = l.atStart
	switch {
	case err == bufio.ErrBufferFull:
		l.atStart = false
		return line, start, nil
	case err != nil:
		l.err = err
		if len(line) > 0 {
			return line, start, nil
		}
		return l.next()
	}
	l.atStart = true
	return line, start, nil
}
