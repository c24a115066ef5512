package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailfs/remote"
)

// testNow is a Wednesday afternoon in a zone east of UTC, where the
// calendar day differs from UTC's for part of the day.
var testNow = time.Date(2026, 11, 18, 15, 4, 5, 0, time.FixedZone("JST", 9*3600))

func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, testNow.Location())
}

func leaf(op remote.QueryOp, text string) remote.Query { return remote.Query{Op: op, Text: text} }
func from(s string) remote.Query                       { return leaf(remote.QueryFrom, s) }
func to(s string) remote.Query                         { return leaf(remote.QueryTo, s) }
func subject(s string) remote.Query                    { return leaf(remote.QuerySubject, s) }
func body(s string) remote.Query                       { return leaf(remote.QueryBody, s) }
func text(s string) remote.Query                       { return leaf(remote.QueryText, s) }
func since(t time.Time) remote.Query                   { return remote.Query{Op: remote.QuerySince, Date: t} }
func before(t time.Time) remote.Query                  { return remote.Query{Op: remote.QueryBefore, Date: t} }
func larger(n int64) remote.Query                      { return remote.Query{Op: remote.QueryLarger, Size: n} }
func and(qs ...remote.Query) remote.Query              { return remote.Query{Op: remote.QueryAnd, Args: qs} }
func or(qs ...remote.Query) remote.Query               { return remote.Query{Op: remote.QueryOr, Args: qs} }
func not(q remote.Query) remote.Query {
	return remote.Query{Op: remote.QueryNot, Args: []remote.Query{q}}
}

var (
	all     = remote.Query{Op: remote.QueryAll}
	unseen  = remote.Query{Op: remote.QueryUnseen}
	flagged = remote.Query{Op: remote.QueryFlagged}
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want remote.Query
	}{
		// Every key, bare and quoted values, keys in any case.
		{"from:alice", from("alice")},
		{"FROM:Alice", from("Alice")},
		{"to:bob@example.org", to("bob@example.org")},
		{"subject:invoice", subject("invoice")},
		{`Subject:"re: your invoice"`, subject("re: your invoice")},
		{"body:hello", body("hello")},
		{"text:hello", text("hello")},
		{"subject:re:x", subject("re:x")},
		{"from:-x", from("-x")},
		{`from:"a \"b\" \\ c"`, from(`a "b" \ c`)},
		{`from:"(x) OR y"`, from("(x) OR y")},
		{"subject:안녕", subject("안녕")},
		{"subject:a\\b", subject(`a\b`)},
		// Bare words and quoted strings are text.
		{"invoice", text("invoice")},
		{"café", text("café")},
		{`"two words"`, text("two words")},
		{`"NOT"`, text("NOT")},
		{`"all"`, text("all")},
		{"or", text("or")},
		{"and not", and(text("and"), text("not"))},
		{"a-b", text("a-b")},
		// Flag words, in any case.
		{"unseen", unseen},
		{"UNREAD", unseen},
		{"seen", not(unseen)},
		{"flagged", flagged},
		{"Unflagged", not(flagged)},
		{"all", all},
		// Dates.
		{"since:2026-01-02", since(day(2026, 1, 2))},
		{"before:2024-02-29", before(day(2024, 2, 29))},
		{"since:today", since(day(2026, 11, 18))},
		{"since:TODAY", since(day(2026, 11, 18))},
		{"since:yesterday", since(day(2026, 11, 17))},
		{"since:0d", since(day(2026, 11, 18))},
		{"since:7d", since(day(2026, 11, 11))},
		{"before:30D", before(day(2026, 10, 19))},
		{"since:365d", since(day(2025, 11, 18))},
		{`since:"2026-01-02"`, since(day(2026, 1, 2))},
		{"since:0000-01-01", since(day(0, 1, 1))},
		{"before:9999-12-31", before(day(9999, 12, 31))},
		// Sizes.
		{"larger:0", larger(0)},
		{"larger:1000", larger(1000)},
		{"larger:10k", larger(10 << 10)},
		{"larger:10K", larger(10 << 10)},
		{"larger:2m", larger(2 << 20)},
		{"larger:1G", larger(1 << 30)},
		{"larger:007", larger(7)},
		{"larger:8589934591g", larger(8589934591 << 30)},
		// Juxtaposition and AND.
		{"a b", and(text("a"), text("b"))},
		{"a AND b", and(text("a"), text("b"))},
		{"a AND b c", and(text("a"), text("b"), text("c"))},
		{"  a\tb\n", and(text("a"), text("b"))},
		{"a\u00a0b", and(text("a"), text("b"))},
		// OR.
		{"a OR b", or(text("a"), text("b"))},
		{"a OR b OR c", or(text("a"), text("b"), text("c"))},
		// NOT and -.
		{"NOT a", not(text("a"))},
		{"-a", not(text("a"))},
		{"-from:x", not(from("x"))},
		{`-"a b"`, not(text("a b"))},
		{"-(a OR b)", not(or(text("a"), text("b")))},
		{"NOT NOT a", not(not(text("a")))},
		{"--a", not(not(text("a")))},
		{"-seen", not(not(unseen))},
		{"NOT unseen", not(unseen)},
		{"-NOT a", not(not(text("a")))},
		// Precedence: NOT > AND > OR.
		{"a b OR c", or(and(text("a"), text("b")), text("c"))},
		{"a OR b c", or(text("a"), and(text("b"), text("c")))},
		{"a AND b OR c AND d", or(and(text("a"), text("b")), and(text("c"), text("d")))},
		{"NOT a b", and(not(text("a")), text("b"))},
		{"NOT a OR b", or(not(text("a")), text("b"))},
		{"-a OR -b", or(not(text("a")), not(text("b")))},
		{"from:alice OR from:bob unseen", or(from("alice"), and(from("bob"), unseen))},
		// Parentheses group and are flattened into the same operator.
		{"(a OR b) c", and(or(text("a"), text("b")), text("c"))},
		{"(a b) c", and(text("a"), text("b"), text("c"))},
		{"a (b c)", and(text("a"), text("b"), text("c"))},
		{"(a OR b) OR c", or(text("a"), text("b"), text("c"))},
		{"((a))", text("a")},
		{"(a)(b)", and(text("a"), text("b"))},
		{"NOT (a b)", not(and(text("a"), text("b")))},
		{"from:x(y)", and(from("x"), text("y"))},
		{"(from:alice OR from:bob) unseen since:7d",
			and(or(from("alice"), from("bob")), unseen, since(day(2026, 11, 11)))},
	} {
		got, err := Parse(tc.in, testNow)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q):\ngot  %+v\nwant %+v", tc.in, got, tc.want)
		}
		if err := Check(got); err != nil {
			t.Errorf("Check(Parse(%q)): %v", tc.in, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in  string
		pos int
		msg string // a part of the message
	}{
		{"from:", 5, "from: needs a value"},
		{"FROM: x", 5, "from: needs a value"},
		{"a from:", 7, "from: needs a value"},
		{`from:""`, 5, "from: empty value"},
		{`""`, 0, "empty quoted string"},
		{"", 0, "empty query"},
		{"   ", 0, "empty query"},
		{"a/b", 1, "cannot contain '/'"},
		{`from:"a/b"`, 7, "cannot contain '/'"},
		{"a\x00b", 1, "control character U+0000"},
		{"a\x7f", 1, "control character U+007F"},
		{`"a` + "\t" + `b"`, 2, "control character U+0009 in a quoted string"},
		{"a\xffb", 1, "not UTF-8"},
		{`"abc`, 0, "unterminated quoted string"},
		{`"abc\`, 0, "unterminated quoted string"},
		{`"a\nb"`, 2, `unknown escape \n`},
		{`a"b"`, 1, `a " may only start a word`},
		{`from:a"b"`, 6, `a " may only start a word`},
		{"foo:bar", 0, `unknown key "foo:"`},
		{"12:30", 0, `unknown key "12:"`},
		{"x re:", 2, `unknown key "re:"`},
		{":x", 0, "cannot start with ':'"},
		{`foo:"x"`, 0, `unknown key "foo:"`},
		{"since:2026-02-30", 6, "not a day of the calendar"},
		{"since:2026-13-01", 6, "not a day of the calendar"},
		{"since:26-01-02", 6, "is not a date"},
		{"since:tomorrow", 6, "is not a date"},
		{"before:d", 7, "is not a date"},
		{"since:3700001d", 6, "too many days ago"},
		{"since:99999999999999999999d", 6, "too many days ago"},
		{"since:3699999d", 6, "out of range"},
		{"larger:", 7, "larger: needs a value"},
		{"larger:k", 7, "is not a size"},
		{"larger:-5", 7, "is not a size"},
		{"larger:1.5m", 7, "is not a size"},
		{"larger:10kb", 7, "is not a size"},
		{"larger:9223372036854775808", 7, "too large"},
		{"larger:8589934592g", 7, "too large"},
		{"OR a", 0, "OR needs a term before it"},
		{"a OR", 2, "OR needs a term after it"},
		{"a OR OR b", 2, "OR needs a term after it"},
		{"AND a", 0, "AND needs a term before it"},
		{"a AND", 2, "AND needs a term after it"},
		{"a AND OR b", 2, "AND needs a term after it"},
		{"NOT", 0, "NOT needs a term after it"},
		{"a NOT", 2, "NOT needs a term after it"},
		{"NOT OR a", 0, "NOT needs a term after it"},
		{"-", 0, "- needs a term right after it"},
		{"- a", 0, "- needs a term right after it"},
		{"(-)", 1, "- needs a term right after it"},
		{"()", 0, "empty parentheses"},
		{"(a", 0, "unmatched ("},
		{"((a)", 0, "unmatched ("},
		{"a)", 1, "unmatched )"},
		{")", 0, "a term is missing before )"},
		{"(a OR)", 3, "OR needs a term after it"},
	} {
		q, err := Parse(tc.in, testNow)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): got %+v, %v; want an *Error", tc.in, q, err)
			continue
		}
		if pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.msg) || pe.Query != tc.in {
			t.Errorf("Parse(%q): got %q at %d, want %q at %d", tc.in, pe.Msg, pe.Pos, tc.msg, tc.pos)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, err := Parse("from:", testNow)
	if got, want := err.Error(), `query "from:": from: needs a value (at 5)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestParseDateLocation checks that dates are days of now's location:
// at 08:00 in Tokyo it is already the 18th there but still the 17th in UTC.
func TestParseDateLocation(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	now := time.Date(2026, 11, 18, 8, 0, 0, 0, tokyo)
	for in, want := range map[string]time.Time{
		"since:today":      time.Date(2026, 11, 18, 0, 0, 0, 0, tokyo),
		"since:yesterday":  time.Date(2026, 11, 17, 0, 0, 0, 0, tokyo),
		"since:2026-03-01": time.Date(2026, 3, 1, 0, 0, 0, 0, tokyo),
	} {
		q, err := Parse(in, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !q.Date.Equal(want) || q.Date.Location() != tokyo {
			t.Errorf("Parse(%q): got %v, want %v", in, q.Date, want)
		}
	}
	// Across a month and a leap day.
	q, err := Parse("since:1d", time.Date(2024, 3, 1, 0, 30, 0, 0, time.UTC))
	if err != nil || q.Date != time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC) {
		t.Errorf("since:1d on 2024-03-01: got %v, %v; want 2024-02-29", q.Date, err)
	}
}
