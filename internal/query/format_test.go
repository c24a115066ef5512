package query

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"mailfs/remote"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		q    remote.Query
		want string
	}{
		{all, "all"},
		{unseen, "unseen"},
		{not(unseen), "seen"},
		{flagged, "flagged"},
		{not(flagged), "unflagged"},
		{not(not(unseen)), "-seen"},
		{from("alice"), "from:alice"},
		{from("re:x"), "from:re:x"},
		{from("-x"), "from:-x"},
		{from("a b"), `from:"a b"`},
		{from(`a"b\c`), `from:"a\"b\\c"`},
		{from("(x)"), `from:"(x)"`},
		{to("b"), "to:b"},
		{subject("안녕"), "subject:안녕"},
		{body("x"), "body:x"},
		{text("invoice"), "invoice"},
		{text("two words"), `"two words"`},
		{text("re:x"), `"re:x"`},
		{text("-x"), `"-x"`},
		{text("OR"), `"OR"`},
		{text("or"), "or"},
		{text("Seen"), `"Seen"`},
		{text("a\u00a0b"), "\"a\u00a0b\""},
		{since(day(2026, 1, 2)), "since:2026-01-02"},
		{before(day(7, 3, 4)), "before:0007-03-04"},
		{larger(0), "larger:0"},
		{larger(1000), "larger:1000"},
		{larger(10240), "larger:10k"},
		{larger(3 << 20), "larger:3m"},
		{larger(1 << 30), "larger:1g"},
		{larger(1<<20 + 1), "larger:1048577"},
		{and(text("a"), text("b")), "a b"},
		{and(or(text("a"), text("b")), text("c")), "(a OR b) c"},
		{or(and(text("a"), text("b")), text("c")), "a b OR c"},
		{or(text("a"), or(text("b"), text("c"))), "a OR (b OR c)"},
		{and(text("a"), and(text("b"), text("c"))), "a (b c)"},
		{not(and(text("a"), text("b"))), "-(a b)"},
		{not(or(text("a"), text("b"))), "-(a OR b)"},
		{not(text("a b")), `-"a b"`},
		{not(from("x")), "-from:x"},
		{and(), "all"},
		{and(from("x")), "from:x"},
		{not(and()), "-all"},
		// Not valid: written so that Parse refuses it.
		{remote.Query{Op: remote.QueryNot}, "()"},
		{or(text("a")), "()"},
		{remote.Query{Op: 99}, "()"},
	} {
		if got := Format(tc.q); got != tc.want {
			t.Errorf("Format(%+v): got %q, want %q", tc.q, got, tc.want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, in := range []string{
		"from:alice OR from:bob unseen",
		"(from:alice OR from:bob) unseen since:7d",
		"NOT (a OR b) -c seen unflagged -seen",
		`subject:"re: \"x\"" body:café text:"(a)" larger:10k before:yesterday`,
		`"OR" "NOT" "AND" "all" "-x" "a:b" or and`,
		"a OR (b c) OR -(d OR e)",
	} {
		q, err := Parse(in, testNow)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		f := Format(q)
		q2, err := Parse(f, testNow)
		if err != nil {
			t.Errorf("Parse(Format(Parse(%q))) = Parse(%q): %v", in, f, err)
			continue
		}
		if !reflect.DeepEqual(q, q2) {
			t.Errorf("round trip of %q through %q:\ngot  %+v\nwant %+v", in, f, q2, q)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		q  remote.Query
		ok bool
	}{
		{all, true},
		{and(), true},
		{or(text("a"), text("b")), true},
		{or(text("a")), false},
		{remote.Query{Op: remote.QueryNot}, false},
		{remote.Query{Op: remote.QueryNot, Args: []remote.Query{all, all}}, false},
		{remote.Query{Op: remote.QueryFrom, Text: "x", Args: []remote.Query{all}}, false},
		{from("a\r\nb"), false},
		{from("a\x00"), false},
		{from("\xff"), false},
		{from(""), true},
		{since(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), false},
		{since(time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)), false},
		{larger(-1), false},
		{and(text("ok"), not(or(text("x")))), false},
		{remote.Query{Op: 99}, false},
	} {
		err := Check(tc.q)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%+v): got %v, want ok=%v", tc.q, err, tc.ok)
		}
		if err != nil && !errors.Is(err, remote.ErrInvalid) {
			t.Errorf("Check(%+v): %v does not wrap remote.ErrInvalid", tc.q, err)
		}
	}
}

// FuzzParse checks that Parse never panics, that what it returns passes
// Check, and that Format writes it so that Parse reads it back the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"from:alice OR from:bob unseen",
		"(from:alice OR from:bob) unseen since:7d",
		`subject:"re: \"x\"" -body:café text:"(a)" larger:10k before:yesterday`,
		"NOT (a OR b) -c seen unflagged -seen all",
		"since:2026-02-29 before:0000-01-01",
		`"OR" or AND (x)`,
		"from: ", ")(", `"\`, "a/b",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 18, 15, 4, 5, 0, time.FixedZone("", -5*3600))
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s, now)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(s) {
				t.Fatalf("Parse(%q): error %v is not an *Error within the query", s, err)
			}
			return
		}
		if err := Check(q); err != nil {
			t.Fatalf("Check(Parse(%q)): %v", s, err)
		}
		out := Format(q)
		q2, err := Parse(out, now)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q): %v", s, out, err)
		}
		if !reflect.DeepEqual(q, q2) {
			t.Fatalf("round trip of %q through %q:\ngot  %+v\nwant %+v", s, out, q2, q)
		}
		if again := Format(q2); again != out {
			t.Fatalf("Format is not stable: %q, then %q", out, again)
		}
	})
}
