package header

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// ErrNotMessage is wrapped by Check's errors.
var ErrNotMessage = errors.New("not a mail message")

// identifying are the fields of which a message must have at least one.
var identifying = []string{"From", "Sender", "To", "Cc", "Subject", "Date", "Message-ID"}

// Check reports whether hb, the header block at the start of a file (as
// Read returns it), makes the file a mail message that can be stored: at
// least one field; every line a field with a valid name ("Name: value",
// ValidName; white space before the colon is RFC 5322's obsolete syntax
// and accepted), the continuation of one, or the blank line that ends the
// block; no NUL byte; and one of From, Sender, To, Cc, Subject, Date and
// Message-ID. The error wraps ErrNotMessage and says what is wrong in
// words a user understands. Stores that take a file as a new message (the
// POP3 store, APPEND to an IMAP folder) call it; the outbox, which checks
// as the file is written, uses Kind and ValidName itself.
func Check(hb []byte) error {
	if i := bytes.IndexByte(hb, 0); i >= 0 {
		return fmt.Errorf("%w: a NUL byte in the header", ErrNotMessage)
	}
	fields := 0
	for rest := hb; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = TrimEOL(line)
		switch Kind(line) {
		case Blank:
			rest = nil
			continue
		case Continuation:
			if fields == 0 {
				return fmt.Errorf("%w: the first line %q is indented", ErrNotMessage, lineExcerpt(line))
			}
			continue
		case Field:
			if name, _ := fieldName(line); ValidName(name) {
				fields++
				continue
			}
		}
		return fmt.Errorf("%w: %q is not a header field (\"Name: value\")", ErrNotMessage, lineExcerpt(line))
	}
	if fields == 0 {
		return fmt.Errorf("%w: no header", ErrNotMessage)
	}
	h := Parse(hb)
	for _, name := range identifying {
		if h.Has(name) {
			return nil
		}
	}
	return fmt.Errorf("%w: none of the fields %s", ErrNotMessage, strings.Join(identifying, ", "))
}

// lineExcerpt returns the start of line, for an error message.
func lineExcerpt(line []byte) string {
	const n = 60
	if len(line) > n {
		return string(line[:n]) + "…"
	}
	return string(line)
}
