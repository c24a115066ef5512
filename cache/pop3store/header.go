package pop3store

import (
	"fmt"
	"io"
	"os"
	"time"

	"mailfs/internal/header"
)

// headerMeta is what a listing shows of a message, taken from its header.
type headerMeta struct {
	// Date is the Date: field in the zone it names; zero when missing,
	// unparseable or outside the years 1000–9999.
	Date      time.Time
	Subject   string
	MessageID string
	// Fields is the number of header fields read.
	Fields int
	// Err is the first problem met reading the header (skipped lines, an
	// unreadable Date:), nil when none. It is only logged.
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

// parseMeta reads the header fields of the message r holds (at most
// header.MaxBytes of it).
func parseMeta(r io.Reader) headerMeta {
	b, err := header.Read(r)
	h := header.Parse(b)
	m := headerMeta{Subject: h.Subject(), MessageID: h.MessageID(), Fields: h.Len(), Err: err}
	if n := h.Skipped(); n > 0 && m.Err == nil {
		m.Err = fmt.Errorf("%d header lines skipped: neither a field nor its continuation", n)
	}
	if h.Has("Date") {
		if d, err := h.Date(); err == nil {
			m.Date = d
		} else if m.Err == nil {
			m.Err = err
		}
	}
	return m
}
