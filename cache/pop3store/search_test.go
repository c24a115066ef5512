package pop3store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailfs/internal/query"
	"mailfs/remote"
)

// searchMsg is a message for the search tests, with LF line ends turned
// into CRLF.
func searchMsg(from, subject, date, extraHeader, body string) string {
	return strings.ReplaceAll("From: "+from+"\nTo: me@example.org\nSubject: "+subject+"\nDate: "+date+"\n"+extraHeader+"\n"+body, "\n", "\r\n")
}

// searchEnv is a store whose INBOX holds five varied messages (UIDs 1–5)
// with flags, and an Archive with one message moved there.
func searchEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, true,
		msg("1", searchMsg("Alice Example <alice@example.org>", "Quarterly report", "Mon, 02 Nov 2026 10:00:00 +0000", "", "The numbers are up.\n")),
		msg("2", searchMsg("bob@example.net", "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Tue, 10 Nov 2026 23:30:00 -0500", "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n", "Caf=C3=A9 au lait\n")),
		msg("3", searchMsg("=?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>", "Invoice 42", "Wed, 18 Nov 2026 08:00:00 +0900", "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n",
			"--b\nContent-Type: text/plain\n\nPlease pay.\n--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n")),
		msg("4", searchMsg("alice@example.org", "Re: Quarterly report", "Thu, 19 Nov 2026 12:00:00 +0000", "", strings.Repeat("long line of text\n", 200))),
		msg("5", searchMsg("carol@example.org", "lunch?", "Fri, 20 Nov 2026 09:00:00 +0100", "", "Pizza or sushi\n")),
		msg("6", searchMsg("dave@example.org", "archived", "Fri, 20 Nov 2026 09:00:00 +0100", "", "old stuff\n")),
	)
	e.mustPoll()
	ctx := t.Context()
	for uid, flags := range map[uint32][]string{1: {`\Seen`}, 2: {`\Seen`, `\Flagged`}, 4: {`\Flagged`}} {
		if err := e.s.SetFlags(ctx, Inbox, uid, flags); err != nil {
			t.Fatalf("SetFlags %d: %v", uid, err)
		}
	}
	if err := e.s.CreateMailbox(ctx, "Archive"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Move(ctx, Inbox, 6, "Archive"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) search(mailbox, q string) ([]uint32, error) {
	e.t.Helper()
	pq, err := query.Parse(q, e.clock.Now())
	if err != nil {
		e.t.Fatalf("Parse(%q): %v", q, err)
	}
	return e.s.Search(e.t.Context(), mailbox, e.list(mailbox).UIDValidity, pq)
}

func TestSearch(t *testing.T) {
	e := searchEnv(t)
	for _, tc := range []struct {
		q    string
		want []uint32
	}{
		{"all", []uint32{1, 2, 3, 4, 5}},
		{"unseen", []uint32{3, 4, 5}},
		{"seen", []uint32{1, 2}},
		{"flagged", []uint32{2, 4}},
		{"unseen unflagged", []uint32{3, 5}},
		{"from:alice", []uint32{1, 4}},
		{`from:"Alice Example"`, []uint32{1}},
		{"from:zoë", []uint32{3}},
		{"from:ZOE", []uint32{3}},
		{"to:me@example.org", []uint32{1, 2, 3, 4, 5}},
		{"subject:quarterly", []uint32{1, 4}},
		{"subject:quarterly -subject:re:", []uint32{1}},
		{"subject:grüße", []uint32{2}},
		{"body:café", []uint32{2}},
		{"body:cafe", []uint32{2}},
		{"body:please", []uint32{3}},
		{"body:JVBERi0", nil},
		{"text:invoice", []uint32{3}},
		{"invoice OR pizza", []uint32{3, 5}},
		{"text:application", []uint32{3}},
		{"larger:1k", []uint32{4}},
		{"-larger:1k", []uint32{1, 2, 3, 5}},
		// Dates are the Date: fields' days in their own zones.
		{"since:2026-11-18", []uint32{3, 4, 5}},
		{"before:2026-11-10", []uint32{1}},
		{"since:2026-11-10 before:2026-11-11", []uint32{2}},
		{"since:today", []uint32{5}}, // the clock says 2026-11-20 UTC
		{"since:2d", []uint32{3, 4, 5}},
		{"(from:alice OR from:bob) unseen", []uint32{4}},
		{"NOT (flagged OR seen)", []uint32{3, 5}},
	} {
		got, err := e.search(Inbox, tc.q)
		if err != nil {
			t.Errorf("Search(%q): %v", tc.q, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q): got %v, want %v", tc.q, got, tc.want)
		}
	}
	if got, err := e.search("Archive", "body:stuff"); err != nil || !slices.Equal(got, []uint32{1}) {
		t.Errorf("Search(Archive, body:stuff): got %v, %v; want [1]", got, err)
	}
}

func TestSearchErrors(t *testing.T) {
	e := searchEnv(t)
	ctx := t.Context()
	uv := e.list(Inbox).UIDValidity
	if _, err := e.s.Search(ctx, Inbox, uv+1, remote.Query{}); !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("wrong UIDVALIDITY: got %v, want ErrUIDValidity", err)
	}
	if _, err := e.s.Search(ctx, "Nope", uv, remote.Query{}); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("missing mailbox: got %v, want ErrNotFound", err)
	}
	if _, err := e.s.Search(ctx, Inbox, uv, remote.Query{Op: remote.QueryNot}); !errors.Is(err, remote.ErrInvalid) {
		t.Errorf("invalid query: got %v, want ErrInvalid", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.s.Search(canceled, Inbox, uv, remote.Query{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v, want context.Canceled", err)
	}

	// A message whose file is gone (removed meanwhile) is left out.
	e.s.mu.RLock()
	path := e.s.path(e.s.folders[Inbox].msgs[3].File)
	e.s.mu.RUnlock()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got, err := e.search(Inbox, "body:please OR body:pizza"); err != nil || !slices.Equal(got, []uint32{5}) {
		t.Errorf("with message 3's file gone: got %v, %v; want [5]", got, err)
	}
	// An unreadable file is an error.
	e.s.mu.RLock()
	path = e.s.path(e.s.folders[Inbox].msgs[5].File)
	e.s.mu.RUnlock()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := e.search(Inbox, "body:pizza"); err == nil {
		t.Errorf("a message that is a directory: got no error")
	}
}

// readBytes returns how many bytes this process has read so far
// (rchar of /proc/self/io), or -1 when it cannot tell.
func readBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "rchar:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// TestSearchReadsOnlyWhatItNeeds checks, by the bytes the process reads,
// that flag and size queries read no message, header queries read headers
// only, and body queries read the bodies.
func TestSearchReadsOnlyWhatItNeeds(t *testing.T) {
	if readBytes() < 0 {
		t.Skip("no /proc/self/io")
	}
	const n, bodySize = 20, 1 << 20
	var msgs []*fakeMsg
	for i := range n {
		msgs = append(msgs, msg(fmt.Sprint(i), searchMsg(fmt.Sprintf("user%d@example.org", i), fmt.Sprint("subject ", i),
			"Fri, 20 Nov 2026 09:00:00 +0100", "", strings.Repeat("0123456789abcde\n", bodySize/16))))
	}
	e := newEnv(t, true, msgs...)
	e.mustPoll()
	for _, tc := range []struct {
		q        string
		min, max int64 // bytes read
		hits     int
	}{
		{"unseen", 0, 64 << 10, n},
		{"larger:2m OR flagged", 0, 64 << 10, 0},
		{"from:user7@", 0, n * 64 << 10, 1},
		{"subject:subject -to:nobody", 0, n * 64 << 10, n},
		{"body:0123 body:abcde", n * bodySize / 16, n * bodySize * 2, n}, // the body is read up to the first match
		{"body:nowhere", n * bodySize, n * bodySize * 2, 0},
		{"from:user7@ body:nowhere", bodySize, 2*bodySize + n*64<<10, 0}, // only message 7's body
	} {
		before := readBytes()
		got, err := e.search(Inbox, tc.q)
		read := readBytes() - before
		if err != nil {
			t.Errorf("Search(%q): %v", tc.q, err)
			continue
		}
		if len(got) != tc.hits {
			t.Errorf("Search(%q): got %d messages, want %d", tc.q, len(got), tc.hits)
		}
		if read < tc.min || read > tc.max {
			t.Errorf("Search(%q): read %d bytes, want %d to %d", tc.q, read, tc.min, tc.max)
		}
	}
}
