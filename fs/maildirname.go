package fs

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mailfs/remote"
)

// Maildir file names (the .maildir view): UNIQUE:2,LETTERS, where UNIQUE
// is "<INTERNALDATE as Unix seconds>.U<uid>V<uidvalidity>.mailfs" (stable
// while the message exists, so a flag change renames only the part after
// the colon, and sorted by time) and LETTERS the message's Maildir flags,
// in ASCII order.

// maildirHost ends the unique part of every name the view gives.
const maildirHost = "mailfs"

// maildirFlags are the Maildir flag letters, in ASCII order, and the IMAP
// flags they stand for. P ("passed") is the $Forwarded keyword, as mbsync
// and Dovecot's clients use it.
var maildirFlags = []maildirFlag{
	{'D', `\Draft`},
	{'F', `\Flagged`},
	{'P', `$Forwarded`},
	{'R', `\Answered`},
	{'S', `\Seen`},
	{'T', `\Deleted`},
}

// maildirFlag is one Maildir flag letter and the IMAP flag it stands for.
type maildirFlag struct {
	letter byte
	flag   string
}

// errMaildirName is the error of a name that the view cannot take.
var errMaildirName = errors.New("not a Maildir file name this view can take")

// maildirUnique returns the unique part of the name of message info of a
// listing with uidValidity.
func maildirUnique(uidValidity uint32, info remote.MessageInfo) string {
	t := max(info.InternalDate.Unix(), 0)
	return strconv.FormatInt(t, 10) + ".U" + strconv.FormatUint(uint64(info.UID), 10) +
		"V" + strconv.FormatUint(uint64(uidValidity), 10) + "." + maildirHost
}

// maildirName returns the file name of message info in cur/ or new/.
func maildirName(uidValidity uint32, info remote.MessageInfo) string {
	return maildirUnique(uidValidity, info) + ":2," + maildirLetters(info.Flags)
}

// maildirLetters returns the Maildir flag letters of flags, in ASCII order.
func maildirLetters(flags []string) string {
	var b []byte
	for _, mf := range maildirFlags {
		if hasFlag(flags, mf.flag) {
			b = append(b, mf.letter)
		}
	}
	return string(b)
}

// hasFlag reports whether flags holds flag (IMAP flags compare without
// case).
func hasFlag(flags []string, flag string) bool {
	return slices.ContainsFunc(flags, func(f string) bool { return strings.EqualFold(f, flag) })
}

// splitMaildirName splits a Maildir file name into its unique part and its
// info (what follows the first colon, such as "2,FS"); hasInfo is false
// when there is no colon.
func splitMaildirName(name string) (unique, info string, hasInfo bool) {
	return strings.Cut(name, ":")
}

// parseMaildirUnique returns the UID and UIDVALIDITY a unique part given by
// maildirUnique carries; ok is false for any other string. The time is only
// checked to be digits: Lookup compares the whole name with the one the
// listing gives.
func parseMaildirUnique(unique string) (uid, uidValidity uint32, ok bool) {
	rest, ok := strings.CutSuffix(unique, "."+maildirHost)
	if !ok {
		return 0, 0, false
	}
	secs, ids, ok := strings.Cut(rest, ".U")
	if !ok || secs == "" || strings.TrimLeft(secs, "0123456789") != "" {
		return 0, 0, false
	}
	u, v, ok := strings.Cut(ids, "V")
	if !ok {
		return 0, 0, false
	}
	uid, ok1 := parseDecimal32(u)
	uidValidity, ok2 := parseDecimal32(v)
	return uid, uidValidity, ok1 && ok2
}

// parseDecimal32 parses a decimal uint32 without sign or leading zeros.
func parseDecimal32(s string) (uint32, bool) {
	if s == "" || (s[0] == '0' && len(s) > 1) || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// maildirTargetFlags returns the flags a message gets when it is given a
// name in cur/ (inCur) or new/ with info: the Maildir letters after "2,"
// replace the six flags they stand for, and every other flag (keywords)
// stays. Without info, a name in cur/ adds \Seen and one in new/ removes
// it. strict refuses a letter the view does not know (a rename, whose
// name the client expects to find) instead of ignoring it (a new file,
// which takes the view's own name anyway). \Recent, which cannot be set,
// is dropped.
func maildirTargetFlags(cur []string, inCur bool, info string, hasInfo, strict bool) ([]string, error) {
	var out []string
	for _, f := range cur {
		if !isMaildirFlag(f) && !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	if !hasInfo {
		for _, f := range cur {
			if isMaildirFlag(f) && !strings.EqualFold(f, `\Seen`) {
				out = append(out, f)
			}
		}
		if inCur {
			out = append(out, `\Seen`)
		}
		return out, nil
	}
	letters, ok := strings.CutPrefix(info, "2,")
	if !ok {
		if strict {
			return nil, fmt.Errorf("info %q does not start with \"2,\": %w", info, errMaildirName)
		}
		return out, nil
	}
	for i := 0; i < len(letters); i++ {
		j := slices.IndexFunc(maildirFlags, func(mf maildirFlag) bool { return mf.letter == letters[i] })
		switch {
		case j >= 0:
			if !hasFlag(out, maildirFlags[j].flag) {
				out = append(out, maildirFlags[j].flag)
			}
		case strict:
			return nil, fmt.Errorf("flag letter %q is not one of DFPRST: %w", letters[i], errMaildirName)
		}
	}
	return out, nil
}

// isMaildirFlag reports whether the IMAP flag f has a Maildir letter.
func isMaildirFlag(f string) bool {
	return slices.ContainsFunc(maildirFlags, func(mf maildirFlag) bool { return strings.EqualFold(mf.flag, f) })
}

// sameFlags reports whether a and b hold the same flags, in any order and
// case.
func sameFlags(a, b []string) bool {
	for _, f := range a {
		if !hasFlag(b, f) {
			return false
		}
	}
	for _, f := range b {
		if !hasFlag(a, f) {
			return false
		}
	}
	return true
}
