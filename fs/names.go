package fs

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailfs/remote"
)

// File name styles accepted by FileName and Options.Filenames.
const (
	// StyleDescriptive names a message YYYY-MM-DD_HHMM_SUBJECT_UID.eml.
	StyleDescriptive = "descriptive"
	// StyleUID names a message UID.eml.
	StyleUID = "uid"
)

const (
	emlExt = ".eml"
	// maxSlugRunes is the most characters the subject part of a name has.
	maxSlugRunes = 60
	// maxSlugBytes keeps a name under the 255-byte limit of a file name
	// even when every character of the slug takes four bytes in UTF-8:
	// date and time (15), two "_", a UID (at most 10) and ".eml" take 31.
	maxSlugBytes = 200
	noSubject    = "no-subject"
)

// FileName returns the name of the message file for info in the given style
// (StyleDescriptive or StyleUID; anything else means StyleDescriptive).
//
// A descriptive name is YYYY-MM-DD_HHMM_SLUG_UID.eml: INTERNALDATE in the zone
// the server gave it (never converted to the local zone), a slug of the
// subject and the UID. The slug keeps Unicode letters and digits (and the
// combining marks that follow them), turns every other run of characters into
// a single "-", drops leading and trailing "-" and is at most 60 characters;
// it is "no-subject" when nothing is left. The result is valid UTF-8, holds no
// "/" or NUL and is shorter than 255 bytes.
func FileName(info remote.MessageInfo, style string) string {
	uid := strconv.FormatUint(uint64(info.UID), 10)
	if style == StyleUID {
		return uid + emlExt
	}
	var b strings.Builder
	b.WriteString(info.InternalDate.Format("2006-01-02_1504"))
	b.WriteByte('_')
	b.WriteString(slug(info.Subject))
	b.WriteByte('_')
	b.WriteString(uid)
	b.WriteString(emlExt)
	return b.String()
}

// slug turns a subject into the subject part of a file name.
func slug(subject string) string {
	var b strings.Builder
	runes := 0
	dash := false               // a run of other characters is pending
	afterWord := false          // the last rune written is a letter, digit or mark
	for _, r := range subject { // invalid UTF-8 arrives as utf8.RuneError: not a letter
		keep := unicode.IsLetter(r) || unicode.IsDigit(r) || (afterWord && unicode.Is(unicode.M, r))
		if !keep {
			dash = true
			afterWord = false
			continue
		}
		if dash && b.Len() > 0 {
			if runes+2 > maxSlugRunes || b.Len()+1+utf8.RuneLen(r) > maxSlugBytes {
				break
			}
			b.WriteByte('-')
			runes++
		}
		dash = false
		if runes+1 > maxSlugRunes || b.Len()+utf8.RuneLen(r) > maxSlugBytes {
			break
		}
		b.WriteRune(r)
		runes++
		afterWord = true
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return noSubject
	}
	return s
}

// ParseUID returns the UID a message file name (in either style) carries:
// the decimal number after the last "_" (or the whole stem) before ".eml". It
// reports false for any other name. It does not check the rest of the name.
func ParseUID(name string) (uint32, bool) {
	stem, ok := strings.CutSuffix(name, emlExt)
	if !ok {
		return 0, false
	}
	if i := strings.LastIndexByte(stem, '_'); i >= 0 {
		stem = stem[i+1:]
	}
	if stem == "" || len(stem) > 10 || stem[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(stem); i++ {
		if stem[i] < '0' || stem[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(stem, 10, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}

// maxNameBytes is the longest file name Linux accepts (NAME_MAX).
const maxNameBytes = 255

// componentName returns the directory name shown for one level c of a
// mailbox name, as the server spelled it. It is a pure function of c: "."
// and ".." become U+FF0E FULLWIDTH FULL STOP ('．', '．．'), "/" becomes
// U+2215 DIVISION SLASH '∕', the control characters U+0000–U+001F and U+007F
// become their pictures in the Control Pictures block (U+2400–U+241F and
// U+2421: NUL '␀', tab '␉', newline '␊', DEL '␡'), and each run of bytes that
// is not UTF-8 becomes U+FFFD '�'. A result longer than 255 bytes (NAME_MAX)
// is cut at a character boundary and ends in hashSuffix(c). It returns "" for
// an empty level, which is not shown.
//
// Different levels can give the same name ("a\tb" and "a␉b"); describe
// tells them apart with shownName.
func componentName(c string) string {
	s := lookAlikes(c)
	if len(s) > maxNameBytes {
		return withHashSuffix(s, c)
	}
	return s
}

// lookAlikes is componentName without the limit on its length.
func lookAlikes(c string) string {
	switch c {
	case ".":
		return "\uFF0E"
	case "..":
		return "\uFF0E\uFF0E"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '/':
			return '\u2215'
		case r < 0x20:
			return 0x2400 + r
		case r == 0x7F:
			return '\u2421'
		}
		return r
	}, strings.ToValidUTF8(c, "\uFFFD"))
}

// shownName is the name of level c when another level of the same directory
// has the same componentName: its look-alikes with hashSuffix(c), cut to 255
// bytes (the same as componentName(c) for a name cut already). describe gives it to every colliding level whose componentName
// differs from its own spelling, so that the level the server spells as
// shown keeps the plain name, and each other one has a name that depends on
// its own spelling only.
func shownName(c string) string {
	return withHashSuffix(lookAlikes(c), c)
}

// hashSuffixLen is the length of hashSuffix's result.
const hashSuffixLen = 9

// hashSuffix returns "~" and 8 hex digits of the SHA-256 of c: what tells
// apart levels whose names had to be changed.
func hashSuffix(c string) string {
	h := sha256.Sum256([]byte(c))
	return "~" + hex.EncodeToString(h[:4])
}

// withHashSuffix appends hashSuffix(c) to name, first cutting name at a
// character boundary so that the result has at most maxNameBytes bytes.
func withHashSuffix(name, c string) string {
	if n := maxNameBytes - hashSuffixLen; len(name) > n {
		for n > 0 && !utf8.RuneStart(name[n]) {
			n--
		}
		name = name[:n]
	}
	return name + hashSuffix(c)
}
