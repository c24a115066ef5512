package cache

// Temporary stand-ins until internal/header lands (being written now).

import (
	"bufio"
	"errors"
	"io"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

type shimHeader struct{ h mail.Header }

var shim = struct {
	Read  func(io.Reader) ([]byte, error)
	Check func([]byte) error
	Parse func([]byte) shimHeader
}{
	Read: func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, 256<<10)) },
	Check: func(b []byte) error {
		h, err := textproto.ReadHeader(bufio.NewReader(bytesReader(b)))
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if h.Len() == 0 {
			return errors.New("no header")
		}
		return nil
	},
	Parse: func(b []byte) shimHeader {
		h, _ := textproto.ReadHeader(bufio.NewReader(bytesReader(b)))
		return shimHeader{mail.Header{Header: message.Header{Header: h}}}
	},
}

func (s shimHeader) Date() (time.Time, error) { return s.h.Date() }

func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
