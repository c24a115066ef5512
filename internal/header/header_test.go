package header

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// dateLayout shows a Date's wall clock, offset and zone name.
const dateLayout = "2006-01-02T15:04:05-07:00 MST"

func TestHeader(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", MaxBytes) + "\r\n\r\n"
	for _, tc := range []struct {
		name string
		// in is the header block, up to and including its blank line
		// unless partial; body follows it.
		in, body string
		partial  bool
		// kinds is the Kind of each line of the block: B, C, M, and F for a
		// Field whose name before the colon is a ValidName, f for one whose
		// name is not; "" skips the check.
		kinds           string
		fields, skipped int
		get             map[string]string // Has and Get of these names
		// mailMisses are the names of get that Mail does not find: go-message
		// trims only spaces and tabs around a name, and compares a name that
		// is not a token case-sensitively.
		mailMisses     []string
		subject, msgID string
		date           string // Date in dateLayout; "" when it must fail
		to             []string
	}{
		{name: "CRLF",
			in: "Subject: Hello\r\nMessage-ID: <a@b>\r\nDate: Fri, 20 Nov 2026 09:15:00 +0100\r\n\r\n", body: "body\r\n\r\n",
			kinds: "FFFB", fields: 3,
			get:     map[string]string{"subject": "Hello", "MESSAGE-ID": "<a@b>"},
			subject: "Hello", msgID: "a@b", date: "2026-11-20T09:15:00+01:00 +0100"},
		{name: "LF",
			in: "Subject: Hello\nMessage-ID: <a@b>\nDate: Fri, 20 Nov 2026 09:15:00 +0100\n\n", body: "body\n\n",
			kinds: "FFFB", fields: 3,
			subject: "Hello", msgID: "a@b", date: "2026-11-20T09:15:00+01:00 +0100"},
		{name: "folded Subject, tab and space continuations",
			in:    "Subject: a long\r\n\tsubject folded\r\n  twice \r\nTo: x@y.example\r\n\r\n",
			kinds: "FCCFB", fields: 2,
			get:     map[string]string{"Subject": "a long\tsubject folded  twice", "To": "x@y.example"},
			subject: "a long subject folded twice", to: []string{"x@y.example"}},
		{name: "encoded words, UTF-8 B folded across lines",
			in:    "Subject: =?UTF-8?B?7JWI?=\r\n =?UTF-8?B?64WV?=\r\n\tend\r\n\r\n",
			kinds: "FCCB", fields: 1,
			get:     map[string]string{"Subject": "=?UTF-8?B?7JWI?= =?UTF-8?B?64WV?=\tend"},
			subject: "안녕 end"},
		{name: "encoded word, UTF-8 B",
			in:     "Subject: =?UTF-8?B?7JWI64WV7ZWY7IS47JqU?=\n\n",
			fields: 1, subject: "안녕하세요"},
		{name: "encoded word, UTF-8 Q with line break and tab inside",
			in:     "Subject: =?utf-8?q?caf=C3=A9_au=0D=0Alait=09!?=\n\n",
			fields: 1, subject: "café au lait !"},
		{name: "encoded words, ISO-8859-1, windows-1252, EUC-KR, ISO-2022-JP",
			in:     "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= =?windows-1252?Q?=80_caf=E9?= / =?EUC-KR?B?vsiz5w==?= =?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=\r\n\r\n",
			fields: 1, subject: "Grüße€ café / 안녕日本"},
		{name: "unknown charset kept as is",
			in:     "Subject: =?x-unknown?Q?abc?= and =?UTF-8?Q?d?=\r\n\r\n",
			fields: 1, subject: "=?x-unknown?Q?abc?= and =?UTF-8?Q?d?="},
		{name: "raw 8-bit UTF-8",
			in:     "Subject: Grüße 보관함\r\n\r\n",
			fields: 1, subject: "Grüße 보관함"},
		{name: "raw Latin-1, control characters, runs of white space",
			in:     "Subject: caf\xe9 \xff\x00\x1b[1m  x\x7f\u00a0y\x85z\r\n\r\n",
			fields: 1, subject: "café ÿ [1m x y z"},
		{name: "repeated fields: the first wins",
			in:    "Subject: one\r\nsubject: two\r\nMESSAGE-ID: <1@x>\r\nMessage-Id: <2@x>\r\n\r\n",
			kinds: "FFFFB", fields: 4,
			get:     map[string]string{"Subject": "one", "message-id": "<1@x>"},
			subject: "one", msgID: "1@x"},
		{name: "junk line in the middle: skipped, its continuation too, later fields read",
			in:    "From: a@x\r\nthis is junk\r\n continued junk\r\n: no name\r\nSubject: later\r\n  folded\r\n\r\n",
			kinds: "FMCMFCB", fields: 2, skipped: 3,
			get:     map[string]string{"From": "a@x", "Subject": "later  folded"},
			subject: "later folded"},
		{name: "continuation first: skipped",
			in:    " leading\r\n\tmore\r\nSubject: s\r\n\r\n",
			kinds: "CCFB", fields: 1, skipped: 2, subject: "s"},
		{name: "obsolete syntax and odd names: white space before the colon",
			in:    "Subject : spaced\r\nSübject: umlaut\r\nX-Ok:tight\r\n\vMessage-\u0130D\t: <dotted@i>\r\n\r\n",
			kinds: "ffFfB", fields: 4,
			get:        map[string]string{"subject": "spaced", "Sübject": "umlaut", "SÜBJECT": "umlaut", "x-ok": "tight", "message-id": "<dotted@i>"},
			mailMisses: []string{"SÜBJECT", "message-id"},
			subject:    "spaced", msgID: "dotted@i"},
		{name: "a CR line is not blank",
			in:    "Subject: a\r\r\n\r\r\nTo: b@c\r\n\r\n",
			kinds: "FMFB", fields: 2, skipped: 1,
			get:     map[string]string{"Subject": "a", "To": "b@c"},
			subject: "a"},
		{name: "no blank line",
			in:      "Subject: only\r\nTo: a@b.example\r",
			partial: true, kinds: "FF", fields: 2,
			get:     map[string]string{"To": "a@b.example"},
			subject: "only", to: []string{"a@b.example"}},
		{name: "empty header, CRLF",
			in: "\r\n", body: "Subject: body, not header\r\n",
			kinds: "B"},
		{name: "empty header, LF",
			in: "\n", body: "Subject: body\n\n",
			kinds: "B"},
		{name: "empty input",
			in: "", partial: true, kinds: ""},
		{name: "Message-ID without brackets",
			in:     "Message-Id:   naked@id  \n\n",
			fields: 1, msgID: "naked@id"},
		{name: "Message-ID with comments and white space",
			in:     "Message-ID: (a comment) <  a@b  > (more)\n\n",
			fields: 1, msgID: "a@b"},
		{name: "Message-ID folded, nested bracket",
			in:     "Message-ID:\r\n <<x\t@y>\r\n\r\n",
			fields: 1, msgID: "<x @y"},
		{name: "Message-ID with a comment, no brackets",
			in:     "Message-ID: abc (c)\n\n",
			fields: 1, msgID: "abc (c)"},
		{name: "Date, negative offset and comment",
			in:     "Date: Mon, 1 Jan 2024 10:00:00 -0500 (EST)\n\n",
			fields: 1, date: "2024-01-01T10:00:00-05:00 -0500"},
		{name: "Date, half-hour offset, no weekday",
			in:     "Date: 1 Jan 2024 10:00:00 +0530\n\n",
			fields: 1, date: "2024-01-01T10:00:00+05:30 +0530"},
		{name: "Date, GMT and two-digit year",
			in:     "Date: 1 Jan 99 00:00 GMT\n\n",
			fields: 1, date: "1999-01-01T00:00:00+00:00 GMT"},
		{name: "Date, obsolete US zone name",
			in:     "Date: Mon, 1 Jan 2024 10:00:00 PDT\n\n",
			fields: 1, date: "2024-01-01T10:00:00-07:00 PDT"},
		{name: "Date, other zone name read as +0000",
			in:     "Date: Mon, 1 Jan 2024 10:00:00 CET\n\n",
			fields: 1, date: "2024-01-01T10:00:00+00:00 CET"},
		{name: "Date folded with a tab",
			in:    "Date: Mon, 1 Jan 2024\r\n\t10:00:00 -0000\r\n\r\n",
			kinds: "FCB", fields: 1, date: "2024-01-01T10:00:00+00:00 +0000"},
		{name: "bad Date",
			in:     "Date: yesterday\r\n\r\n",
			fields: 1},
		{name: "Date, year 0",
			in:     "Date: Mon, 1 Jan 0000 10:00:00 +0000\r\n\r\n",
			fields: 1},
		{name: "Date, year 10000",
			in:     "Date: Mon, 1 Jan 10000 10:00:00 +0000\r\n\r\n",
			fields: 1},
		{name: "address list for the outbox",
			in:    "To: A <a@x.example>,\r\n\tb@y.example\r\nBcc: c@z.example\r\n\r\n",
			kinds: "FCFB", fields: 2,
			to: []string{"a@x.example", "b@y.example"}},
		{name: "longer than MaxBytes",
			in:     long,
			fields: 1,
			get:    map[string]string{"X-Long": strings.Repeat("a", MaxBytes)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in + tc.body)
			wantEnd := len(tc.in)
			if tc.partial {
				wantEnd = -1
			}
			if end, next := End(in, 0); end != wantEnd || (end >= 0 && next != end) || next > len(in) {
				t.Fatalf("End: got %d, %d; want %d", end, next, wantEnd)
			}
			checkEndResumes(t, in, wantEnd)

			block := []byte(tc.in)
			if tc.kinds != "" {
				if got := kinds(block); got != tc.kinds {
					t.Errorf("kinds: got %q, want %q", got, tc.kinds)
				}
			}
			want := block[:min(len(block), MaxBytes)]
			for name, r := range map[string]func() ([]byte, error){
				"Read":                  func() ([]byte, error) { return Read(bytes.NewReader(in)) },
				"Read, one byte a time": func() ([]byte, error) { return Read(iotest.OneByteReader(bytes.NewReader(in))) },
				"Collector":             func() ([]byte, error) { var c Collector; c.Write(in); return c.Bytes(), nil },
				"Collector, byte by byte": func() ([]byte, error) {
					var c Collector
					for i := range in {
						c.Write(in[i : i+1])
					}
					return c.Bytes(), nil
				},
			} {
				if len(in) > 4096 && strings.Contains(name, "byte") {
					continue
				}
				if got, err := r(); err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: got %q (%d bytes), %v; want %q (%d bytes)", name, excerpt(got), len(got), err, excerpt(want), len(want))
				}
			}

			h := Parse(in)
			clear(in) // Parse keeps its own copy
			if h.Len() != tc.fields || h.Skipped() != tc.skipped {
				t.Errorf("Len, Skipped: got %d, %d; want %d, %d", h.Len(), h.Skipped(), tc.fields, tc.skipped)
			}
			for name, v := range tc.get {
				if got := h.Get(name); got != v || !h.Has(name) {
					t.Errorf("Get(%q): got %q (Has %v), want %q", name, excerpt([]byte(got)), h.Has(name), excerpt([]byte(v)))
				}
			}
			if h.Has("X-Absent") || h.Get("X-Absent") != "" {
				t.Errorf("X-Absent: got Has %v, Get %q; want false, \"\"", h.Has("X-Absent"), h.Get("X-Absent"))
			}
			if got := h.Subject(); got != tc.subject {
				t.Errorf("Subject: got %q, want %q", got, tc.subject)
			}
			if got := h.MessageID(); got != tc.msgID {
				t.Errorf("MessageID: got %q, want %q", got, tc.msgID)
			}
			d, err := h.Date()
			switch {
			case tc.date == "" && err == nil:
				t.Errorf("Date: got %s, want an error", d.Format(dateLayout))
			case tc.date != "" && err != nil:
				t.Errorf("Date: got %v, want %s", err, tc.date)
			case tc.date != "" && d.Format(dateLayout) != tc.date:
				t.Errorf("Date: got %s, want %s", d.Format(dateLayout), tc.date)
			}
			m := h.Mail()
			if m.Header.Len() != tc.fields {
				t.Errorf("Mail: got %d fields, want %d", m.Header.Len(), tc.fields)
			}
			for name := range tc.get {
				if want := !slices.Contains(tc.mailMisses, name); m.Has(name) != want {
					t.Errorf("Mail().Has(%q): got %v, want %v", name, m.Has(name), want)
				}
			}
			if tc.to != nil {
				addrs, err := m.AddressList("To")
				var got []string
				for _, a := range addrs {
					got = append(got, a.Address)
				}
				if err != nil || strings.Join(got, " ") != strings.Join(tc.to, " ") {
					t.Errorf("Mail().AddressList(To): got %q, %v; want %q", got, err, tc.to)
				}
			}
		})
	}
}

// checkEndResumes checks that End finds end in in when fed every prefix of
// in, resuming at the next it returned, and that it finds nothing sooner.
func checkEndResumes(t *testing.T, in []byte, end int) {
	t.Helper()
	if len(in) > 4096 {
		in = in[:4096]
		end = -1
	}
	from := 0
	for k := 0; k <= len(in); k++ {
		e, next := End(in[:k], from)
		want := -1
		if end >= 0 && k >= end {
			want = end
		}
		if e != want {
			t.Fatalf("End(first %d bytes, %d): got %d, want %d", k, from, e, want)
		}
		if e >= 0 {
			return
		}
		if next < from || next > k || (next > 0 && in[next-1] != '\n') {
			t.Fatalf("End(first %d bytes, %d): next %d is not the start of a line after %d", k, from, next, from)
		}
		from = next
	}
}

// kinds returns the kinds of the lines of block as TestHeader writes them.
func kinds(block []byte) string {
	var b strings.Builder
	for line := range bytes.Lines(block) {
		line = TrimEOL(line)
		k := Kind(line)
		c := k.String()[0]
		if name, _, _ := bytes.Cut(line, []byte(":")); k == Field && !ValidName(name) {
			c = 'f'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// excerpt shortens b for a failure message.
func excerpt(b []byte) string {
	if len(b) > 80 {
		return string(b[:40]) + "…" + string(b[len(b)-40:])
	}
	return string(b)
}
