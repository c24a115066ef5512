package smtp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
)

// maxLine is the longest line SMTP allows, without its CRLF (RFC 5321
// 4.5.3.1.6).
const maxLine = 998

// memSpool is how much of one MIME part the re-encoder keeps in memory
// before it spills the rest to a temporary file.
const memSpool = 1 << 20

// scanner is an io.Writer that records whether what went through it needs
// re-encoding for a 7-bit server: a byte >= 0x80, a NUL or a line longer
// than maxLine.
type scanner struct {
	eightBit bool
	longLine bool
	lineLen  int
}

func (s *scanner) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == '\n':
			s.lineLen = 0
			continue
		case b >= 0x80 || b == 0:
			s.eightBit = true
		}
		if b != '\r' {
			s.lineLen++
			if s.lineLen > maxLine {
				s.longLine = true
			}
		}
	}
	return len(p), nil
}

// clean reports whether the data can go to a 7-bit server as it is.
func (s *scanner) clean() bool { return !s.eightBit && !s.longLine }

// hasHigh reports whether b has a byte >= 0x80.
func hasHigh(b string) bool {
	for i := 0; i < len(b); i++ {
		if b[i] >= 0x80 {
			return true
		}
	}
	return false
}

// addressFields are the header fields that hold address lists.
var addressFields = map[string]bool{
	"From": true, "Sender": true, "Reply-To": true, "To": true, "Cc": true, "Bcc": true,
	"Resent-From": true, "Resent-Sender": true, "Resent-To": true, "Resent-Cc": true, "Resent-Bcc": true,
	"Disposition-Notification-To": true, "Return-Path": true,
}

// parameterFields are the header fields that are a MIME type or disposition
// with parameters (RFC 2045, RFC 2183).
var parameterFields = map[string]bool{"Content-Type": true, "Content-Disposition": true}

// nonASCIIHeaderAddress returns the first address in an address field of h
// whose addr-spec is not ASCII: such a message needs SMTPUTF8, since no
// encoding can carry it.
func nonASCIIHeaderAddress(h textproto.Header) (field, addr string) {
	fields := h.Fields()
	for fields.Next() {
		k, v := fields.Key(), fields.Value()
		if !addressFields[k] || !hasHigh(v) {
			continue
		}
		list, err := mail.ParseAddressList(v)
		if err != nil {
			continue
		}
		for _, a := range list {
			if hasHigh(a.Address) {
				return k, a.Address
			}
		}
	}
	return "", ""
}

// sevenBitHeader returns h with every field that has 8-bit bytes made
// 7-bit: names in address fields and unstructured text as RFC 2047 encoded
// words, parameters of Content-Type and Content-Disposition as RFC 2231
// values. Other fields keep their raw bytes, and the order is kept.
func sevenBitHeader(h textproto.Header) (textproto.Header, error) {
	type field struct {
		key, value string
		raw        []byte
	}
	var all []field
	fields := h.Fields()
	for fields.Next() {
		raw, err := fields.Raw()
		if err != nil {
			return textproto.Header{}, err
		}
		all = append(all, field{fields.Key(), fields.Value(), raw})
	}
	var out textproto.Header
	// Add and AddRaw insert at the top: add from the bottom up.
	for i := len(all) - 1; i >= 0; i-- {
		f := all[i]
		if !hasHigh(string(f.raw)) {
			out.AddRaw(f.raw)
			continue
		}
		v, err := sevenBitField(f.key, f.value)
		if err != nil {
			return textproto.Header{}, err
		}
		out.AddRaw([]byte(foldField(f.key, v)))
	}
	return out, nil
}

// foldField formats "Key: value" CRLF, folding at spaces so that lines stay
// within 76 characters where the words allow (encoded words are at most
// 75).
func foldField(key, value string) string {
	var b strings.Builder
	b.WriteString(key + ":")
	n := len(key) + 1
	for _, word := range strings.Fields(value) {
		if n+1+len(word) > 76 && n > len(key)+1 {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteString(" " + word)
		n += 1 + len(word)
	}
	b.WriteString("\r\n")
	return b.String()
}

// sevenBitField encodes one header field value that has 8-bit bytes.
func sevenBitField(key, value string) (string, error) {
	charset := "utf-8"
	if !utf8.ValidString(value) {
		charset = "unknown-8bit" // RFC 1428
	}
	switch {
	case addressFields[key]:
		list, err := mail.ParseAddressList(value)
		if err != nil {
			return "", fmt.Errorf("%s: cannot encode non-ASCII address list for a 7-bit server: %v", key, err)
		}
		parts := make([]string, len(list))
		for i, a := range list {
			if hasHigh(a.Address) {
				return "", fmt.Errorf("%s: non-ASCII address %s needs SMTPUTF8", key, a.Address)
			}
			parts[i] = a.String() // encodes a non-ASCII name as RFC 2047
		}
		return strings.Join(parts, ", "), nil
	case parameterFields[key]:
		typ, params, err := mime.ParseMediaType(value)
		if err != nil || hasHigh(typ) {
			return "", fmt.Errorf("%s: cannot encode non-ASCII parameters for a 7-bit server: %q", key, value)
		}
		v := mime.FormatMediaType(typ, params) // RFC 2231 for non-ASCII values
		if v == "" {
			return "", fmt.Errorf("%s: cannot encode non-ASCII parameters for a 7-bit server: %q", key, value)
		}
		return v, nil
	}
	// Unstructured text (Subject, Comments, Content-Description, X-…).
	return mime.QEncoding.Encode(charset, value), nil
}

// toSevenBit copies the message read from r to w, re-encoding the transfer
// encoding of every part that a 7-bit server cannot take: 8-bit text parts
// become quoted-printable, other 8-bit parts base64, multiparts and
// message/rfc822 parts are walked recursively keeping their boundaries, and
// header fields are encoded as RFC 2047/2231. The decoded content is the
// same. Parts are spooled one at a time, at most memSpool bytes in memory,
// the rest in a temporary file in tmpDir. The preamble and epilogue of a
// multipart (text no MIME reader shows) are dropped.
func toSevenBit(w io.Writer, r io.Reader, tmpDir string) error {
	br := bufio.NewReader(r)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	bw := bufio.NewWriter(w)
	if err := writeEntity(bw, h, br, tmpDir, true); err != nil {
		return err
	}
	return bw.Flush()
}

// writeEntity writes one entity (header and body) in 7-bit form.
func writeEntity(w io.Writer, h textproto.Header, body io.Reader, tmpDir string, top bool) error {
	ctype := h.Get("Content-Type")
	mediaType, params := "text/plain", map[string]string{}
	if ctype != "" {
		if t, p, err := mime.ParseMediaType(ctype); err == nil {
			mediaType, params = t, p
		} else {
			mediaType = "application/octet-stream" // unparsable: treat as opaque bytes
		}
	}
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	identity := cte == "" || cte == "7bit" || cte == "8bit" || cte == "binary"

	switch {
	case strings.HasPrefix(mediaType, "multipart/") && params["boundary"] != "" && identity:
		return writeMultipart(w, h, params["boundary"], body, tmpDir)
	case mediaType == "message/rfc822" && identity:
		return writeMessagePart(w, h, body, tmpDir)
	}
	return writeLeaf(w, h, mediaType, params, cte, body, tmpDir, top)
}

// writeMultipart writes a multipart entity with its original boundary.
func writeMultipart(w io.Writer, h textproto.Header, boundary string, body io.Reader, tmpDir string) error {
	if err := writeHeader(w, h, "7bit"); err != nil {
		return err
	}
	mr := textproto.NewMultipartReader(body, boundary)
	first := true
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("multipart boundary %q: %w", boundary, err)
		}
		sep := "\r\n--" + boundary + "\r\n"
		if first {
			sep, first = sep[2:], false
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if err := writeEntity(w, p.Header, p, tmpDir, false); err != nil {
			return err
		}
	}
	if first { // no part at all: keep an empty but valid multipart
		if _, err := io.WriteString(w, "--"+boundary+"\r\n\r\n"); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "\r\n--"+boundary+"--\r\n")
	return err
}

// writeMessagePart writes a message/rfc822 part, whose transfer encoding
// must stay 7bit (RFC 2046 5.2.1), by re-encoding the enclosed message.
func writeMessagePart(w io.Writer, h textproto.Header, body io.Reader, tmpDir string) error {
	if err := writeHeader(w, h, "7bit"); err != nil {
		return err
	}
	br := bufio.NewReader(body)
	inner, err := textproto.ReadHeader(br)
	if err != nil {
		return fmt.Errorf("enclosed message: read header: %w", err)
	}
	return writeEntity(w, inner, br, tmpDir, false)
}

// writeLeaf writes a single-part entity, re-encoding its body when it is
// not 7-bit clean.
func writeLeaf(w io.Writer, h textproto.Header, mediaType string, params map[string]string, cte string, body io.Reader, tmpDir string, top bool) error {
	sp, sc, err := spool(body, tmpDir)
	if err != nil {
		return err
	}
	defer sp.close()
	src, err := sp.reader()
	if err != nil {
		return err
	}
	if sc.clean() {
		relabel := ""
		if cte == "8bit" || cte == "binary" {
			relabel = "7bit"
		}
		if err := writeHeader(w, h, relabel); err != nil {
			return err
		}
		_, err := io.Copy(w, src)
		return err
	}

	switch cte {
	case "base64":
		return fmt.Errorf("part %s declared base64 holds 8-bit data", mediaType)
	case "quoted-printable":
		src = quotedprintable.NewReader(src) // lenient: 8-bit bytes pass through
	}
	text := strings.HasPrefix(mediaType, "text/")
	enc := "base64"
	if text {
		enc = "quoted-printable"
	}
	if text && params["charset"] == "" && sc.eightBit {
		// An 8-bit text without charset is read as UTF-8 by every
		// reader; say so, since quoted-printable without charset means
		// US-ASCII.
		params["charset"] = "utf-8"
		h = h.Copy()
		h.Set("Content-Type", mime.FormatMediaType(mediaType, params))
	}
	if top && !h.Has("Mime-Version") {
		h = h.Copy()
		h.Set("MIME-Version", "1.0")
	}
	if err := writeHeader(w, h, enc); err != nil {
		return err
	}
	if text {
		// Quoted-printable keeps the text's own line breaks, the last
		// one included: nothing is added after it, since the CRLF
		// before a boundary is not part of the content.
		qw := quotedprintable.NewWriter(w)
		if _, err := io.Copy(qw, src); err != nil {
			return err
		}
		return qw.Close()
	}
	lw := &lineWrapper{w: w}
	bw := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(bw, src); err != nil {
		return err
	}
	if err := bw.Close(); err != nil {
		return err
	}
	if lw.n > 0 { // end the last line; decoders ignore the line break
		_, err = io.WriteString(w, "\r\n")
	}
	return err
}

// writeHeader writes h in 7-bit form, setting Content-Transfer-Encoding to
// cte when it is not empty.
func writeHeader(w io.Writer, h textproto.Header, cte string) error {
	if cte != "" {
		old := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
		if old != cte && !(cte == "7bit" && old == "") {
			h = h.Copy()
			h.Del("Content-Transfer-Encoding")
			h.Add("Content-Transfer-Encoding", cte)
		}
	}
	h7, err := sevenBitHeader(h)
	if err != nil {
		return err
	}
	return textproto.WriteHeader(w, h7)
}

// lineWrapper breaks base64 output into lines of 76 characters.
type lineWrapper struct {
	w io.Writer
	n int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		room := 76 - l.n
		chunk := min(room, len(p))
		if _, err := l.w.Write(p[:chunk]); err != nil {
			return written, err
		}
		written += chunk
		p = p[chunk:]
		l.n += chunk
		if l.n == 76 {
			if _, err := io.WriteString(l.w, "\r\n"); err != nil {
				return written, err
			}
			l.n = 0
		}
	}
	return written, nil
}

// spill is a buffer that keeps up to memSpool bytes in memory and spills
// the rest to an unlinked temporary file in dir.
type spill struct {
	dir  string
	mem  bytes.Buffer
	file *os.File
}

// Write appends p.
func (s *spill) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) <= memSpool {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "mailfs-smtp-*")
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
		s.file = f
	}
	return s.file.Write(p)
}

// reader returns a reader of everything written, from the start.
func (s *spill) reader() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	return io.MultiReader(bytes.NewReader(s.mem.Bytes()), s.file), nil
}

// close removes the temporary file, if any.
func (s *spill) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// spool reads r to its end into a spill, scanning it on the way.
func spool(r io.Reader, dir string) (*spill, *scanner, error) {
	sp := &spill{dir: dir}
	sc := &scanner{}
	if _, err := io.Copy(io.MultiWriter(sp, sc), r); err != nil {
		sp.close()
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return sp, sc, nil
}
