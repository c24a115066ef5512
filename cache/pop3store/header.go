package pop3store

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// maxHeaderBytes bounds how much of a message is read to find its header
// fields; a longer header (or a message with no blank line after it) is
// read only this far.
const maxHeaderBytes = 256 << 10

// headerMeta is what a listing shows of a message, taken from its header.
type headerMeta struct {
	// Date is the Date: field in the zone it names; zero when missing or
	// unparseable.
	Date      time.Time
	Subject   string
	MessageID string
	// Fields is the number of header fields read.
	Fields int
	// Err is the first problem met parsing the header, nil when none.
	Err error
}

// readMeta reads the header of the message file at path. Any input, however
// malformed, gives a result: fields that cannot be read are left empty.
func readMeta(path string) (headerMeta, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return headerMeta{}, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return headerMeta{}, 0, err
	}
	return parseMeta(f), fi.Size(), nil
}

// parseMeta reads header fields from r (at most maxHeaderBytes).
func parseMeta(r io.Reader) headerMeta {
	br := newHeaderReader(r)
	h, err := textproto.ReadHeader(br)
	mh := mail.Header{Header: message.Header{Header: h}}
	m := headerMeta{Fields: h.Len(), Err: err}
	if d, err := mh.Date(); err == nil && d.Year() >= 1000 && d.Year() <= 9999 {
		m.Date = d
	} else if err != nil && m.Err == nil {
		m.Err = fmt.Errorf("date: %w", err)
	}
	m.Subject = decodeText(h.Get("Subject"))
	if id, err := mh.MessageID(); err == nil && id != "" {
		m.MessageID = cleanText(id)
	} else {
		m.MessageID = cleanText(strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"))
	}
	return m
}

// wordDecoder decodes RFC 2047 encoded words in every charset go-message
// knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeText decodes a header value's encoded words; when that fails the
// value is kept as it is. The result is valid UTF-8 without control
// characters.
func decodeText(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return cleanText(v)
}

// cleanText makes s valid UTF-8 (raw 8-bit bytes are read as Latin-1, the
// likeliest guess) and turns control characters into spaces.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for len(s) > 0 {
			r, n := utf8.DecodeRuneInString(s)
			if r == utf8.RuneError && n == 1 {
				r = rune(s[0])
			}
			b.WriteRune(r)
			s = s[n:]
		}
		s = b.String()
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// newHeaderReader returns a reader of at most maxHeaderBytes of r.
func newHeaderReader(r io.Reader) *bufio.Reader {
	return bufio.NewReaderSize(io.LimitReader(r, maxHeaderBytes), 4096)
}
