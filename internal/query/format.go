package query

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailfs/remote"
)

// Format writes q in the canonical form of the language (see the package
// doc): for every query Parse returns, Parse(Format(q)) returns q again,
// with the same structure, when given a time in the same location. Other
// queries that pass Check are written with the same meaning where the
// language can say it; a text with a '/' or a control character cannot be
// written so that Parse accepts it. A query Check refuses is written as
// "()", which Parse refuses too.
func Format(q remote.Query) string {
	if Check(q) != nil {
		return "()"
	}
	var b strings.Builder
	format(&b, q)
	return b.String()
}

// format writes q, which passed Check.
func format(b *strings.Builder, q remote.Query) {
	switch q.Op {
	case remote.QueryAll:
		b.WriteString("all")
	case remote.QueryAnd:
		if len(q.Args) == 0 {
			b.WriteString("all")
			return
		}
		for i, a := range q.Args {
			if i > 0 {
				b.WriteByte(' ')
			}
			// An OR inside an AND needs parentheses; an AND inside
			// an AND too, to keep it (Parse would flatten it).
			operand(b, a, a.Op == remote.QueryOr || a.Op == remote.QueryAnd && len(a.Args) > 1)
		}
	case remote.QueryOr:
		for i, a := range q.Args {
			if i > 0 {
				b.WriteString(" OR ")
			}
			operand(b, a, a.Op == remote.QueryOr)
		}
	case remote.QueryNot:
		a := q.Args[0]
		switch {
		case a.Op == remote.QueryUnseen:
			b.WriteString("seen")
		case a.Op == remote.QueryFlagged:
			b.WriteString("unflagged")
		default:
			b.WriteByte('-')
			operand(b, a, a.Op == remote.QueryOr || a.Op == remote.QueryAnd && len(a.Args) > 1)
		}
	case remote.QueryFrom, remote.QueryTo, remote.QuerySubject, remote.QueryBody:
		b.WriteString(keyName(q.Op))
		b.WriteByte(':')
		writeValue(b, q.Text)
	case remote.QueryText:
		if bareText(q.Text) {
			b.WriteString(q.Text)
		} else {
			writeQuoted(b, q.Text)
		}
	case remote.QuerySince, remote.QueryBefore:
		y, m, d := q.Date.Date()
		fmt.Fprintf(b, "%s:%04d-%02d-%02d", keyName(q.Op), y, m, d)
	case remote.QueryUnseen:
		b.WriteString("unseen")
	case remote.QueryFlagged:
		b.WriteString("flagged")
	case remote.QueryLarger:
		b.WriteString("larger:")
		b.WriteString(formatSize(q.Size))
	}
}

// operand writes q as an operand of an operator, in parentheses when
// paren is set.
func operand(b *strings.Builder, q remote.Query, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	format(b, q)
	if paren {
		b.WriteByte(')')
	}
}

// keyName returns the key of a valued op.
func keyName(op remote.QueryOp) string {
	for name, o := range keys {
		if o == op {
			return name
		}
	}
	return "?"
}

// formatSize writes n with the largest suffix that divides it exactly.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// plainWord reports whether s can be written as a bare word: not empty,
// UTF-8, and without white space, control characters, parentheses or
// quotes.
func plainWord(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if endsWord(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// bareText reports whether the text s can be written as a bare word that
// Parse reads as text:s: also no colon (a key), no leading '-' (a
// negation), and neither an operator nor a flag word.
func bareText(s string) bool {
	if !plainWord(s) || strings.ContainsRune(s, ':') || s[0] == '-' {
		return false
	}
	if s == opAnd || s == opOr || s == opNot {
		return false
	}
	_, flag := flagWords[strings.ToLower(s)]
	return !flag
}

// writeValue writes the value of key:value, bare when it can be.
func writeValue(b *strings.Builder, s string) {
	if plainWord(s) {
		b.WriteString(s)
		return
	}
	writeQuoted(b, s)
}

// writeQuoted writes s as a quoted string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// Check reports whether q is a query the package and the stores can run:
// QueryNot has exactly one operand, QueryOr at least two, no leaf has
// operands, texts are UTF-8 without NUL, CR or LF (IMAP cannot send them
// in a search string), dates fall in the years 0000–9999 (an IMAP date
// has four digits), sizes are not negative, and every op is known. The
// error wraps remote.ErrInvalid.
func Check(q remote.Query) error {
	if err := check(q); err != nil {
		return fmt.Errorf("query: %s: %w", err, remote.ErrInvalid)
	}
	return nil
}

func check(q remote.Query) error {
	switch q.Op {
	case remote.QueryAnd:
	case remote.QueryOr:
		if len(q.Args) < 2 {
			return fmt.Errorf("OR with %d operands (at least 2)", len(q.Args))
		}
	case remote.QueryNot:
		if len(q.Args) != 1 {
			return fmt.Errorf("NOT with %d operands (exactly 1)", len(q.Args))
		}
	case remote.QueryAll, remote.QueryUnseen, remote.QueryFlagged:
	case remote.QueryFrom, remote.QueryTo, remote.QuerySubject, remote.QueryBody, remote.QueryText:
		if !utf8.ValidString(q.Text) {
			return fmt.Errorf("%s: text is not UTF-8", keyName(q.Op))
		}
		if strings.ContainsAny(q.Text, "\x00\r\n") {
			return fmt.Errorf("%s: text %q has a NUL, CR or LF", keyName(q.Op), q.Text)
		}
	case remote.QuerySince, remote.QueryBefore:
		if y := q.Date.Year(); y < minYear || y > maxYear {
			return fmt.Errorf("%s: year %d out of range", keyName(q.Op), y)
		}
	case remote.QueryLarger:
		if q.Size < 0 {
			return fmt.Errorf("larger: negative size %d", q.Size)
		}
	default:
		return fmt.Errorf("unknown op %d", q.Op)
	}
	switch q.Op {
	case remote.QueryAnd, remote.QueryOr, remote.QueryNot:
		for _, a := range q.Args {
			if err := check(a); err != nil {
				return err
			}
		}
	default:
		if len(q.Args) > 0 {
			return fmt.Errorf("%s with operands", opName(q.Op))
		}
	}
	return nil
}

// opName names an op in messages.
func opName(op remote.QueryOp) string {
	switch op {
	case remote.QueryAll:
		return "all"
	case remote.QueryUnseen:
		return "unseen"
	case remote.QueryFlagged:
		return "flagged"
	}
	return keyName(op)
}
