package mimeparts

import (
	"bytes"
	"fmt"
	"io"

	"mailfs/internal/header"
)

// Headers reads the header block at the start of r (a whole message, or
// the header alone as IMAP's BODY[HEADER] gives it) and renders it for
// reading: one field per line, "Name: value\n", in their order, folding
// undone and RFC 2047 words decoded to UTF-8 (header.Text: control
// characters and runs of white space become one space). Names are as
// written, cleaned the same way. Lines the header package cannot read are
// left out. It fails only when r does.
func Headers(r io.Reader) ([]byte, error) {
	block, err := header.Read(r)
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	var out bytes.Buffer
	fields := header.Parse(block).Mail().Fields()
	for fields.Next() {
		raw, err := fields.Raw()
		if err != nil {
			continue
		}
		name := raw
		if i := bytes.IndexByte(raw, ':'); i >= 0 {
			name = raw[:i]
		}
		out.WriteString(header.Text(string(name)))
		out.WriteByte(':')
		if v := header.Text(fields.Value()); v != "" {
			out.WriteByte(' ')
			out.WriteString(v)
		}
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}
