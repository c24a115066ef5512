package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"

	"mailfs/remote"
)

// maxHeader bounds the header block read ahead of the transaction.
const maxHeader = 1 << 20

// message is a message to send: its header block read ahead (to decide
// about SMTPUTF8 before MAIL FROM) and the rest still unread.
type message struct {
	header []byte // raw header block, blank line included
	parsed textproto.Header
	rest   io.Reader

	// seeker is the original reader when it can seek, start its offset at
	// the start of the message: the 7-bit path scans it and rewinds
	// instead of copying it.
	seeker io.ReadSeeker
	start  int64
}

// readMessage reads the header block of r.
func readMessage(r io.Reader) (*message, error) {
	m := &message{}
	if rs, ok := r.(io.ReadSeeker); ok {
		if off, err := rs.Seek(0, io.SeekCurrent); err == nil {
			m.seeker, m.start = rs, off
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var hdr bytes.Buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil // a long header line: keep reading it
		}
		hdr.Write(line)
		if hdr.Len() > maxHeader {
			return nil, permanentf("message header is larger than %d bytes", maxHeader)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read message: %w", err)
		}
		if s := string(line); s == "\r\n" || s == "\n" {
			break
		}
	}
	m.header = hdr.Bytes()
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(m.header)))
	if err != nil && err != io.EOF {
		return nil, permanentf("message header: %v", err)
	}
	m.parsed = h
	m.rest = br
	return m, nil
}

// asIs returns the whole message as it was written.
func (m *message) asIs() io.Reader {
	return io.MultiReader(bytes.NewReader(m.header), m.rest)
}

// source is the message as it goes into DATA, readable once for each
// transaction of a Send (several when the server limits the recipients
// of one transaction).
type source struct {
	next   io.Reader                 // the reader for the next DATA; nil once taken
	rewind func() (io.Reader, error) // a new reader from the start; nil when there is none yet
	dir    string                    // for a spool made by keep
	close  func()                    // releases the spools
}

// take returns the reader for the next DATA.
func (s *source) take() (io.Reader, error) {
	if r := s.next; r != nil {
		s.next = nil
		return r, nil
	}
	if s.rewind == nil {
		return nil, errors.New("read message: it cannot be read a second time")
	}
	return s.rewind()
}

// keep makes sure the message can be read once more after the next DATA:
// a reader that cannot be rewound is spooled now, before it is sent.
func (s *source) keep() error {
	if s.rewind != nil || s.next == nil {
		return nil
	}
	sp := &spill{dir: s.dir}
	if _, err := io.Copy(sp, s.next); err != nil {
		sp.close()
		return fmt.Errorf("read message: %w", err)
	}
	r, err := sp.reader()
	if err != nil {
		sp.close()
		return err
	}
	prev := s.close
	s.next, s.rewind = r, sp.reader
	s.close = func() { prev(); sp.close() }
	return nil
}

// asIsSource returns the message as it was written.
func (m *message) asIsSource(tmpDir string) *source {
	src := &source{next: m.asIs(), dir: tmpDir, close: func() {}}
	if m.seeker != nil {
		src.rewind = m.rewind
	}
	return src
}

// rewind seeks a seekable message back to its start and returns it.
func (m *message) rewind() (io.Reader, error) {
	if _, err := m.seeker.Seek(m.start, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind message: %w", err)
	}
	return m.seeker, nil
}

// sevenBit returns the message in a form a server without 8BITMIME takes:
// as it is when it is 7-bit clean, re-encoded otherwise. It reads the
// message once to scan it (rewinding a seekable message, spooling any
// other), and once more to re-encode it into a spool when needed.
func (m *message) sevenBit(tmpDir string) (src *source, reencoded bool, err error) {
	sc := &scanner{}
	sc.Write(m.header)
	var sp *spill
	var r io.Reader
	src = &source{dir: tmpDir, close: func() {}}
	if m.seeker != nil {
		if _, err := io.Copy(sc, m.rest); err != nil {
			return nil, false, fmt.Errorf("read message: %w", err)
		}
		if r, err = m.rewind(); err != nil {
			return nil, false, err
		}
		src.rewind = m.rewind
	} else {
		sp = &spill{dir: tmpDir}
		sp.Write(m.header)
		if _, err := io.Copy(io.MultiWriter(sp, sc), m.rest); err != nil {
			sp.close()
			return nil, false, fmt.Errorf("read message: %w", err)
		}
		if r, err = sp.reader(); err != nil {
			sp.close()
			return nil, false, err
		}
		src.rewind, src.close = sp.reader, sp.close
	}
	if sc.clean() {
		src.next = r
		return src, false, nil
	}
	out := &spill{dir: tmpDir}
	err = toSevenBit(out, r, tmpDir)
	src.close()
	if err != nil {
		out.close()
		if errors.Is(err, remote.ErrPermanent) {
			return nil, false, err
		}
		return nil, false, permanentf("re-encode for a server without 8BITMIME: %v", err)
	}
	if r, err = out.reader(); err != nil {
		out.close()
		return nil, false, err
	}
	return &source{next: r, rewind: out.reader, dir: tmpDir, close: out.close}, true, nil
}

// checkEnvelope refuses an envelope no server can take.
func checkEnvelope(env remote.Envelope) error {
	if len(env.To) == 0 {
		return permanentf("no recipients")
	}
	for _, a := range append([]string{env.From}, env.To...) {
		if strings.ContainsAny(a, "\r\n<> \t") {
			return permanentf("malformed address %q", a)
		}
	}
	for _, a := range env.To {
		if a == "" {
			return permanentf("empty recipient address")
		}
	}
	return nil
}

// nonASCIIAddress returns the first envelope address that is not ASCII and
// the role it plays ("from" or "to").
func nonASCIIAddress(env remote.Envelope) (role, addr string) {
	if hasHigh(env.From) {
		return "from", env.From
	}
	for _, a := range env.To {
		if hasHigh(a) {
			return "to", a
		}
	}
	return "", ""
}
