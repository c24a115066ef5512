package mimeparts

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"

	"mailfs/internal/header"
	"mailfs/remote"
)

// Limits of the structure, Dovecot's defaults: deeper multiparts and
// messages are leaves, parts beyond the total are not listed.
const (
	maxDepth = 100
	maxParts = 10000
)

// maxHeaderKept bounds the bytes of one header block kept for parsing; the
// rest of a longer block is read past.
const maxHeaderKept = 1 << 20

// Parse reads a whole message from r and returns its MIME structure as
// IMAP numbers it (see the package doc), with the fields Dovecot's
// BODYSTRUCTURE gives for the same message. Sizes count the encoded body
// as IMAP does, a bare LF as CRLF. It fails only when r does; a message it
// cannot make sense of is a text/plain one.
func Parse(r io.Reader) (remote.Part, error) {
	src := &errReader{r: r}
	ps := &parser{}
	root := ps.message(src, "", 0)
	if src.err != nil {
		return remote.Part{}, fmt.Errorf("read message: %w", src.err)
	}
	return root, nil
}

// errReader keeps the first error of r other than io.EOF (the parsers
// below stop at any error and would hide it).
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// parser reads one message's structure.
type parser struct {
	parts int // parts seen, for maxParts
}

// message reads the message at r (the whole message, or the body of a
// message/rfc822 part at section msg) and returns the part of its body.
func (ps *parser) message(r io.Reader, msg string, depth int) remote.Part {
	br := bufio.NewReader(r)
	h := readHeader(br)
	f := fieldsOf(h, false)
	return ps.entity(f, br, bodySection(msg, f), msg, depth)
}

// bodySection is the section of the body of the message at section msg
// ("" for the root): "1" or "2.1" when it is single-part, "" or "2.TEXT"
// when it is multipart.
func bodySection(msg string, f Fields) string {
	multi := isMultipart(f)
	switch {
	case msg == "" && multi:
		return ""
	case msg == "":
		return "1"
	case multi:
		return msg + ".TEXT"
	}
	return msg + ".1"
}

// isMultipart reports whether f are the fields of a multipart.
func isMultipart(f Fields) bool {
	return strings.EqualFold(strings.TrimSpace(f.Type), "multipart")
}

// child is the section of the i-th part of a multipart whose parts are
// numbered under prefix.
func child(prefix string, i int) string {
	if prefix == "" {
		return strconv.Itoa(i)
	}
	return prefix + "." + strconv.Itoa(i)
}

// entity reads the body of one part from body: f are its fields, section
// its section, prefix the prefix of its parts when it is a multipart.
func (ps *parser) entity(f Fields, body io.Reader, section, prefix string, depth int) remote.Part {
	cr := &counter{r: body}
	p := f.Part(section, 0)
	switch {
	case p.Type == "multipart" && depth < maxDepth:
		boundary := p.Params["boundary"]
		digest := p.Subtype == "digest"
		eachPart(cr, boundary, func(i int, h textproto.Header, body io.Reader) bool {
			if ps.parts >= maxParts {
				return false
			}
			ps.parts++
			sec := child(prefix, i)
			p.Parts = append(p.Parts, ps.entity(fieldsOf(h, digest), body, sec, sec, depth+1))
			return true
		})
		if len(p.Parts) == 0 {
			p.Parts = []remote.Part{emptyText(child(prefix, 1))}
		}
	case isMessage(p) && depth < maxDepth:
		// Read as a message whatever its transfer encoding, as Dovecot
		// does (which finds nothing in a base64 one).
		p.Parts = []remote.Part{ps.message(cr, section, depth+1)}
	}
	io.Copy(io.Discard, cr)
	if p.Type != "multipart" {
		p.Size = cr.size()
	}
	return p
}

// eachPart calls fn with the number, header and raw body of each part of
// the multipart body r with boundary, in order, until fn returns false or
// the parts end (go-message's multipart reader: a part it cannot read
// ends the list).
func eachPart(r io.Reader, boundary string, fn func(i int, h textproto.Header, body io.Reader) bool) {
	if boundary == "" {
		return
	}
	mr := textproto.NewMultipartReader(r, boundary)
	for i := 1; ; i++ {
		part, err := mr.NextPart()
		if err != nil {
			return
		}
		if !fn(i, part.Header, part) {
			return
		}
	}
}

// readHeader reads a header block from br, up to and including its blank
// line (or to the end of br), and parses it with the header package.
func readHeader(br *bufio.Reader) textproto.Header {
	return header.Parse(readHeaderBlock(br)).Mail().Header.Header
}

// readHeaderBlock reads a header block from br, up to and including its
// blank line (or to the end of br), and returns at most maxHeaderKept
// bytes of it.
func readHeaderBlock(br *bufio.Reader) []byte {
	var block []byte
	lineStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		if len(block) < maxHeaderKept {
			block = append(block, chunk[:min(len(chunk), maxHeaderKept-len(block))]...)
		}
		if lineStart && err == nil && header.Kind(header.TrimEOL(chunk)) == header.Blank {
			return block
		}
		if err == bufio.ErrBufferFull {
			lineStart = false // the rest of a long line follows
			continue
		}
		if err != nil {
			return block
		}
		lineStart = true
	}
}

// counter counts the bytes read through it as IMAP counts them: a LF not
// preceded by CR counts as CRLF.
type counter struct {
	r      io.Reader
	n      int64
	bareLF int64
	lastCR bool
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' && !c.lastCR {
			c.bareLF++
		}
		c.lastCR = b == '\r'
	}
	c.n += int64(n)
	return n, err
}

func (c *counter) size() int64 { return c.n + c.bareLF }
