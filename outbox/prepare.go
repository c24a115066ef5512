package outbox

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"mailfs/internal/header"
)

// dateLayout is the RFC 5322 date-time format.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// lineEnding returns the line ending the message uses: that of its first
// line, CRLF when it has none.
func lineEnding(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		return "\r\n"
	} else if i >= 0 {
		return "\n"
	}
	return "\r\n"
}

// terminate returns a header block that ends with a blank line: hb as it is
// when complete, otherwise hb (a whole file without blank line) with the
// line ending and blank line it lacks.
func terminate(hb []byte, complete bool) []byte {
	if complete {
		return hb
	}
	eol := lineEnding(hb)
	out := bytes.Clone(hb)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, eol...)
	}
	return append(out, eol...)
}

// parseHeader parses a header block that ends with a blank line. Every
// line must be a field or its continuation (checkFieldLines), as when the
// draft was written.
func parseHeader(hb []byte) (*mail.Header, error) {
	if err := checkFieldLines(hb, true); err != nil {
		return nil, err
	}
	return header.Parse(hb).Mail(), nil
}

// rewriteHeader returns the header block to transmit: hb (ending with its
// blank line) without its Bcc: fields, with the fields the message lacks
// (From:, Date:, Message-ID:) added at the top in the message's own line
// ending. Every other byte is kept.
func rewriteHeader(hb []byte, h *mail.Header, p *plan, now time.Time) []byte {
	eol := lineEnding(hb)
	var out bytes.Buffer
	if p.fillFrom != "" {
		out.WriteString("From: " + p.fillFrom + eol)
	}
	if !h.Has("Date") {
		out.WriteString("Date: " + now.Format(dateLayout) + eol)
	}
	if !h.Has("Message-Id") {
		out.WriteString("Message-ID: <" + newMessageID(now) + "@" + p.domain + ">" + eol)
	}
	drop := false
	for i := 0; i < len(hb); {
		j := bytes.IndexByte(hb[i:], '\n')
		line := hb[i:]
		if j >= 0 {
			line = hb[i : i+j+1]
		}
		switch header.Kind(header.TrimEOL(line)) {
		case header.Continuation:
			// A continuation line belongs to the field above.
		case header.Blank:
			drop = false // the blank line that ends the header
		default:
			name, _, _ := bytes.Cut(line, []byte(":"))
			drop = strings.EqualFold(strings.TrimSpace(string(name)), "Bcc")
		}
		if !drop {
			out.Write(line)
		}
		i += len(line)
	}
	return out.Bytes()
}

// newMessageID returns the local part of a new Message-ID: time and 64
// random bits.
func newMessageID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(strconv.FormatInt(now.UnixNano(), 36)) + "." + hex.EncodeToString(b[:])
}

// readHeaderBlock reads the header block of the size bytes of f: it returns
// the block (ending with its blank line, added when the file has none) and
// the offset where the body starts.
func (o *Outbox) readHeaderBlock(f *os.File, size int64) (hb []byte, bodyOff int64, err error) {
	n := min(size, int64(o.maxHeader))
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("read message: %w", err)
	}
	end, _ := header.End(buf, 0)
	switch {
	case end >= 0:
		return buf[:end], int64(end), nil
	case size > int64(o.maxHeader):
		return nil, 0, o.errHeaderTooLong()
	default:
		// No blank line: the whole file is the header of a message without
		// body.
		return terminate(buf, false), size, nil
	}
}

func (o *Outbox) errHeaderTooLong() error {
	return invalidf("no blank line within the first %d bytes: a blank line must end the header", o.maxHeader)
}

// validate checks that the size bytes of src are a message that can be
// sent and returns how. Errors wrapping ErrInvalid say why it cannot be;
// others are I/O errors.
func (o *Outbox) validate(src *os.File, size int64) (*plan, error) {
	p, _, _, _, err := o.parse(src, size)
	return p, err
}

// parse reads and validates the header of the size bytes of src.
func (o *Outbox) parse(src *os.File, size int64) (p *plan, h *mail.Header, hb []byte, bodyOff int64, err error) {
	hb, bodyOff, err = o.readHeaderBlock(src, size)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	if h, err = parseHeader(hb); err != nil {
		return nil, nil, nil, 0, err
	}
	if p, err = o.route(h); err != nil {
		return nil, nil, nil, 0, err
	}
	return p, h, hb, bodyOff, nil
}

// prepare validates the size bytes of src and writes the message to
// transmit into dir/file, fsync'ed. Errors wrapping ErrInvalid say why the
// message cannot be sent; others are I/O errors.
func (o *Outbox) prepare(dir, file string, src *os.File, size int64) (*plan, int64, error) {
	p, h, hb, bodyOff, err := o.parse(src, size)
	if err != nil {
		return nil, 0, err
	}
	dst, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("prepare message: %w", err)
	}
	w := bufio.NewWriterSize(dst, 64<<10)
	nh, _ := w.Write(rewriteHeader(hb, h, p, o.now()))
	nb, err := io.Copy(w, io.NewSectionReader(src, bodyOff, size-bodyOff))
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("prepare message: %w", err)
	}
	return p, int64(nh) + nb, nil
}
