package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailfs/internal/query"
	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// searches returns the UID SEARCH commands tap saw clients send, without
// their tags, and forgets everything it saw.
func searches(tap *remotetest.Tap) []string {
	var out []string
	for _, l := range tap.Lines() {
		if _, cmd, ok := strings.Cut(l, " "); ok && strings.HasPrefix(cmd, "UID SEARCH") {
			out = append(out, cmd)
		}
	}
	tap.Reset()
	return out
}

func mustParse(t *testing.T, s string) remote.Query {
	t.Helper()
	q, err := query.Parse(s, time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return q
}

// TestSearchCommand checks the UID SEARCH line each form of query becomes,
// as the in-process server receives it, and that the mailbox is opened
// with EXAMINE, never SELECT.
func TestSearchCommand(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 3)
	tap := remotetest.NewTap(t, srv.Addr)
	s := testStore(t, srv, func(o *Options) { o.Port = tap.Port() })
	uv := uidValidity(t, s, "INBOX")
	examines := srv.Count("EXAMINE")

	for _, tc := range []struct{ query, want string }{
		{"all", "UID SEARCH ALL"},
		{"unseen", "UID SEARCH UNSEEN"},
		{"seen", "UID SEARCH NOT (UNSEEN)"},
		{"flagged", "UID SEARCH FLAGGED"},
		{"unflagged", "UID SEARCH NOT (FLAGGED)"},
		{"from:alice", `UID SEARCH FROM "alice"`},
		{"to:bob@example.org", `UID SEARCH TO "bob@example.org"`},
		{`subject:"re: \"x\""`, `UID SEARCH SUBJECT "re: \"x\""`},
		{"body:hello", `UID SEARCH BODY "hello"`},
		{"invoice", `UID SEARCH TEXT "invoice"`},
		{"since:2026-01-02", `UID SEARCH SINCE "2-Jan-2026"`},
		{"before:2026-11-17", `UID SEARCH BEFORE "17-Nov-2026"`},
		{"since:yesterday", `UID SEARCH SINCE "17-Nov-2026"`},
		{"since:2026-01-02 before:2026-01-03", `UID SEARCH ON "2-Jan-2026"`},
		{"since:2026-01-02 before:2026-02-01", `UID SEARCH SINCE "2-Jan-2026" BEFORE "1-Feb-2026"`},
		{"larger:10k", "UID SEARCH LARGER 10240"},
		{"larger:0", "UID SEARCH NOT (SMALLER 1)"},
		{"from:a unseen larger:5", `UID SEARCH FROM "a" UNSEEN LARGER 5`},
		{"a OR b", `UID SEARCH OR (TEXT "a") (TEXT "b")`},
		{"a OR b OR c", `UID SEARCH OR (TEXT "a") (OR (TEXT "b") (TEXT "c"))`},
		{"a b OR c", `UID SEARCH OR (TEXT "a" TEXT "b") (TEXT "c")`},
		{"(a OR b) c", `UID SEARCH TEXT "c" OR (TEXT "a") (TEXT "b")`},
		{"-from:x", `UID SEARCH NOT (FROM "x")`},
		{"NOT (a OR b)", `UID SEARCH NOT (OR (TEXT "a") (TEXT "b"))`},
		{"-seen", "UID SEARCH NOT (NOT (UNSEEN))"},
		{"-all", "UID SEARCH NOT (ALL)"},
		{"all OR unseen", "UID SEARCH OR (ALL) (UNSEEN)"},
		// IMAP4rev2: UTF-8 in a quoted string, without CHARSET.
		{"subject:안녕", `UID SEARCH SUBJECT "안녕"`},
	} {
		if _, err := s.Search(context.Background(), "INBOX", uv, mustParse(t, tc.query)); err != nil {
			t.Errorf("Search(%q): %v", tc.query, err)
			continue
		}
		// The in-process server offers ESEARCH: the UIDs are asked for
		// as ranges.
		want := strings.Replace(tc.want, "UID SEARCH ", "UID SEARCH RETURN (ALL) ", 1)
		got := searches(tap)
		if len(got) != 1 || got[0] != want {
			t.Errorf("Search(%q): sent %q, want [%q]", tc.query, got, want)
		}
	}
	if n := srv.Count("SELECT"); n != 0 {
		t.Errorf("SELECT sent %d times, want never", n)
	}
	if n := srv.Count("EXAMINE") - examines; n != 28 {
		t.Errorf("EXAMINE sent %d times, want once per search (28)", n)
	}
}

// TestSearchESEARCH: a server that does not offer ESEARCH gets a
// plain UID SEARCH, and its SEARCH answer is read; one that does gets
// RETURN (ALL), and its ESEARCH ranges are read.
func TestSearchESEARCH(t *testing.T) {
	for _, tc := range []struct{ caps, want, answer string }{
		{"IMAP4rev1", "UID SEARCH UNSEEN", "* SEARCH 7 3 5\r\nTAG OK done"},
		{"IMAP4rev1 ESEARCH", "UID SEARCH RETURN (ALL) UNSEEN", "* ESEARCH (TAG \"TAG\") UID ALL 3,5,7\r\nTAG OK done"},
	} {
		f := scriptedServer(t, tc.caps, map[string]string{"UID SEARCH": tc.answer})
		s := fakeStore(t, f, func(*remote.Server) {})
		got, err := s.Search(context.Background(), "INBOX", 42, mustParse(t, "unseen"))
		if err != nil || !slices.Equal(got, []uint32{3, 5, 7}) {
			t.Errorf("%s: Search = %v, %v; want [3 5 7]", tc.caps, got, err)
		}
		if sent := sentCommands(f); !slices.Contains(sent, tc.want) {
			t.Errorf("%s: sent %q, want %q among them", tc.caps, sent, tc.want)
		}
	}
}

// TestSearchResults runs queries on the in-process server's own SEARCH
// (imapmemserver) over seed's messages and compares the UIDs with those
// query.Match finds locally. imapmemserver's TEXT does not search header
// names, so no query here does; Dovecot is the reference for the rest
// (search_interop_test.go).
func TestSearchResults(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	msgs := seed(t, srv, "INBOX", 9)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")
	for _, q := range []string{
		"all", "unseen", "seen", "flagged", "unflagged", "seen unflagged", "unseen OR flagged",
		"from:a3@", "from:A3@EXAMPLE", "to:b@example.org", "-from:a1@", "body:xxxx", "body:xxxxxxx",
		"text:m3@example.org", "subject:quarterly", "larger:200", "-larger:200",
		"since:2026-11-05", "before:2026-11-05", "since:2026-11-03 before:2026-11-06",
		"(from:a1@ OR from:a2@) seen", "a1 OR a2 OR a8",
	} {
		q := mustParse(t, q)
		got, err := s.Search(context.Background(), "INBOX", uv, q)
		if err != nil {
			t.Errorf("Search(%q): %v", query.Format(q), err)
			continue
		}
		var want []uint32
		for _, m := range msgs {
			msg := string(m.msg)
			ok, err := query.Match(q, query.NewMessage(
				remote.MessageInfo{UID: m.uid, Size: int64(len(msg)), InternalDate: m.date, Flags: m.flags},
				func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil }))
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if ok {
				want = append(want, m.uid)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("Search(%q): got UIDs %v, want %v (query.Match)", query.Format(q), got, want)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 2)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")
	ctx := context.Background()

	_, err := s.Search(ctx, "INBOX", uv+1, mustParse(t, "all"))
	if !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("wrong UIDVALIDITY: got %v, want ErrUIDValidity", err)
	}
	_, err = s.Search(ctx, "Nope", uv, mustParse(t, "all"))
	if !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("missing mailbox: got %v, want ErrNotFound", err)
	}
	examines := srv.Count("EXAMINE")
	_, err = s.Search(ctx, "INBOX", uv, remote.Query{Op: remote.QueryNot})
	if !errors.Is(err, remote.ErrInvalid) {
		t.Errorf("invalid query: got %v, want ErrInvalid", err)
	}
	if srv.Count("EXAMINE") != examines {
		t.Errorf("an invalid query reached the server")
	}
	// The connection is still good after the failures.
	got, err := s.Search(ctx, "INBOX", uv, mustParse(t, "all"))
	if err != nil || len(got) != 2 {
		t.Errorf("Search after the failures: got %v, %v; want 2 UIDs", got, err)
	}
	// An empty mailbox.
	if err := srv.CreateMailbox("Empty"); err != nil {
		t.Fatal(err)
	}
	got, err = s.Search(ctx, "Empty", uidValidity(t, s, "Empty"), mustParse(t, "all"))
	if err != nil || len(got) != 0 {
		t.Errorf("Search of an empty mailbox: got %v, %v; want none", got, err)
	}
}

// TestSearchAnswers checks answers the in-process server does not give: a
// plain SEARCH out of order with a repeat, ESEARCH, CHARSET for an
// IMAP4rev1 server, and NO [BADCHARSET].
func TestSearchAnswers(t *testing.T) {
	var mu sync.Mutex
	var answer string // what UID SEARCH gets, with %s for the tag
	var lastSearch string
	var literalTag string // the tag of a UID SEARCH waiting for its literal
	f := newFakeServer(t, "* OK fake", loginHandler(func(w *bufio.Writer, tag, cmd string) {
		switch {
		case strings.HasPrefix(cmd, "EXAMINE"):
			fmt.Fprintf(w, "* 9 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 20] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case strings.HasPrefix(cmd, "UID SEARCH"):
			mu.Lock()
			lastSearch = cmd
			a := answer
			mu.Unlock()
			if strings.HasSuffix(cmd, "}") {
				// A literal follows, then the rest of the line: the
				// answer comes after them.
				mu.Lock()
				literalTag = tag
				mu.Unlock()
				fmt.Fprintf(w, "+ go on\r\n")
				return
			}
			fmt.Fprintf(w, a, tag)
		default:
			// The literal and the rest of the command's line.
			mu.Lock()
			lastSearch += " " + strings.TrimSpace(tag+" "+cmd)
			a, lt := answer, literalTag
			mu.Unlock()
			fmt.Fprintf(w, a, lt)
		}
	}))
	s := fakeStore(t, f, func(srv *remote.Server) { srv.CommandTimeout = 5 * time.Second })
	ctx := context.Background()
	set := func(a string) {
		mu.Lock()
		answer = a
		mu.Unlock()
	}

	set("* SEARCH 9 3 5 3\r\n%s OK done\r\n")
	got, err := s.Search(ctx, "INBOX", 42, mustParse(t, "unseen"))
	if err != nil || !slices.Equal(got, []uint32{3, 5, 9}) {
		t.Errorf("SEARCH 9 3 5 3: got %v, %v; want [3 5 9]", got, err)
	}
	set("* SEARCH\r\n%s OK done\r\n")
	got, err = s.Search(ctx, "INBOX", 42, mustParse(t, "unseen"))
	if err != nil || len(got) != 0 {
		t.Errorf("empty SEARCH: got %v, %v; want none", got, err)
	}
	set("* ESEARCH (TAG \"%[1]s\") UID ALL 2:4,7\r\n%[1]s OK done\r\n")
	got, err = s.Search(ctx, "INBOX", 42, mustParse(t, "unseen"))
	if err != nil || !slices.Equal(got, []uint32{2, 3, 4, 7}) {
		t.Errorf("ESEARCH ALL 2:4,7: got %v, %v; want [2 3 4 7]", got, err)
	}
	set("%s NO [BADCHARSET (US-ASCII)] no UTF-8 here\r\n")
	_, err = s.Search(ctx, "INBOX", 42, mustParse(t, "subject:é"))
	if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "BADCHARSET") {
		t.Errorf("NO [BADCHARSET]: got %v, want ErrUnavailable naming the code", err)
	}
	mu.Lock()
	sent := lastSearch
	mu.Unlock()
	if sent != "UID SEARCH CHARSET UTF-8 SUBJECT {2} é" {
		t.Errorf("a UTF-8 search on an IMAP4rev1 server: sent %q, want CHARSET UTF-8 and a literal", sent)
	}
}
