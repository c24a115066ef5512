package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailfs/remote"
)

// Error is a query that cannot be parsed: what is wrong (Msg) and where
// (Pos, a byte offset into Query counted from 0).
type Error struct {
	// Query is the text given to Parse.
	Query string
	// Pos is the byte offset of the problem; len(Query) means the end.
	Pos int
	// Msg says what is wrong, without the query or the position.
	Msg string
}

// Error returns `query "TEXT": MSG (at POS)`.
func (e *Error) Error() string {
	return fmt.Sprintf("query %q: %s (at %d)", e.Query, e.Msg, e.Pos)
}

// Parse reads a query of the language the package documents. Relative
// dates (today, yesterday, Nd) count from now, in now's location; every
// date of the result is midnight in that location. The result is
// flattened (no AND directly inside an AND, no OR inside an OR) and passes
// Check.
func Parse(s string, now time.Time) (remote.Query, error) {
	p := &parser{src: s, now: now}
	if err := p.checkText(); err != nil {
		return remote.Query{}, err
	}
	p.advance()
	if p.err != nil {
		return remote.Query{}, p.err
	}
	if p.tok.kind == tokEOF {
		return remote.Query{}, p.errAt(0, "empty query")
	}
	q, err := p.parseOr()
	if err != nil {
		return remote.Query{}, err
	}
	switch p.tok.kind {
	case tokEOF:
		return q, nil
	case tokRParen:
		return remote.Query{}, p.errAt(p.tok.pos, "unmatched )")
	}
	// parseAnd stops only at OR, ), or the end: anything else is a bug.
	return remote.Query{}, p.errAt(p.tok.pos, "unexpected "+p.tok.describe())
}

// keys are the prefixes of the valued terms, by their lower-case name.
var keys = map[string]remote.QueryOp{
	"from":    remote.QueryFrom,
	"to":      remote.QueryTo,
	"subject": remote.QuerySubject,
	"body":    remote.QueryBody,
	"text":    remote.QueryText,
	"since":   remote.QuerySince,
	"before":  remote.QueryBefore,
	"larger":  remote.QueryLarger,
}

// flagWords are the terms without a value, by their lower-case spelling.
var flagWords = map[string]remote.Query{
	"unseen":    {Op: remote.QueryUnseen},
	"unread":    {Op: remote.QueryUnseen},
	"seen":      {Op: remote.QueryNot, Args: []remote.Query{{Op: remote.QueryUnseen}}},
	"flagged":   {Op: remote.QueryFlagged},
	"unflagged": {Op: remote.QueryNot, Args: []remote.Query{{Op: remote.QueryFlagged}}},
	"all":       {Op: remote.QueryAll},
}

// The operators, upper case only.
const (
	opAnd = "AND"
	opOr  = "OR"
	opNot = "NOT"
)

type tokKind int

const (
	tokEOF       tokKind = iota
	tokLParen            // (
	tokRParen            // )
	tokMinus             // - stuck to the front of a term
	tokWord              // a bare word, possibly key:value
	tokQuoted            // a bare "quoted string"
	tokKeyQuoted         // key:"quoted string"
)

// token is one lexical unit. For tokKeyQuoted, key is the word before the
// colon as written and text the unescaped string; for tokWord, text is the
// word; for tokQuoted, the unescaped string.
type token struct {
	kind tokKind
	pos  int // byte offset of its first character
	key  string
	text string
	vpos int // tokKeyQuoted: offset of the opening quote
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokLParen:
		return "("
	case tokRParen:
		return ")"
	case tokMinus:
		return "-"
	case tokKeyQuoted:
		return strconv.Quote(t.key + `:"`)
	}
	return strconv.Quote(t.text)
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	src string
	now time.Time
	i   int // scanning position
	tok token
	err error // set by advance on a lexical error
}

func (p *parser) errAt(pos int, msg string) *Error {
	return &Error{Query: p.src, Pos: pos, Msg: msg}
}

// checkText rejects what no query may contain anywhere: '/', bytes that
// are not UTF-8, and control characters other than white space (which
// separates terms outside quotes and is refused inside them).
func (p *parser) checkText() error {
	for i, r := range p.src {
		switch {
		case r == '/':
			return p.errAt(i, "a query cannot contain '/' (it is a directory name)")
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(p.src[i:]); n == 1 {
				return p.errAt(i, "not UTF-8")
			}
		case unicode.IsControl(r) && !unicode.IsSpace(r):
			return p.errAt(i, fmt.Sprintf("control character %U", r))
		}
	}
	return nil
}

// isSep reports whether r separates words outside quotes.
func isSep(r rune) bool { return unicode.IsSpace(r) }

// endsWord reports whether r ends a bare word.
func endsWord(r rune) bool { return isSep(r) || r == '(' || r == ')' || r == '"' }

// advance scans the next token into p.tok, or sets p.err.
func (p *parser) advance() {
	s := p.src
	for p.i < len(s) {
		r, n := utf8.DecodeRuneInString(s[p.i:])
		if !isSep(r) {
			break
		}
		p.i += n
	}
	start := p.i
	if p.i == len(s) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	switch s[p.i] {
	case '(':
		p.i++
		p.tok = token{kind: tokLParen, pos: start}
		return
	case ')':
		p.i++
		p.tok = token{kind: tokRParen, pos: start}
		return
	case '"':
		text, err := p.quoted()
		if err != nil {
			p.err = err
			return
		}
		p.tok = token{kind: tokQuoted, pos: start, text: text}
		return
	case '-':
		if p.i+1 == len(s) {
			p.err = p.errAt(start, "- needs a term right after it")
			return
		}
		if r, _ := utf8.DecodeRuneInString(s[p.i+1:]); isSep(r) || r == ')' {
			p.err = p.errAt(start, "- needs a term right after it")
			return
		}
		p.i++
		p.tok = token{kind: tokMinus, pos: start}
		return
	}
	for p.i < len(s) {
		r, n := utf8.DecodeRuneInString(s[p.i:])
		if endsWord(r) {
			break
		}
		p.i += n
	}
	word := s[start:p.i]
	if p.i < len(s) && s[p.i] == '"' {
		// Only key:"…" may run into a quote.
		key, rest, ok := strings.Cut(word, ":")
		if !ok || rest != "" {
			p.err = p.errAt(p.i, `a " may only start a word or the value of a key (key:"…")`)
			return
		}
		vpos := p.i
		text, err := p.quoted()
		if err != nil {
			p.err = err
			return
		}
		p.tok = token{kind: tokKeyQuoted, pos: start, key: key, text: text, vpos: vpos}
		return
	}
	p.tok = token{kind: tokWord, pos: start, text: word}
}

// quoted scans a quoted string at p.i and returns it unescaped.
func (p *parser) quoted() (string, error) {
	s := p.src
	open := p.i
	var b strings.Builder
	for i := open + 1; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			p.i = i + 1
			return b.String(), nil
		case r == '\\':
			if i+1 == len(s) {
				return "", p.errAt(open, "unterminated quoted string")
			}
			e, en := utf8.DecodeRuneInString(s[i+1:])
			if e != '"' && e != '\\' {
				return "", p.errAt(i, fmt.Sprintf(`unknown escape \%c (only \" and \\)`, e))
			}
			b.WriteRune(e)
			i += 1 + en
			continue
		case unicode.IsControl(r):
			return "", p.errAt(i, fmt.Sprintf("control character %U in a quoted string", r))
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return "", p.errAt(open, "unterminated quoted string")
}

// startsTerm reports whether the current token can begin a term (and so
// continues an AND by juxtaposition).
func (p *parser) startsTerm() bool {
	switch p.tok.kind {
	case tokLParen, tokMinus, tokQuoted, tokKeyQuoted:
		return true
	case tokWord:
		return p.tok.text != opAnd && p.tok.text != opOr
	}
	return false
}

func (p *parser) isWord(w string) bool { return p.tok.kind == tokWord && p.tok.text == w }

// next advances and returns the lexical error, if any.
func (p *parser) next() error {
	p.advance()
	return p.err
}

// parseOr: and { OR and }.
func (p *parser) parseOr() (remote.Query, error) {
	first, err := p.parseAnd()
	if err != nil {
		return remote.Query{}, err
	}
	if !p.isWord(opOr) {
		return first, nil
	}
	args := splice(nil, first, remote.QueryOr)
	for p.isWord(opOr) {
		orPos := p.tok.pos
		if err := p.next(); err != nil {
			return remote.Query{}, err
		}
		if !p.startsTerm() {
			return remote.Query{}, p.errAt(orPos, "OR needs a term after it")
		}
		q, err := p.parseAnd()
		if err != nil {
			return remote.Query{}, err
		}
		args = splice(args, q, remote.QueryOr)
	}
	return remote.Query{Op: remote.QueryOr, Args: args}, nil
}

// parseAnd: unary { [AND] unary }.
func (p *parser) parseAnd() (remote.Query, error) {
	if !p.startsTerm() {
		return remote.Query{}, p.missingTerm()
	}
	first, err := p.parseUnary()
	if err != nil {
		return remote.Query{}, err
	}
	var args []remote.Query
	for {
		if p.isWord(opAnd) {
			andPos := p.tok.pos
			if err := p.next(); err != nil {
				return remote.Query{}, err
			}
			if !p.startsTerm() {
				return remote.Query{}, p.errAt(andPos, "AND needs a term after it")
			}
		} else if !p.startsTerm() {
			break
		}
		q, err := p.parseUnary()
		if err != nil {
			return remote.Query{}, err
		}
		if args == nil {
			args = splice(nil, first, remote.QueryAnd)
		}
		args = splice(args, q, remote.QueryAnd)
	}
	if args == nil {
		return first, nil
	}
	return remote.Query{Op: remote.QueryAnd, Args: args}, nil
}

// missingTerm is the error where a term was expected but the current
// token cannot start one.
func (p *parser) missingTerm() error {
	switch {
	case p.isWord(opOr):
		return p.errAt(p.tok.pos, "OR needs a term before it")
	case p.isWord(opAnd):
		return p.errAt(p.tok.pos, "AND needs a term before it")
	case p.tok.kind == tokRParen:
		return p.errAt(p.tok.pos, "a term is missing before )")
	}
	return p.errAt(p.tok.pos, "a term is missing at the "+p.tok.describe())
}

// splice appends q to args, or q's operands when q is itself an op.
func splice(args []remote.Query, q remote.Query, op remote.QueryOp) []remote.Query {
	if q.Op == op {
		return append(args, q.Args...)
	}
	return append(args, q)
}

// parseUnary: NOT unary | - unary | primary.
func (p *parser) parseUnary() (remote.Query, error) {
	if p.isWord(opNot) || p.tok.kind == tokMinus {
		what, pos := "NOT", p.tok.pos
		if p.tok.kind == tokMinus {
			what = "-"
		}
		if err := p.next(); err != nil {
			return remote.Query{}, err
		}
		if !p.startsTerm() {
			return remote.Query{}, p.errAt(pos, what+" needs a term after it")
		}
		q, err := p.parseUnary()
		if err != nil {
			return remote.Query{}, err
		}
		return remote.Query{Op: remote.QueryNot, Args: []remote.Query{q}}, nil
	}
	return p.parsePrimary()
}

// parsePrimary: ( or ) | term.
func (p *parser) parsePrimary() (remote.Query, error) {
	t := p.tok
	switch t.kind {
	case tokLParen:
		if err := p.next(); err != nil {
			return remote.Query{}, err
		}
		if p.tok.kind == tokRParen {
			return remote.Query{}, p.errAt(t.pos, "empty parentheses")
		}
		q, err := p.parseOr()
		if err != nil {
			return remote.Query{}, err
		}
		if p.tok.kind != tokRParen {
			return remote.Query{}, p.errAt(t.pos, "unmatched (")
		}
		return q, p.next()
	case tokQuoted:
		if t.text == "" {
			return remote.Query{}, p.errAt(t.pos, "empty quoted string")
		}
		return remote.Query{Op: remote.QueryText, Text: t.text}, p.next()
	case tokKeyQuoted:
		q, err := p.valued(t.key, t.pos, t.text, t.vpos, true)
		if err != nil {
			return remote.Query{}, err
		}
		return q, p.next()
	case tokWord:
		q, err := p.word(t)
		if err != nil {
			return remote.Query{}, err
		}
		return q, p.next()
	}
	return remote.Query{}, p.missingTerm()
}

// word interprets a bare word: key:value, a flag word, or text.
func (p *parser) word(t token) (remote.Query, error) {
	if key, value, ok := strings.Cut(t.text, ":"); ok {
		vpos := t.pos + len(key) + 1
		if value == "" {
			if _, known := keys[strings.ToLower(key)]; known {
				return remote.Query{}, p.errAt(vpos, strings.ToLower(key)+": needs a value")
			}
		}
		return p.valued(key, t.pos, value, vpos, false)
	}
	if q, ok := flagWords[strings.ToLower(t.text)]; ok {
		return q, nil
	}
	return remote.Query{Op: remote.QueryText, Text: t.text}, nil
}

// valued builds the term key:value; key is as written, at pos, and the
// value at vpos.
func (p *parser) valued(key string, pos int, value string, vpos int, quoted bool) (remote.Query, error) {
	name := strings.ToLower(key)
	op, ok := keys[name]
	if !ok {
		if key == "" {
			return remote.Query{}, p.errAt(pos, `a word cannot start with ':' (quote it to search for it)`)
		}
		return remote.Query{}, p.errAt(pos, fmt.Sprintf("unknown key %q (quote the word to search for it)", key+":"))
	}
	if value == "" {
		if quoted {
			return remote.Query{}, p.errAt(vpos, name+": empty value")
		}
		return remote.Query{}, p.errAt(vpos, name+": needs a value")
	}
	switch op {
	case remote.QuerySince, remote.QueryBefore:
		d, msg := parseDate(value, p.now)
		if msg != "" {
			return remote.Query{}, p.errAt(vpos, name+": "+msg)
		}
		return remote.Query{Op: op, Date: d}, nil
	case remote.QueryLarger:
		n, msg := parseSize(value)
		if msg != "" {
			return remote.Query{}, p.errAt(vpos, name+": "+msg)
		}
		return remote.Query{Op: op, Size: n}, nil
	}
	return remote.Query{Op: op, Text: value}, nil
}

// Dates are limited to the four-digit years an IMAP date can carry.
const (
	minYear = 0
	maxYear = 9999
)

// parseDate reads DATE; msg says what is wrong ("" when nothing is).
func parseDate(v string, now time.Time) (time.Time, string) {
	loc := now.Location()
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	var t time.Time
	switch lv := strings.ToLower(v); {
	case lv == "today":
		t = today
	case lv == "yesterday":
		t = today.AddDate(0, 0, -1)
	case strings.HasSuffix(lv, "d") && len(lv) > 1 && allDigits(lv[:len(lv)-1]):
		n, err := strconv.Atoi(lv[:len(lv)-1])
		// 10,000 years of days is more than any valid date is away.
		if err != nil || n > 3_700_000 {
			return time.Time{}, fmt.Sprintf("%s is too many days ago", v)
		}
		t = today.AddDate(0, 0, -n)
	case len(v) == 10 && v[4] == '-' && v[7] == '-' && allDigits(v[:4]) && allDigits(v[5:7]) && allDigits(v[8:]):
		yy, _ := strconv.Atoi(v[:4])
		mm, _ := strconv.Atoi(v[5:7])
		dd, _ := strconv.Atoi(v[8:])
		t = time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, loc)
		if ty, tm, td := t.Date(); ty != yy || int(tm) != mm || td != dd {
			return time.Time{}, fmt.Sprintf("%s is not a day of the calendar", v)
		}
		return t, ""
	default:
		return time.Time{}, fmt.Sprintf("%q is not a date (YYYY-MM-DD, today, yesterday or Nd)", v)
	}
	if yy := t.Year(); yy < minYear || yy > maxYear {
		return time.Time{}, fmt.Sprintf("%s is out of range (years %04d to %d)", v, minYear, maxYear)
	}
	return t, ""
}

// parseSize reads SIZE; msg says what is wrong ("" when nothing is).
func parseSize(v string) (int64, string) {
	digits, mult := v, int64(1)
	switch v[len(v)-1] {
	case 'k', 'K':
		digits, mult = v[:len(v)-1], 1<<10
	case 'm', 'M':
		digits, mult = v[:len(v)-1], 1<<20
	case 'g', 'G':
		digits, mult = v[:len(v)-1], 1<<30
	}
	if digits == "" || !allDigits(digits) {
		return 0, fmt.Sprintf("%q is not a size (a number of bytes, or with k, m or g)", v)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Sprintf("%s is too large", v)
	}
	return n * mult, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
