package imap

import (
	"bytes"
	"strings"
)

// parseHeaderFields returns the raw Subject and the Message-ID (without
// angle brackets) of a header block, such as BODY[HEADER.FIELDS (SUBJECT
// MESSAGE-ID)] returns. Folded lines are unfolded; the first occurrence of
// each field wins.
func parseHeaderFields(h []byte) (subject, msgID string) {
	var haveSubject, haveID bool
	var name string
	var value []byte
	flush := func() {
		switch {
		case name == "subject" && !haveSubject:
			subject, haveSubject = strings.TrimSpace(string(value)), true
		case name == "message-id" && !haveID:
			msgID, haveID = trimMsgID(string(value)), true
		}
		name, value = "", value[:0]
	}
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line, h = h[:i], h[i+1:]
		} else {
			h = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if name != "" {
				value = append(value, ' ')
				value = append(value, bytes.TrimLeft(line, " \t")...)
			}
			continue
		}
		flush()
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = strings.ToLower(string(bytes.TrimSpace(k)))
		value = append(value, bytes.TrimLeft(v, " \t")...)
	}
	flush()
	return subject, msgID
}

// trimMsgID returns the msg-id inside angle brackets, or the trimmed value
// when there are none.
func trimMsgID(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
	}
	return v
}

// decodeWords resolves RFC 2047 encoded words; a header with a charset it
// cannot decode is returned as it is.
func (s *Store) decodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	out, err := s.words.DecodeHeader(v)
	if err != nil {
		return v
	}
	return out
}
