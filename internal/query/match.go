package query

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"

	"mailfs/internal/header"
	"mailfs/remote"
)

// Message is one message as Match sees it. The metadata methods are cheap;
// Header and Open read the message and are called only when the query
// needs them.
type Message interface {
	// InternalDate is when the message arrived (IMAP INTERNALDATE). Its
	// calendar day in its own location is what since: and before:
	// compare.
	InternalDate() time.Time
	// Flags are the message's flags (\Seen, \Flagged…), compared without
	// case.
	Flags() []string
	// Size is the message's size in bytes (RFC822.SIZE).
	Size() int64
	// Header returns the message's header block: its text up to and
	// including the blank line that ends it (at most header.MaxBytes).
	// Match calls it at most once, and only for from:, to: and subject:.
	Header() ([]byte, error)
	// Open returns the whole message, header first. Match calls it at
	// most once, only for body: and text:, and closes it.
	Open() (io.ReadCloser, error)
}

// NewMessage returns the Message whose metadata is info and whose text
// open returns (a new reader of the whole message at each call): Header
// reads the header block from it and closes it.
func NewMessage(info remote.MessageInfo, open func() (io.ReadCloser, error)) Message {
	return &stored{info: info, open: open}
}

type stored struct {
	info remote.MessageInfo
	open func() (io.ReadCloser, error)
}

func (m *stored) InternalDate() time.Time      { return m.info.InternalDate }
func (m *stored) Flags() []string              { return m.info.Flags }
func (m *stored) Size() int64                  { return m.info.Size }
func (m *stored) Open() (io.ReadCloser, error) { return m.open() }

func (m *stored) Header() ([]byte, error) {
	rc, err := m.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return header.Read(rc)
}

// Match reports whether message m matches q, as Dovecot 2.3's IMAP SEARCH
// (without full-text search) would answer:
//
//   - from:, to:, subject: look at the message's own header (not those of
//     attached messages), at every field of that name. From and To are
//     parsed as address lists and written back as Dovecot writes them,
//     "Name <local@domain>" (a bare address as "<local@domain>") joined by
//     ", ", so both the name and the address are found; a field that does
//     not parse is searched as it is. Subject is searched with its runs of
//     spaces and tabs made one space. RFC 2047 encoded words are decoded.
//   - body: looks at the decoded text of every text/* and message/* part
//     (or part without Content-Type), after its transfer encoding is
//     undone and its charset converted to UTF-8; attachments of other
//     types, multipart preambles and epilogues are not searched.
//   - text: looks at the same bodies and at every header field of every
//     part (attached messages' included), each field as "Name: value"
//     with its value decoded.
//   - Texts are compared by substring after Dovecot's normalization (see
//     fold.go): title case and decomposed, so case does not count and
//     "cafe" finds "café". A match never spans two fields, two parts or
//     a line break (a key cannot contain one).
//   - since: and before: compare the calendar day of InternalDate in its
//     own location; Dovecot uses its own time zone, which is the location
//     its FETCH INTERNALDATE answers carry.
//   - larger: is strictly larger than; unseen is the absence of \Seen,
//     flagged the presence of \Flagged.
//
// Differences from Dovecot that remain, each shown by
// TestDovecotSearchEdges in remote/imap:
//
//   - a group in an address field ("Team: a@x, b@y;"): Dovecot writes the
//     group's name, net/mail drops it, so from:team finds it in Dovecot
//     only (an empty group, "undisclosed-recipients:;", is the same);
//   - characters whose decomposition decomposes again (ǖ is Ǖ = Ü +
//     macron, Vietnamese ệ): Dovecot decomposes one level, NFKD all, so
//     body:u and body:ü find ǖ here only;
//   - an encoded word in a charset neither side knows: Dovecot adds its
//     bytes without folding them (they match nearly nothing), here the
//     field is searched as written, encoded word included;
//   - a header line without a colon: Dovecot searches it (text:) as a
//     field without a name; header.Parse skips it.
//
// Cheap tests go first: flags, dates and size, then header fields, then
// the body, which is read at most once whatever the number of body: and
// text: terms, and not at all when the answer is known without it. A
// query Check refuses is an error wrapping remote.ErrInvalid; a failure
// of Header or Open, or of reading the message, is returned as it is.
func Match(q remote.Query, m Message) (bool, error) {
	if err := Check(q); err != nil {
		return false, err
	}
	e := &eval{m: m}
	e.collect(q)
	return e.eval(q)
}

// textKey is one text term, its key folded.
type textKey struct {
	op  remote.QueryOp
	key string
}

// eval evaluates one query on one message, reading it lazily.
type eval struct {
	m Message

	hdr     *header.Header // nil until read
	hdrErr  error
	hdrRead bool
	hdrHits map[textKey]bool

	bodyKeys []textKey // every body: and text: term (non-empty keys)
	bodyRead bool
	bodyErr  error
	bodyHits map[textKey]bool
}

// collect gathers the body: and text: terms of q.
func (e *eval) collect(q remote.Query) {
	switch q.Op {
	case remote.QueryBody, remote.QueryText:
		if q.Text == "" {
			return
		}
		k := textKey{q.Op, fold(q.Text)}
		if !slices.Contains(e.bodyKeys, k) {
			e.bodyKeys = append(e.bodyKeys, k)
		}
	case remote.QueryAnd, remote.QueryOr, remote.QueryNot:
		for _, a := range q.Args {
			e.collect(a)
		}
	}
}

// cost ranks how much evaluating q may read: 0 nothing, 1 the header, 2
// the whole message.
func cost(q remote.Query) int {
	switch q.Op {
	case remote.QueryFrom, remote.QueryTo, remote.QuerySubject:
		return 1
	case remote.QueryBody, remote.QueryText:
		return 2
	case remote.QueryAnd, remote.QueryOr, remote.QueryNot:
		c := 0
		for _, a := range q.Args {
			c = max(c, cost(a))
		}
		return c
	}
	return 0
}

// byCost returns q's operands, the cheapest first.
func byCost(args []remote.Query) []remote.Query {
	out := slices.Clone(args)
	slices.SortStableFunc(out, func(a, b remote.Query) int { return cost(a) - cost(b) })
	return out
}

func (e *eval) eval(q remote.Query) (bool, error) {
	switch q.Op {
	case remote.QueryAll:
		return true, nil
	case remote.QueryAnd:
		for _, a := range byCost(q.Args) {
			ok, err := e.eval(a)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case remote.QueryOr:
		for _, a := range byCost(q.Args) {
			ok, err := e.eval(a)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case remote.QueryNot:
		ok, err := e.eval(q.Args[0])
		return !ok && err == nil, err
	case remote.QueryFrom, remote.QueryTo, remote.QuerySubject:
		return e.headerField(q.Op, q.Text)
	case remote.QueryBody, remote.QueryText:
		if q.Text == "" {
			return true, nil
		}
		return e.body(textKey{q.Op, fold(q.Text)})
	case remote.QuerySince:
		return !dayBefore(e.m.InternalDate(), q.Date), nil
	case remote.QueryBefore:
		return dayBefore(e.m.InternalDate(), q.Date), nil
	case remote.QueryUnseen:
		return !hasFlag(e.m.Flags(), `\Seen`), nil
	case remote.QueryFlagged:
		return hasFlag(e.m.Flags(), `\Flagged`), nil
	case remote.QueryLarger:
		return e.m.Size() > q.Size, nil
	}
	return false, fmt.Errorf("query: unknown op %d: %w", q.Op, remote.ErrInvalid)
}

// dayBefore reports whether t's calendar day (in t's location) comes
// before d's (in d's).
func dayBefore(t, d time.Time) bool {
	ty, tm, td := t.Date()
	dy, dm, dd := d.Date()
	if ty != dy {
		return ty < dy
	}
	if tm != dm {
		return tm < dm
	}
	return td < dd
}

func hasFlag(flags []string, f string) bool {
	return slices.ContainsFunc(flags, func(g string) bool { return strings.EqualFold(g, f) })
}

// fieldNames are the header fields of the header terms.
var fieldNames = map[remote.QueryOp]string{
	remote.QueryFrom:    "From",
	remote.QueryTo:      "To",
	remote.QuerySubject: "Subject",
}

// headerField evaluates from:, to: or subject: with text.
func (e *eval) headerField(op remote.QueryOp, text string) (bool, error) {
	if !e.hdrRead {
		e.hdrRead = true
		b, err := e.m.Header()
		if err != nil {
			e.hdrErr = err
		} else {
			e.hdr = header.Parse(b)
		}
		e.hdrHits = map[textKey]bool{}
	}
	if e.hdrErr != nil {
		return false, e.hdrErr
	}
	k := textKey{op, fold(text)}
	if hit, ok := e.hdrHits[k]; ok {
		return hit, nil
	}
	name := fieldNames[op]
	hit := false
	for f := range fields(e.hdr) {
		if !strings.EqualFold(f.name, name) {
			continue
		}
		if text == "" {
			hit = true // Dovecot: an empty string tests that the field exists
			break
		}
		var v string
		if op == remote.QuerySubject {
			v = decodeWords(compressLWSP(f.value))
		} else {
			v = addresses(f.value)
		}
		if strings.Contains(fold(v), k.key) {
			hit = true
			break
		}
	}
	e.hdrHits[k] = hit
	return hit, nil
}

// body evaluates a body: or text: term, reading the message the first time.
func (e *eval) body(k textKey) (bool, error) {
	if !e.bodyRead {
		e.bodyRead = true
		e.bodyHits, e.bodyErr = e.scan()
	}
	if e.bodyErr != nil {
		return false, e.bodyErr
	}
	return e.bodyHits[k], nil
}

// scan reads the message once and finds every body: and text: term.
func (e *eval) scan() (map[textKey]bool, error) {
	rc, err := e.m.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	v := newScanVisitor(e.bodyKeys)
	if err := walkMessage(rc, v); err != nil {
		return nil, err
	}
	return v.hits(), nil
}

// scanVisitor looks for the keys of body: and text: terms in a walk:
// text: keys in every header field and every body, body: keys in bodies.
type scanVisitor struct {
	keys     []textKey
	inHeader *finder // the keys of text: terms
	inBody   *finder // every key
	textIdx  []int   // index in keys of each inHeader key
}

func newScanVisitor(keys []textKey) *scanVisitor {
	v := &scanVisitor{keys: keys}
	var all, text []string
	for i, k := range keys {
		all = append(all, k.key)
		if k.op == remote.QueryText {
			text = append(text, k.key)
			v.textIdx = append(v.textIdx, i)
		}
	}
	v.inHeader, v.inBody = newFinder(text), newFinder(all)
	return v
}

func (v *scanVisitor) header(h *header.Header) {
	if len(v.textIdx) == 0 || v.inHeader.done() {
		return
	}
	var b bytes.Buffer
	for f := range fields(h) {
		b.Reset()
		b.WriteString(fold(f.name))
		b.WriteString(f.middle)
		b.WriteString(fold(decodeWords(f.value)))
		v.inHeader.text(b.Bytes())
	}
}

func (v *scanVisitor) body(r io.Reader) error { return v.inBody.stream(r) }

func (v *scanVisitor) enough() bool {
	if v.inBody.done() {
		return true
	}
	for i, k := range v.keys {
		if v.inBody.found[i] {
			continue
		}
		if k.op == remote.QueryBody || !v.inHeader.found[slices.Index(v.textIdx, i)] {
			return false
		}
	}
	return true
}

func (v *scanVisitor) hits() map[textKey]bool {
	out := make(map[textKey]bool, len(v.keys))
	for i, k := range v.keys {
		hit := v.inBody.found[i]
		if k.op == remote.QueryText {
			hit = hit || v.inHeader.found[slices.Index(v.textIdx, i)]
		}
		out[k] = hit
	}
	return out
}

// field is one header field split as Dovecot's header parser splits it:
// name (white space before the colon dropped), middle (that white space,
// the colon and one blank after it) and value (the rest, unfolded: line
// breaks dropped and a tab starting a continuation line made a space).
type field struct {
	name, middle, value string
}

// fields yields the fields of h in order.
func fields(h *header.Header) func(yield func(field) bool) {
	return func(yield func(field) bool) {
		fs := h.Mail().Fields()
		for fs.Next() {
			raw, err := fs.Raw()
			if err != nil {
				continue
			}
			if f, ok := splitField(raw); ok && !yield(f) {
				return
			}
		}
	}
}

// splitField splits the raw lines of one field.
func splitField(raw []byte) (field, bool) {
	colon := bytes.IndexByte(raw, ':')
	if colon < 0 {
		return field{}, false
	}
	end := colon
	for end > 0 && isLWSP(raw[end-1]) {
		end--
	}
	v := raw[colon+1:]
	skip := 0
	if len(v) > 0 && isLWSP(v[0]) {
		skip = 1
	}
	var b strings.Builder
	for i, line := range bytes.Split(v[skip:], []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if i > 0 && len(line) > 0 && line[0] == '\t' {
			b.WriteByte(' ')
			line = line[1:]
		}
		b.Write(line)
	}
	return field{
		name:   string(raw[:end]),
		middle: string(raw[end : colon+1+skip]),
		value:  b.String(),
	}, true
}

func isLWSP(c byte) bool { return c == ' ' || c == '\t' }

// compressLWSP makes every run of spaces and tabs one space and drops the
// leading ones, as Dovecot does to Subject before searching it.
func compressLWSP(s string) string {
	var b strings.Builder
	prev := true
	for i := 0; i < len(s); i++ {
		if isLWSP(s[i]) {
			if !prev {
				b.WriteByte(' ')
				prev = true
			}
			continue
		}
		prev = false
		b.WriteByte(s[i])
	}
	return b.String()
}

// decodeWords decodes the encoded words of a field value; on failure (an
// unknown charset) the value is kept as it is.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	wd := mime.WordDecoder{CharsetReader: charset.Reader} // every charset go-message knows
	if d, err := wd.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// addresses returns an address field as Dovecot searches it: parsed, and
// written back as message_address_write writes it, then decoded. Each
// address is "Name <addr>", or "<addr>" without a name, joined by ", ".
// A name that was written with encoded words stays as it was (and is
// decoded with the rest); any other name is quoted when it has a
// character that is not atext (a space, a dot, a comma…), with '"', '\'
// and "'" escaped: Alice Example <a@x> is searched as
// "Alice Example" <a@x>. A value that does not parse as an address list
// is searched decoded, as written.
func addresses(v string) string {
	// Hide encoded words from net/mail, which would decode them: the
	// marker (a private-use character) keeps them as they were.
	const marker = "\uE000"
	list, err := (&netmail.AddressParser{}).ParseList(strings.ReplaceAll(v, "=?", marker))
	if err != nil || len(list) == 0 {
		return decodeWords(v)
	}
	var b strings.Builder
	for i, a := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case strings.Contains(a.Name, marker):
			b.WriteString(a.Name)
			b.WriteByte(' ')
		case a.Name != "":
			writeMaybeQuoted(&b, a.Name)
			b.WriteByte(' ')
		}
		b.WriteByte('<')
		b.WriteString(a.Address)
		b.WriteByte('>')
	}
	return decodeWords(strings.ReplaceAll(b.String(), marker, "=?"))
}

// writeMaybeQuoted writes a display name as Dovecot's
// str_append_maybe_escape does (dots quoted).
func writeMaybeQuoted(b *strings.Builder, name string) {
	if !strings.ContainsFunc(name, func(r rune) bool { return r < 0x80 && !isAtext(byte(r)) }) {
		b.WriteString(name)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	b.WriteByte('"')
}

// isAtext reports whether the ASCII character c is RFC 5322 atext.
func isAtext(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`"(),.:;<>@[\]`, rune(c))
}
