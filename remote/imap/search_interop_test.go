package imap

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailfs/internal/interop"
	"mailfs/internal/query"
	"mailfs/remote"
)

// corpusMessage is one message of the search corpus: its text (LF line
// ends), INTERNALDATE and flags.
type corpusMessage struct {
	date  time.Time
	text  string
	flags []string
}

func b64lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 60 {
		out.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	return out.String() + s + "\n"
}

func latin1(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// searchCorpus is twelve messages with varied senders, recipients and
// subjects (encoded words, raw UTF-8, a folded subject, quoted names),
// bodies in quoted-printable, base64, 8-bit Latin-1 and KOI8-R, MIME
// structures (attachments, an attached message, alternatives with a
// preamble and an epilogue, an unknown transfer encoding), dates near
// midnight UTC (other days in Tokyo) and flags. Message N has
// Message-ID <mN@test>.
func searchCorpus() []corpusMessage {
	utc := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	lorem := strings.Repeat("Lorem ipsum dolor sit amet.\n", 110)
	return []corpusMessage{
		{utc(2, 10, 0), `From: Alice Example <alice@example.org>
To: Bob <bob@example.net>
Subject: Quarterly report
Message-ID: <m1@test>

The numbers are up this quarter.
`, []string{`\Seen`}},
		{utc(3, 23, 30), `From: bob@example.net
To: alice@example.org
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=
Message-ID: <m2@test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 cr=C3=A8me, sehr gut. A soft line=
 break.
`, []string{`\Seen`, `\Flagged`}},
		{utc(5, 0, 30), `From: =?UTF-8?Q?Zo=C3=AB_Martin?= <zoe@example.com>
To: alice@example.org, "Doe, Jane" <jane@example.org>
Subject: Invoice 42
Message-ID: <m3@test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

This is a multi-part message (preamble-only).
--b1
Content-Type: text/plain; charset=us-ascii

Please pay invoice 42 by Friday.
--b1
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

` + b64lines([]byte("%PDF-1.4 hidden-attachment-text")) + `--b1--
epilogue-only text
`, nil},
		{utc(6, 12, 0), `From: alice@example.org
To: bob@example.net
Subject: Re: Quarterly report
Message-ID: <m4@test>
In-Reply-To: <m1@test>

` + lorem, []string{`\Flagged`}},
		{utc(8, 15, 0), "From: Carol <carol@example.org>\nTo: team@example.org\nSubject: lunch\n\tplans for Friday\nMessage-ID: <m5@test>\n" +
			"MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n" +
			latin1("Treffen in Zürich um 12 Uhr.\n"), nil},
		{utc(10, 9, 0), `From: Dan O'Brien <dan@example.org>
To: x@example.org, y@example.org
Subject: Angebot
Message-ID: <m6@test>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

` + b64lines([]byte("<html><body><p>Unser <b>Angebot</b> für Sie</p></body></html>\r\n")), []string{`\Seen`}},
		{utc(12, 23, 59), `From: Eve <eve@example.org>
To: alice@example.org
Subject: Fwd: old news
Message-ID: <m7@test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fw"

--fw
Content-Type: text/plain

See below.
--fw
Content-Type: message/rfc822

From: Mallory <mallory@example.com>
To: eve@example.org
Subject: nested-subject
Message-ID: <nested@test>

nested body words
--fw--
`, nil},
		{utc(14, 16, 0), `From: 김철수 <kim@example.kr>
To: alice@example.org
Subject: 회의 일정
Message-ID: <m8@test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

` + b64lines([]byte("안녕하세요 여러분, 회의는 월요일입니다.\r\n")), []string{`\Flagged`}},
		{utc(16, 7, 0), `From: frank@example.org
To: alice@example.org
Subject: Weekly   sync
Message-ID: <m9@test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

preamble-only
--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

=C3=86SIR and the plain part
--alt
Content-Type: text/html; charset=utf-8

<p>html part only</p>
--alt--
epilogue-only
`, nil},
		{utc(18, 20, 0), `From: ivan@example.ru
To: alice@example.org
Subject: =?KOI8-R?B?8NLJ18XU?=
Message-ID: <m10@test>
MIME-Version: 1.0
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: base64

` + b64lines([]byte{0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4, ',', ' ', 0xcd, 0xc9, 0xd2, '\r', '\n'}), []string{`\Seen`}},
		{utc(19, 0, 10), `From: "Grace Hopper" <grace@example.org>
To: undisclosed-recipients:;
Subject: compiled
Message-ID: <m11@test>
Content-Transfer-Encoding: x-uuencode

hidden-by-unknown-encoding
`, nil},
		{utc(20, 11, 0), "From: h@example.org\nSubject: x\nMessage-ID: <m12@test>\n\n.\n", []string{`\Seen`, `\Flagged`}},
	}
}

// msgs is a set of corpus message numbers (1-based).
type msgs []int

func upTo(a, b int) msgs {
	var out msgs
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func except(n ...int) msgs {
	var out msgs
	for i := 1; i <= 12; i++ {
		if !slices.Contains(n, i) {
			out = append(out, i)
		}
	}
	return out
}

// searchCases are the queries run against Dovecot, with the corpus
// messages each must find with Dovecot in UTC and, when different, in
// Tokyo (dates near midnight UTC are the next day there).
var searchCases = []struct {
	query       string
	utc, tokyo  msgs
	tokyoDiffer bool
}{
	// Flags.
	{query: "all", utc: upTo(1, 12)},
	{query: "unseen", utc: msgs{3, 4, 5, 7, 8, 9, 11}},
	{query: "seen", utc: msgs{1, 2, 6, 10, 12}},
	{query: "flagged", utc: msgs{2, 4, 8, 12}},
	{query: "unflagged", utc: msgs{1, 3, 5, 6, 7, 9, 10, 11}},
	{query: "seen flagged", utc: msgs{2, 12}},
	{query: "unseen OR flagged", utc: msgs{2, 3, 4, 5, 7, 8, 9, 11, 12}},
	{query: "-(seen OR flagged)", utc: msgs{3, 5, 7, 9, 11}},
	// From: parsed addresses, names quoted as Dovecot writes them.
	{query: "from:alice", utc: msgs{1, 4}},
	{query: `from:"Alice Example"`, utc: msgs{1}},
	{query: `from:"Example <alice"`, utc: nil},
	{query: `from:"\"Alice Example\" <alice"`, utc: msgs{1}},
	{query: "from:<alice", utc: msgs{1, 4}},
	{query: "from:zoë", utc: msgs{3}},
	{query: "from:ZOE", utc: msgs{3}},
	{query: `from:"zoë martin <zoe@"`, utc: msgs{3}},
	{query: "from:O'Brien", utc: nil},
	{query: `from:"O\\'Brien"`, utc: msgs{6}},
	{query: "from:김철수", utc: msgs{8}},
	{query: "from:example.org", utc: msgs{1, 4, 5, 6, 7, 9, 11, 12}},
	{query: "from:mallory", utc: nil},
	// To.
	{query: "to:bob", utc: msgs{1, 4}},
	{query: "to:jane", utc: msgs{3}},
	{query: `to:"\"Doe, Jane\""`, utc: msgs{3}},
	{query: "to:undisclosed-recipients", utc: msgs{11}},
	{query: "to:eve", utc: nil},
	// Subject: decoded, runs of white space made one.
	{query: "subject:quarterly", utc: msgs{1, 4}},
	{query: "subject:grüße", utc: msgs{2}},
	{query: "subject:gru", utc: msgs{2}},
	{query: "subject:köln", utc: msgs{2}},
	{query: "subject:koln", utc: nil},
	{query: `subject:"lunch plans"`, utc: msgs{5}},
	{query: `subject:"weekly sync"`, utc: msgs{9}},
	{query: `subject:"weekly   sync"`, utc: nil},
	{query: "subject:회의", utc: msgs{8}},
	{query: "subject:привет", utc: msgs{10}},
	{query: "subject:nested-subject", utc: nil},
	// Body: decoded text parts only.
	{query: "body:café", utc: msgs{2}},
	{query: "body:cafe", utc: msgs{2}},
	{query: "body:CRÈME", utc: msgs{2}},
	{query: `body:"soft line break"`, utc: msgs{2}},
	{query: "body:invoice", utc: msgs{3}},
	{query: "body:hidden-attachment-text", utc: nil},
	{query: "body:zürich", utc: msgs{5}},
	{query: "body:angebot", utc: msgs{6}},
	{query: "body:<b>", utc: msgs{6}},
	{query: "body:nested", utc: msgs{7}},
	{query: "body:mallory", utc: nil},
	{query: "body:preamble-only", utc: nil},
	{query: "body:epilogue-only", utc: nil},
	{query: "body:안녕하세요", utc: msgs{8}},
	{query: "body:привет", utc: msgs{10}},
	{query: "body:æsir", utc: msgs{9}},
	{query: "body:hidden-by-unknown-encoding", utc: nil},
	{query: "body:lorem", utc: msgs{4}},
	// Text: every header field of every part, and the bodies.
	{query: "text:mallory", utc: msgs{7}},
	{query: "nested-subject", utc: msgs{7}},
	{query: "text:hidden-by-unknown-encoding", utc: nil},
	{query: `"Subject: Quarterly"`, utc: msgs{1}},
	{query: "text:quoted-printable", utc: msgs{2, 9}},
	{query: "text:application", utc: msgs{3}},
	{query: "text:kim@example.kr", utc: msgs{8}},
	{query: `text:"in-reply-to: <m1@"`, utc: msgs{4}},
	{query: "text:numbers", utc: msgs{1}},
	{query: "lorem", utc: msgs{4}},
	{query: "grüße", utc: msgs{2}},
	// NOT, OR, AND, parentheses.
	{query: "-from:alice", utc: except(1, 4)},
	{query: "NOT body:café", utc: except(2)},
	{query: "from:alice OR from:bob", utc: msgs{1, 2, 4}},
	{query: "(from:alice OR from:bob) unseen", utc: msgs{4}},
	{query: "from:alice AND body:lorem", utc: msgs{4}},
	{query: "from:alice OR subject:invoice OR body:angebot", utc: msgs{1, 3, 4, 6}},
	{query: "subject:quarterly OR flagged unseen", utc: msgs{1, 4, 8}},
	{query: "(subject:quarterly OR flagged) unseen", utc: msgs{4, 8}},
	{query: "-(from:alice OR -flagged)", utc: msgs{2, 8, 12}},
	{query: "NOT NOT seen", utc: msgs{1, 2, 6, 10, 12}},
	// Dates: the day of INTERNALDATE in the server's time zone.
	{query: "since:2026-11-04", utc: upTo(3, 12), tokyo: upTo(2, 12), tokyoDiffer: true},
	{query: "before:2026-11-04", utc: msgs{1, 2}, tokyo: msgs{1}, tokyoDiffer: true},
	{query: "since:2026-11-12 before:2026-11-13", utc: msgs{7}, tokyo: nil, tokyoDiffer: true},
	{query: "since:2026-11-13 before:2026-11-14", utc: nil, tokyo: msgs{7}, tokyoDiffer: true},
	{query: "since:2026-11-15", utc: upTo(9, 12), tokyo: upTo(8, 12), tokyoDiffer: true},
	{query: "before:2026-11-15", utc: upTo(1, 8), tokyo: upTo(1, 7), tokyoDiffer: true},
	{query: "since:2026-11-19", utc: msgs{11, 12}, tokyo: msgs{10, 11, 12}, tokyoDiffer: true},
	{query: "since:2026-11-02 before:2026-11-03", utc: msgs{1}},
	{query: "since:2026-11-21 OR before:2026-11-02", utc: nil},
	// Sizes (message 4 is the only one over 2 KiB).
	{query: "larger:2k", utc: msgs{4}},
	{query: "-larger:2k", utc: except(4)},
	{query: "larger:0", utc: upTo(1, 12)},
}

// doveadmArgs writes q as a doveadm search query: keys as in IMAP, every
// AND and OR a parenthesized list, OR infix.
func doveadmArgs(q remote.Query) []string {
	switch q.Op {
	case remote.QueryAll:
		return []string{"ALL"}
	case remote.QueryAnd, remote.QueryOr:
		if len(q.Args) == 0 {
			return []string{"ALL"}
		}
		out := []string{"("}
		for i, a := range q.Args {
			if i > 0 && q.Op == remote.QueryOr {
				out = append(out, "OR")
			}
			out = append(out, doveadmArgs(a)...)
		}
		return append(out, ")")
	case remote.QueryNot:
		return append([]string{"NOT"}, doveadmArgs(q.Args[0])...)
	case remote.QueryFrom:
		return []string{"FROM", q.Text}
	case remote.QueryTo:
		return []string{"TO", q.Text}
	case remote.QuerySubject:
		return []string{"SUBJECT", q.Text}
	case remote.QueryBody:
		return []string{"BODY", q.Text}
	case remote.QueryText:
		return []string{"TEXT", q.Text}
	case remote.QuerySince:
		return []string{"SINCE", q.Date.Format("2-Jan-2006")}
	case remote.QueryBefore:
		return []string{"BEFORE", q.Date.Format("2-Jan-2006")}
	case remote.QueryUnseen:
		return []string{"UNSEEN"}
	case remote.QueryFlagged:
		return []string{"FLAGGED"}
	case remote.QueryLarger:
		return []string{"LARGER", strconv.FormatInt(q.Size, 10)}
	}
	panic(fmt.Sprintf("doveadmArgs: op %d", q.Op))
}

// inboxCopy is INBOX as a test read it: its listing and bodies by UID.
type inboxCopy struct {
	uidValidity uint32
	uids        []uint32 // in order
	infos       map[uint32]remote.MessageInfo
	bodies      map[uint32][]byte
}

// copyInbox lists and fetches every message of INBOX through s.
func copyInbox(t *testing.T, s *Store) inboxCopy {
	t.Helper()
	ctx := context.Background()
	c := inboxCopy{infos: map[uint32]remote.MessageInfo{}, bodies: map[uint32][]byte{}}
	if _, err := s.Listing(ctx, "INBOX", func(mi remote.MessageInfo) error {
		c.infos[mi.UID] = mi
		c.uids = append(c.uids, mi.UID)
		return nil
	}); err != nil {
		t.Fatalf("Listing: %v", err)
	}
	slices.Sort(c.uids)
	c.uidValidity = uidValidity(t, s, "INBOX")
	if err := s.Fetch(ctx, "INBOX", c.uidValidity, c.uids, func(uid uint32, body io.Reader) error {
		b, err := io.ReadAll(body)
		c.bodies[uid] = b
		return err
	}); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return c
}

// match returns the UIDs of the messages query.Match finds for q, in
// order.
func (c inboxCopy) match(t *testing.T, q remote.Query) []uint32 {
	t.Helper()
	var out []uint32
	for _, uid := range c.uids {
		b := c.bodies[uid]
		ok, err := query.Match(q, query.NewMessage(c.infos[uid], func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}))
		if err != nil {
			t.Fatalf("Match(%s) on UID %d: %v", query.Format(q), uid, err)
		}
		if ok {
			out = append(out, uid)
		}
	}
	return out
}

// TestDovecotSearch runs every query of searchCases three ways on the
// corpus in a real Dovecot and checks they agree with each other and with
// the messages the case names: Store.Search (IMAP UID SEARCH), doveadm
// search on the server side, and query.Match on the messages fetched over
// IMAP. It runs with Dovecot in UTC and in Asia/Tokyo, whose calendar
// days differ for messages near midnight UTC.
func TestDovecotSearch(t *testing.T) {
	for _, tz := range []string{"UTC", "Asia/Tokyo"} {
		t.Run(tz, func(t *testing.T) {
			t.Setenv("TZ", tz) // inherited by Dovecot and doveadm
			testDovecotSearch(t, tz == "Asia/Tokyo")
		})
	}
}

func testDovecotSearch(t *testing.T, tokyo bool) {
	d := interop.StartDovecot(t, nil) // skips when Dovecot is missing
	var user, pass string
	for u, p := range d.Users {
		user, pass = u, p
	}
	corpus := searchCorpus()
	n, err := d.Seed(user, func(yield func(interop.MaildirMessage) bool) {
		for _, m := range corpus {
			if !yield(interop.MaildirMessage{Text: []byte(m.text), Date: m.date}) {
				return
			}
		}
	})
	if err != nil || n != len(corpus) {
		t.Fatalf("Seed: %d, %v", n, err)
	}
	s := New(&Options{MaxConns: 2, Server: remote.Server{
		Host: d.Host, Port: d.IMAPPort, TLS: remote.TLSNone, Username: user, Account: "dovecot",
		Password:    func(context.Context) (string, error) { return pass, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()

	// UIDs by corpus number, from the Message-IDs; then the flags, set
	// on the server side.
	listing := func() map[uint32]remote.MessageInfo {
		out := map[uint32]remote.MessageInfo{}
		if _, err := s.Listing(ctx, "INBOX", func(mi remote.MessageInfo) error {
			out[mi.UID] = mi
			return nil
		}); err != nil {
			t.Fatalf("Listing: %v", err)
		}
		return out
	}
	uidOf := map[int]uint32{}
	for uid, mi := range listing() {
		var k int
		if _, err := fmt.Sscanf(mi.MessageID, "m%d@test", &k); err != nil {
			t.Fatalf("UID %d: Message-ID %q", uid, mi.MessageID)
		}
		uidOf[k] = uid
	}
	for i, m := range corpus {
		if len(m.flags) > 0 {
			d.AddFlags(t, user, "INBOX", uidOf[i+1], m.flags...)
		}
	}
	inbox := copyInbox(t, s)
	uv, infos := inbox.uidValidity, inbox.infos
	if tokyo {
		if _, off := infos[uidOf[1]].InternalDate.Zone(); off != 9*3600 {
			t.Fatalf("INTERNALDATE %v: Dovecot is not in Tokyo time", infos[uidOf[1]].InternalDate)
		}
	}

	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range searchCases {
		q, err := query.Parse(tc.query, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.query, err)
		}
		want := tc.utc
		if tokyo && tc.tokyoDiffer {
			want = tc.tokyo
		}
		var wantUIDs []uint32
		for _, k := range want {
			wantUIDs = append(wantUIDs, uidOf[k])
		}
		slices.Sort(wantUIDs)

		server, err := s.Search(ctx, "INBOX", uv, q)
		if err != nil {
			t.Errorf("Search(%q): %v", tc.query, err)
			continue
		}
		admin := d.Search(t, user, "INBOX", doveadmArgs(q)...)
		local := inbox.match(t, q)
		if !slices.Equal(server, admin) {
			t.Errorf("%q: IMAP SEARCH found %v, doveadm search %v", tc.query, server, admin)
		}
		if !slices.Equal(local, admin) {
			t.Errorf("%q: query.Match found %v, doveadm search %v", tc.query, local, admin)
		}
		if !slices.Equal(admin, wantUIDs) {
			t.Errorf("%q: doveadm search found %v, want %v (messages %v)", tc.query, admin, wantUIDs, want)
		}
	}
}

// edgeCorpus is messages at the edges of what search reads: groups,
// comments, encoded words in odd places and unknown charsets, raw 8-bit
// headers, lenient transfer decoding, MIME without MIME-Version, attached
// and digest messages, repeated fields, malformed header lines.
var edgeCorpus = []string{
	"From: Team: a@x.org, b@y.org;\nSubject: group\n\nx\n",
	"From: alice@example.org (Alice Comment)\nSubject: comment\n\nx\n",
	"From: x@y.org\nSubject: foo=?utf-8?q?bar?=baz\n\nx\n",
	"From: x@y.org\nSubject: Caf\xe9 latin1 raw\n\nx\n",
	"From: x@y.org\nSubject: u\n\n\u01d6 dieresis-macron\n",
	"From: x@y.org\nSubject: q\nContent-Transfer-Encoding: quoted-printable\n\nlower =c3=a9t=c3=a9\n",
	"From: x@y.org\nSubject: b\nContent-Transfer-Encoding: base64\n\naGVs!bG8gd29ybGQ=\n",
	"From: x@y.org\nSubject: cs\nContent-Type: text/plain; charset=x-unknown\n\nunknown charset \xe9t\xe9\n",
	"From: =?x-unknown?q?weird?= <w@y.org>\nSubject: =?x-unknown?q?weird_subject?=\n\nx\n",
	"From: x@y.org\nSubject: mv\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n\nno-mime-version part\n--zz--\n",
	"From: x@y.org\nSubject: rfc\nContent-Type: message/rfc822\n\nSubject: inner-top\n\ninner body\n",
	"From: x@y.org\nSubject: digest\nMIME-Version: 1.0\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: digest-inner\n\ndigest body\n--d--\n",
	"From: x@y.org\nSubject: twice\nSubject: second-subject\n\nx\n",
	"From: \"=?utf-8?q?Quoted_Enc=C3=B6ded?=\" <q@y.org>\nSubject: qe\n\nx\n",
	"From: x@y.org\nSubject: nocolon\nthis line has no colon\n\nbody-after-bad-header\n",
	"From: x@y.org\nSubject: ws\n\ntab\there and  two  spaces\n",
	"From: x@y.org\nSubject: ß Straße\n\nStraße\n",
	"To: \"Dan O'Brien\" <d@y.org>, Ann Lee <a@y.org>\nFrom: x@y.org\nSubject: quotes\n\nx\n",
	"From: x@y.org\nSubject: html\nContent-Type: text/html\n\n<p>caf&eacute; &amp; more</p>\n",
	"From: x@y.org\nSubject: crlf\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
		b64lines([]byte("first line\r\nsecond line with ünicode\r\n")),
}

// edgeCases are queries on edgeCorpus. IMAP SEARCH and doveadm search
// must always agree; query.Match must agree too, except where differs
// says why not (the differences Match's doc lists): then it must differ.
var edgeCases = []struct {
	query   string
	differs string
}{
	{"from:team", "a group's name: Dovecot writes it, net/mail drops it"},
	{`from:"Team:"`, "a group's name"},
	{"from:<a@x.org>", ""},
	{`from:"alice comment"`, ""},
	{`from:"Comment <alice"`, ""},
	{"subject:foobarbaz", ""},
	{"subject:foo=?", ""},
	{"subject:caf", ""},
	{`subject:"latin1 raw"`, ""},
	{"subject:café", ""},
	{"body:ǖ", ""},
	{"body:ü", "ǖ decomposes one level in Dovecot (Ǖ = Ü + macron), fully here"},
	{"body:u", "ǖ decomposes one level in Dovecot"},
	{"body:été", ""},
	{"body:hel", ""},
	{"body:hello", ""},
	{"body:bG8", ""},
	{"body:charset", ""},
	{"from:weird", "an encoded word in an unknown charset: Dovecot adds it unfolded, here the field is searched as written"},
	{"subject:x-unknown", "an encoded word in an unknown charset"},
	{"body:no-mime-version", ""},
	{"body:inner", ""},
	{"text:inner-top", ""},
	{"body:digest", ""},
	{"text:digest-inner", ""},
	{"body:digest-inner", ""},
	{"subject:second-subject", ""},
	{"from:encöded", ""},
	{`from:"Quoted Encöded"`, ""},
	{"body:body-after-bad-header", ""},
	{`text:"this line has no colon"`, "a header line without a colon: Dovecot searches it as a field without a name, header.Parse skips it"},
	{"text:nocolon", ""},
	{`body:"tab here"`, ""},
	{`body:"two spaces"`, ""},
	{"subject:strasse", ""},
	{"body:STRASSE", ""},
	{"body:straße", ""},
	{`to:"O\\'Brien"`, ""},
	{`to:"\"Ann Lee\""`, ""},
	{`to:"Ann Lee <"`, ""},
	{"body:eacute", ""},
	{"body:café", ""},
	{`body:"second line"`, ""},
	{"body:ünicode", ""},
}

// TestDovecotSearchEdges runs edgeCases on edgeCorpus in a real Dovecot:
// IMAP SEARCH and doveadm search agree on each, and query.Match agrees
// with them except for the differences named, which it must show.
func TestDovecotSearchEdges(t *testing.T) {
	d := interop.StartDovecot(t, nil) // skips when Dovecot is missing
	var user, pass string
	for u, p := range d.Users {
		user, pass = u, p
	}
	if _, err := d.Seed(user, func(yield func(interop.MaildirMessage) bool) {
		for i, tx := range edgeCorpus {
			if !yield(interop.MaildirMessage{Text: []byte(tx), Date: time.Date(2026, 11, 1+i, 10, 0, 0, 0, time.UTC)}) {
				return
			}
		}
	}); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	s := New(&Options{MaxConns: 2, Server: remote.Server{
		Host: d.Host, Port: d.IMAPPort, TLS: remote.TLSNone, Username: user, Account: "dovecot",
		Password:    func(context.Context) (string, error) { return pass, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	inbox := copyInbox(t, s)
	uv := inbox.uidValidity
	for _, tc := range edgeCases {
		q, err := query.Parse(tc.query, time.Now())
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.query, err)
		}
		admin := d.Search(t, user, "INBOX", doveadmArgs(q)...)
		server, err := s.Search(ctx, "INBOX", uv, q)
		if err != nil {
			t.Errorf("Search(%q): %v", tc.query, err)
			continue
		}
		if !slices.Equal(server, admin) {
			t.Errorf("%q: IMAP SEARCH found %v, doveadm search %v", tc.query, server, admin)
		}
		local := inbox.match(t, q)
		switch same := slices.Equal(local, admin); {
		case tc.differs == "" && !same:
			t.Errorf("%q: query.Match found %v, doveadm search %v", tc.query, local, admin)
		case tc.differs != "" && same:
			t.Errorf("%q: query.Match and doveadm search both found %v; the difference (%s) is gone", tc.query, local, tc.differs)
		case tc.differs != "":
			t.Logf("%q: known difference (%s): query.Match found %v, Dovecot %v", tc.query, tc.differs, local, admin)
		}
	}
}
