package remote

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid means an argument the user gave cannot be used as it is: a
// flag that is not an IMAP flag, a message that does not parse.
var ErrInvalid = errors.New("invalid argument")

// systemFlags are the IMAP system flags a client may set (RFC 9051
// section 2.3.2), by lower-case name. \Recent is the server's alone.
var systemFlags = map[string]string{
	`\seen`:     `\Seen`,
	`\answered`: `\Answered`,
	`\flagged`:  `\Flagged`,
	`\deleted`:  `\Deleted`,
	`\draft`:    `\Draft`,
}

// NormalizeFlags checks that flags can be stored on a message and returns
// them as a set: system flags in their usual spelling, keywords ($Label1,
// Junk) as given, each once (compared without case, as IMAP does), sorted.
// An empty string is skipped. A flag that is not a system flag or an atom
// (ASCII without white space, controls or any of `(){%*"\]`), and \Recent,
// give an error wrapping ErrInvalid.
func NormalizeFlags(flags []string) ([]string, error) {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if f == "" {
			continue
		}
		if strings.HasPrefix(f, `\`) {
			sys, ok := systemFlags[strings.ToLower(f)]
			if !ok {
				return nil, fmt.Errorf("flag %q: not one of \\Seen \\Answered \\Flagged \\Deleted \\Draft: %w", f, ErrInvalid)
			}
			f = sys
		} else if i := strings.IndexFunc(f, notAtomChar); i >= 0 {
			return nil, fmt.Errorf("flag %q: %q cannot be part of a keyword: %w", f, f[i:i+1], ErrInvalid)
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, f) }) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out, nil
}

// notAtomChar reports whether r cannot appear in an IMAP atom.
func notAtomChar(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r)
}
