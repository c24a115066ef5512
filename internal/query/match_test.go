package query

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"mailfs/internal/header"
	"mailfs/remote"
)

// testMsg is a Message held in memory that counts the reads Match makes.
type testMsg struct {
	text    string
	date    time.Time
	flags   []string
	headers int // calls of Header
	opens   int // calls of Open
	failed  error
}

func (m *testMsg) InternalDate() time.Time { return m.date }
func (m *testMsg) Flags() []string         { return m.flags }
func (m *testMsg) Size() int64             { return int64(len(m.text)) }

func (m *testMsg) Header() ([]byte, error) {
	m.headers++
	if m.failed != nil {
		return nil, m.failed
	}
	return header.Read(strings.NewReader(m.text))
}

func (m *testMsg) Open() (io.ReadCloser, error) {
	m.opens++
	if m.failed != nil {
		return nil, m.failed
	}
	return io.NopCloser(strings.NewReader(m.text)), nil
}

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func mustMatch(t *testing.T, q string, m *testMsg) bool {
	t.Helper()
	pq, err := Parse(q, testNow)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	ok, err := Match(pq, m)
	if err != nil {
		t.Fatalf("Match(%q): %v", q, err)
	}
	return ok
}

// checkMatches runs each query on msg: the ones in yes must match, the
// ones in no must not.
func checkMatches(t *testing.T, msg string, yes, no []string) {
	t.Helper()
	m := &testMsg{text: crlf(msg), date: testNow}
	for _, q := range yes {
		if !mustMatch(t, q, m) {
			t.Errorf("%q: got no match, want a match", q)
		}
	}
	for _, q := range no {
		if mustMatch(t, q, m) {
			t.Errorf("%q: got a match, want none", q)
		}
	}
}

func TestMatchHeaderFields(t *testing.T) {
	msg := `From: "Doe, Jane" <jane.doe@example.org>
To: bob@example.net, =?UTF-8?Q?Zo=C3=AB_Martin?= <zoe@example.com>
To: second@example.com
Cc: carol@example.org
Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus
	  Köln,   bitte
Reply-To: reply@example.org

Body with the word banana.
`
	checkMatches(t, msg,
		[]string{
			"from:jane", "from:JANE.DOE", "from:example.org", `from:"Doe, Jane"`,
			`from:"\"Doe, Jane\" <jane"`, "from:<jane", "from:org>",
			"to:bob", "to:zoë", "to:ZOË", "to:zoe", `to:"Zoë Martin <zoe@"`, "to:<bob@example.net>",
			"to:second",                                   // every To field
			"subject:grüße", "subject:GRÜ", "subject:gru", // an accent at the end of the key may be missing
			`subject:"Grüße aus Köln, bitte"`, "subject:köln",
		},
		[]string{
			"from:bob", "from:banana", "to:carol", "to:reply", "subject:banana", `from:"Doe, Jane <jane"`,
			`subject:"Köln,  bitte"`, `to:"Martin<"`, "subject:GRUSSE", "subject:koln", "subject:gruße",
		})
}

func TestMatchAddressFallback(t *testing.T) {
	// Not an address list: searched as written, decoded.
	checkMatches(t, "From: Undisclosed =?utf-8?q?Sender=C3=A9?= ;; <<\n\nx\n",
		[]string{"from:undisclosed", "from:senderé", "from:<<"},
		[]string{"from:sender@"})
}

func TestMatchEmptyHeaderKey(t *testing.T) {
	// An empty string tests that the field exists, as in Dovecot.
	m := &testMsg{text: crlf("From: a@example.org\nSubject: \n\nx\n")}
	for _, tc := range []struct {
		q    remote.Query
		want bool
	}{{from(""), true}, {subject(""), true}, {to(""), false}} {
		if got, err := Match(tc.q, m); err != nil || got != tc.want {
			t.Errorf("Match(%+v): got %v, %v; want %v", tc.q, got, err, tc.want)
		}
	}
}

func TestMatchBody(t *testing.T) {
	msg := `From: a@example.org
Subject: mixed
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble-word
--outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 cr=C3=A8me, soft=
break and =3D sign, bad =ZZ escape
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: base64

` + b64("Zürich in Latin-1\r\n", "latin1") + `
--inner
Content-Type: text/html; charset=utf-8

<p>html-only-word</p>
--inner--
inner-epilogue-word
--outer
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

` + b64("secret-attachment-word", "") + `
--outer
Content-Type: message/rfc822

From: attached@example.com
Subject: nested-subject-word
X-Custom: custom-header-word

nested-body-word
--outer
Content-Type: text/plain
Content-Transfer-Encoding: x-unknown

unknown-encoding-word
--outer
Content-Disposition: inline

default-text-plain-word
--outer--
epilogue-word
`
	checkMatches(t, msg,
		[]string{
			"body:café", "body:CAFE", "body:crème", "body:softbreak", `body:"= sign"`, "body:=ZZ",
			"body:zürich", "body:html-only-word", "body:nested-body-word", "body:default-text-plain-word",
			"text:nested-subject-word", `text:"X-Custom: custom-header-word"`, `text:"x-custom: CUSTOM"`,
			"text:attached@example.com", `text:"Content-Transfer-Encoding: base64"`, "text:quoted-printable",
			"text:café", `text:"Subject: mixed"`,
			"body:café body:zürich", "body:café OR body:nothing-here",
		},
		[]string{
			"body:preamble-word", "body:inner-epilogue-word", "body:epilogue-word",
			"body:secret-attachment-word", "text:secret-attachment-word",
			"body:nested-subject-word", "body:custom-header-word", "body:unknown-encoding-word",
			"body:mixed", "body:a@example.org", `body:"Content-Type"`,
			"body:C3", "body:Zm9v",
			`text:"Subject:  mixed"`, `text:"soft break"`,
		})
}

// b64 returns s base64-encoded in lines of 76, after converting it to
// Latin-1 when cs is "latin1".
func b64(s, cs string) string {
	b := []byte(s)
	if cs == "latin1" {
		var l []byte
		for _, r := range s {
			l = append(l, byte(r))
		}
		b = l
	}
	enc := make([]byte, (len(b)+2)/3*4)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i, j := 0, 0; i < len(b); i, j = i+3, j+4 {
		var v uint32
		n := min(3, len(b)-i)
		for k := 0; k < n; k++ {
			v |= uint32(b[i+k]) << (16 - 8*k)
		}
		for k := 0; k < 4; k++ {
			if k <= n {
				enc[j+k] = alphabet[v>>(18-6*k)&63]
			} else {
				enc[j+k] = '='
			}
		}
	}
	var out bytes.Buffer
	for len(enc) > 76 {
		out.Write(enc[:76])
		out.WriteString("\n")
		enc = enc[76:]
	}
	out.Write(enc)
	return out.String()
}

func TestMatchSinglePart(t *testing.T) {
	// Not MIME, no Content-Type: text/plain, searched as it is.
	checkMatches(t, "Subject: plain\n\nHello World\n=C3=A9\n",
		[]string{"body:hello", `body:"o w"`, "body:=C3=A9", "text:plain"},
		[]string{"body:plain", `body:"world =c3"`, "body:é"})
	// A base64 text/plain body with its charset.
	checkMatches(t, "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: BASE64\n\n"+
		b64(string([]byte{0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4}), "")+"\n",
		[]string{"body:привет", "body:ПРИВЕТ"},
		[]string{"body:8NLJ"})
	// A single non-text part is not searched.
	checkMatches(t, "Content-Type: image/png\n\nnot-searched\n",
		[]string{"text:image"},
		[]string{"body:not-searched", "text:not-searched"})
}

func TestMatchMetadata(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	// 2026-11-18 01:00 in Tokyo is still the 17th in UTC: the day counted
	// is the one of the date's own location.
	m := &testMsg{text: "Subject: x\r\n\r\nbody\r\n", date: time.Date(2026, 11, 18, 1, 0, 0, 0, tokyo), flags: []string{`\seen`, "$Label"}}
	for q, want := range map[string]bool{
		"since:2026-11-18":  true,
		"since:2026-11-19":  false,
		"before:2026-11-18": false,
		"before:2026-11-19": true,
		"since:2026-11-17":  true,
		"since:2027-01-01":  false,
		"before:2025-12-31": false,
		"since:2026-10-30":  true,
		"unseen":            false,
		"seen":              true,
		"flagged":           false,
		"unflagged":         true,
		"larger:19":         true,
		"larger:20":         false,
		"larger:0":          true,
		"all":               true,
		"-all":              false,
	} {
		if got := mustMatch(t, q, m); got != want {
			t.Errorf("%q: got %v, want %v", q, got, want)
		}
	}
	if m.headers != 0 || m.opens != 0 {
		t.Errorf("metadata queries read the message: %d headers, %d opens", m.headers, m.opens)
	}
	m2 := &testMsg{text: "x", flags: []string{`\Flagged`}, date: testNow}
	if !mustMatch(t, "unseen flagged", m2) {
		t.Errorf("unseen flagged: got no match on a flagged unread message")
	}
}

// TestMatchReadsLazily checks which reads each query makes: none for
// metadata, the header alone for header fields, the whole message once
// for any number of body terms, and none that the answer does not need.
func TestMatchReadsLazily(t *testing.T) {
	msg := crlf("From: alice@example.org\nSubject: hello\n\nbody text\n")
	for _, tc := range []struct {
		q              string
		headers, opens int
		want           bool
	}{
		{"unseen", 0, 0, true},
		{"larger:1 since:2000-01-01 -flagged", 0, 0, true},
		{"from:alice", 1, 0, true},
		{"from:alice subject:hello -to:x", 1, 0, true},
		{"body:text", 0, 1, true},
		{"body:text text:hello body:nothing OR text:body", 0, 1, true},
		{"from:alice body:text", 1, 1, true},
		{"body:text seen", 0, 0, false},          // seen fails first
		{"body:text OR unseen", 0, 0, true},      // unseen succeeds first
		{"body:text from:bob", 1, 0, false},      // the header fails first
		{"-(body:x OR from:alice)", 1, 0, false}, // from:alice decides the OR
		{"body:text OR body:xyz", 0, 1, true},
	} {
		m := &testMsg{text: msg, date: testNow}
		if got := mustMatch(t, tc.q, m); got != tc.want {
			t.Errorf("%q: got %v, want %v", tc.q, got, tc.want)
		}
		if m.headers != tc.headers || m.opens != tc.opens {
			t.Errorf("%q: got %d header reads and %d opens, want %d and %d", tc.q, m.headers, m.opens, tc.headers, tc.opens)
		}
	}
}

func TestMatchErrors(t *testing.T) {
	boom := errors.New("boom")
	m := &testMsg{failed: boom}
	for _, q := range []remote.Query{from("x"), body("x"), and(unseen, text("x"))} {
		if _, err := Match(q, m); !errors.Is(err, boom) {
			t.Errorf("Match(%+v): got %v, want %v", q, err, boom)
		}
	}
	if _, err := Match(or(text("x")), m); !errors.Is(err, remote.ErrInvalid) {
		t.Errorf("Match of an invalid query: got %v, want ErrInvalid", err)
	}
	// The body stops early with a failing reader.
	r := &testMsg{text: "x", date: testNow}
	if ok, err := Match(unseen, r); err != nil || !ok {
		t.Errorf("unseen: got %v, %v", ok, err)
	}
}

func TestNewMessage(t *testing.T) {
	text := crlf("From: a@example.org\nSubject: s\n\nbody word\n")
	opens := 0
	m := NewMessage(remote.MessageInfo{UID: 3, Size: int64(len(text)), Flags: []string{`\Seen`}, InternalDate: testNow},
		func() (io.ReadCloser, error) {
			opens++
			return io.NopCloser(strings.NewReader(text)), nil
		})
	h, err := m.Header()
	if err != nil || string(h) != crlf("From: a@example.org\nSubject: s\n\n") {
		t.Errorf("Header: got %q, %v", h, err)
	}
	q, _ := Parse("from:a@ body:word seen", testNow)
	if ok, err := Match(q, m); err != nil || !ok {
		t.Errorf("Match: got %v, %v; want true", ok, err)
	}
	if opens != 3 {
		t.Errorf("got %d opens, want 3 (one Header call, then a Header and an Open in Match)", opens)
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		text, key string
		want      bool
	}{
		{"Café", "cafe", true},
		{"Café", "CAFÉ", true},
		{"Cafe\u0301", "café", true},
		{"cafe", "café", false},
		{"ÆSIR", "æsir", true},
		{"ǅemal", "džemal", false}, // as in Dovecot, for other reasons
		{"İstanbul", "istanbul", false},
		{"İstanbul", "i̇stanbul", true},
		{"Straße", "STRASSE", false},
		{"ﬁle", "file", false}, // Dovecot decomposes ﬁ to "fi", not "FI"
		{"안녕하세요", "안녕", true},
		{"ΣΊΣΥΦΟΣ", "σίσυφος", true},
	} {
		if got := strings.Contains(fold(tc.text), fold(tc.key)); got != tc.want {
			t.Errorf("%q contains %q: got %v, want %v (%q, %q)", tc.text, tc.key, got, tc.want, fold(tc.text), fold(tc.key))
		}
	}
}

// FuzzMatch checks that Match reads any message without panicking or
// failing, and that a key is found in the body (or header) it was put in.
func FuzzMatch(f *testing.F) {
	f.Add("From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--x--\r\n", "abc")
	f.Add("Content-Type: message/rfc822\n\nContent-Type: multipart/digest; boundary=\"a\"\n\n--a\n\nSubject: z\n\n--a--", "z")
	f.Add("Content-Transfer-Encoding: quoted-printable\n\n=E2=82=AC=\n=", "€")
	f.Fuzz(func(t *testing.T, msg, key string) {
		m := &testMsg{text: msg, date: testNow}
		for _, q := range []remote.Query{
			text(key), body(key), from(key), to(key), subject(key),
			and(text(key), not(body(key))), or(subject(key), text("zz"+key)),
		} {
			if Check(q) != nil {
				return
			}
			if _, err := Match(q, m); err != nil {
				t.Fatalf("Match(%+v) of %q: %v", q, msg, err)
			}
		}
		// A plain text body holding the key is found by body:.
		if key == "" || strings.ContainsAny(key, "\r\n") || Check(body(key)) != nil {
			return
		}
		plain := &testMsg{text: "Subject: x\r\n\r\n<" + key + ">\r\n", date: testNow}
		if ok, err := Match(body(key), plain); err != nil || !ok {
			t.Fatalf("body:%q in a plain body: got %v, %v; want a match", key, ok, err)
		}
	})
}

func TestAddresses(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.org":                       "<alice@example.org>",
		"Alice <alice@example.org>":               "Alice <alice@example.org>",
		"Alice Example <alice@example.org>":       `"Alice Example" <alice@example.org>`,
		`"Example, Alice" <a@x.org>, b@y.org`:     `"Example, Alice" <a@x.org>, <b@y.org>`,
		"Dan O'Brien <dan@x.org>":                 `"Dan O\'Brien" <dan@x.org>`,
		"O'Brien <dan@x.org>":                     `O'Brien <dan@x.org>`,
		"J.Doe <j@x.org>":                         `"J.Doe" <j@x.org>`,
		"=?UTF-8?Q?Zo=C3=AB_Martin?= <zoe@x.org>": "Zoë Martin <zoe@x.org>",
		"=?utf-8?q?a?= =?utf-8?q?b?= <ab@x.org>":  "ab <ab@x.org>",
		"Jürgen Groß <j@x.de>":                    `"Jürgen Groß" <j@x.de>`,
		"not an address list <<":                  "not an address list <<",
		"=?utf-8?q?not_a_list?= <<":               "not a list <<",
	} {
		if got := addresses(in); got != want {
			t.Errorf("addresses(%q): got %q, want %q", in, got, want)
		}
	}
}
