// Package header is the one reader of message header blocks in mailfs.
//
// It owns where a header block ends (End, Read, Collector), what one of its
// lines is (Kind, ValidName), how fields are found and unfolded (Parse,
// Header.Get), and the text a listing shows of them (Text, Header.Subject,
// Header.MessageID, Header.Date). The IMAP listing, the POP3 fallback key,
// the POP3 store and the outbox all read headers here, so a message gets the
// same subject, and the same name, whichever protocol brought it.
//
// Parsing is lenient, as a reader of whatever servers send must be: it never
// fails, it skips what it cannot read and says how much (Header.Skipped).
// Strictness, where a writer wants it (the outbox), is built from Kind and
// ValidName.
package header

import (
	"bytes"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// LineKind is what one line of a header block is.
type LineKind int

const (
	// Blank is the empty line that ends a header block.
	Blank LineKind = iota
	// Continuation is a line that starts with a space or a tab: the
	// folded rest of the field above it.
	Continuation
	// Field is a line "name: value": a colon after a name that is not
	// empty once the white space around it is trimmed. The name need not
	// be valid (see ValidName): RFC 5322's obsolete syntax allows white
	// space before the colon, and servers send worse.
	Field
	// Malformed is any other line: no colon, or nothing but white space
	// before it.
	Malformed
)

// String returns the name of k.
func (k LineKind) String() string {
	switch k {
	case Blank:
		return "Blank"
	case Continuation:
		return "Continuation"
	case Field:
		return "Field"
	case Malformed:
		return "Malformed"
	}
	return "LineKind(?)"
}

// Kind classifies one header line given without its line break (see TrimEOL).
func Kind(line []byte) LineKind {
	switch {
	case len(line) == 0:
		return Blank
	case line[0] == ' ' || line[0] == '\t':
		return Continuation
	}
	if _, ok := fieldName(line); ok {
		return Field
	}
	return Malformed
}

// fieldName returns the name of a field line: what comes before its first
// colon, with the white space around it trimmed (bytes.TrimSpace).
func fieldName(line []byte) ([]byte, bool) {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return nil, false
	}
	name := bytes.TrimSpace(line[:i])
	return name, len(name) > 0
}

// ValidName reports whether name is a header field name (RFC 5322:
// printable ASCII but colon, non-empty).
func ValidName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// Header is the fields of one header block, in order.
type Header struct {
	block   []byte // Parse's copy of the header block
	fields  []field
	skipped int
}

// field is one field of a header block.
type field struct {
	name  []byte // before the colon, white space around it trimmed
	value []byte // after the colon, continuation lines appended without their line breaks
	// start and stop delimit the field's lines in block, line breaks
	// included.
	start, stop int
}

// Parse reads the fields of the header block at the start of b (up to its
// blank line, or all of b). It never fails: a line that is neither a field
// nor a continuation is skipped (and counted, Skipped()), a continuation
// with no field above it too. A skipped line ends the field above it: a
// continuation after it has no field above it.
//
// Each line loses its line break: LF, and one CR before it (also at the end
// of b without LF). Parse keeps a copy of the block, not b.
func Parse(b []byte) *Header {
	if end, _ := End(b, 0); end >= 0 {
		b = b[:end]
	}
	b = bytes.Clone(b)
	h := &Header{block: b}
	cur := -1 // the field continuation lines belong to
	for start := 0; start < len(b); {
		stop := len(b)
		if i := bytes.IndexByte(b[start:], '\n'); i >= 0 {
			stop = start + i + 1
		}
		line := TrimEOL(b[start:stop])
		switch Kind(line) {
		case Blank:
			return h
		case Continuation:
			if cur < 0 {
				h.skipped++
				break
			}
			f := &h.fields[cur]
			f.value = append(f.value[:len(f.value):len(f.value)], line...)
			f.stop = stop
		case Field:
			name, _ := fieldName(line)
			colon := bytes.IndexByte(line, ':')
			v := line[colon+1:]
			h.fields = append(h.fields, field{name: name, value: v[:len(v):len(v)], start: start, stop: stop})
			cur = len(h.fields) - 1
		default:
			h.skipped++
			cur = -1
		}
		start = stop
	}
	return h
}

// TrimEOL returns line without its line break: a final LF and one CR
// before it (and a final CR when there is no LF, as at the end of input).
func TrimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}

// find returns the first field called name, nil when there is none.
func (h *Header) find(name string) *field {
	for i := range h.fields {
		if sameName(h.fields[i].name, name) {
			return &h.fields[i]
		}
	}
	return nil
}

// sameName reports whether the field name fn is name: equal in lower case
// (bytes.ToLower, so also for the odd non-ASCII byte in a name, the way the
// POP3 fallback key has always compared them).
func sameName(fn []byte, name string) bool {
	if len(fn) == len(name) && asciiEqualFold(fn, name) {
		return true
	}
	if isASCII(fn) && isASCII(name) {
		return false
	}
	return string(bytes.ToLower(fn)) == strings.ToLower(name)
}

func asciiEqualFold(a []byte, b string) bool {
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func isASCII[S ~[]byte | ~string](s S) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Get returns the value of the first field called name (case-insensitive),
// unfolded per RFC 5322 (line breaks removed, the white space after them
// kept) and trimmed of white space (strings.TrimSpace); "" when absent. The
// value is as sent: encoded words are not decoded (see Text).
func (h *Header) Get(name string) string {
	f := h.find(name)
	if f == nil {
		return ""
	}
	return string(bytes.TrimSpace(f.value))
}

// Has reports whether the header has a field called name (case-insensitive).
func (h *Header) Has(name string) bool {
	return h.find(name) != nil
}

// Len returns the number of fields read.
func (h *Header) Len() int { return len(h.fields) }

// Skipped returns the number of lines skipped: malformed lines and
// continuations with no field above them.
func (h *Header) Skipped() int { return h.skipped }

// Subject returns the Subject: field as a listing shows it: Text(Get("Subject")).
func (h *Header) Subject() string { return Text(h.Get("Subject")) }

// MessageID returns the msg-id of the Message-ID: field without its angle
// brackets (what is between the first "<" and the first ">" after it), else
// the trimmed value; cleaned like Text but without word decoding. Comments
// and white space around the brackets are dropped with them.
func (h *Header) MessageID() string {
	v := h.Get("Message-ID")
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	return clean(v)
}

// Mail returns go-message's view of the same fields (their lines as
// written, in order), for address lists and the like. go-message trims only
// spaces and tabs around a name, so a field whose name has other white space
// around it is found by Get but not by the view's Get.
func (h *Header) Mail() *mail.Header {
	var th textproto.Header
	// textproto.Header keeps its fields in reverse order: add the last first.
	for i := len(h.fields) - 1; i >= 0; i-- {
		f := h.fields[i]
		th.AddRaw(h.block[f.start:f.stop])
	}
	return &mail.Header{Header: message.Header{Header: th}}
}
