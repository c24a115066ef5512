package imap

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// charsetReader decodes the charsets of RFC 2047 encoded words that
// mime.WordDecoder does not know itself (it handles UTF-8, US-ASCII and
// ISO-8859-1). go-message's charset package would cover every charset, but
// it needs golang.org/x/text, which the module does not have yet; until then
// the Windows and ISO Latin charsets most mail uses are decoded here and
// words in other charsets stay encoded.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	table := latinTable(charset)
	if table == nil {
		return nil, fmt.Errorf("unsupported charset %q", charset)
	}
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(b)/2)
	for _, c := range b {
		r := rune(c)
		if c >= 0x80 {
			r = table(c)
		}
		out = utf8.AppendRune(out, r)
	}
	return strings.NewReader(string(out)), nil
}

// windows1252High maps 0x80-0x9F of Windows-1252; the rest is Latin-1.
var windows1252High = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

func windows1252(c byte) rune {
	if c < 0xA0 {
		return windows1252High[c-0x80]
	}
	return rune(c)
}

// iso885915 is Latin-9: Latin-1 with eight code points replaced.
func iso885915(c byte) rune {
	switch c {
	case 0xA4:
		return '€'
	case 0xA6:
		return 'Š'
	case 0xA8:
		return 'š'
	case 0xB4:
		return 'Ž'
	case 0xB8:
		return 'ž'
	case 0xBC:
		return 'Œ'
	case 0xBD:
		return 'œ'
	case 0xBE:
		return 'Ÿ'
	}
	return rune(c)
}

// latinTable returns the decoder of a single-byte charset, nil if unknown.
func latinTable(charset string) func(byte) rune {
	switch strings.ToLower(charset) {
	case "windows-1252", "cp1252":
		return windows1252
	case "iso-8859-15", "latin-9":
		return iso885915
	}
	return nil
}
