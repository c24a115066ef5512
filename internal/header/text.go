package header

import (
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Text decodes RFC 2047 encoded words (every charset go-message knows; on
// failure the value is kept) and returns valid single-line UTF-8: bytes that
// are not UTF-8 are read as Latin-1, control characters become spaces, runs
// of white space one space, trimmed.
func Text(v string) string {
	if strings.Contains(v, "=?") {
		d := mime.WordDecoder{CharsetReader: charset.Reader}
		if s, err := d.DecodeHeader(v); err == nil {
			v = s
		}
	}
	return clean(v)
}

// clean is Text without word decoding.
func clean(s string) string {
	if isClean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false // white space is pending
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			r = rune(s[i]) // not UTF-8: Latin-1, the likeliest guess
		}
		i += n
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isClean reports whether clean(s) is s: valid UTF-8, no control
// characters, no white space but single spaces between other characters.
func isClean(s string) bool {
	prevSpace := true // a space here would be leading
	for _, r := range s {
		switch {
		case r == utf8.RuneError: // maybe a byte that is not UTF-8
			return false
		case r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return false
		default:
			prevSpace = false
		}
	}
	return !prevSpace || s == ""
}
