package pop3store

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// headerSeeds are message starts for the header fuzz targets: well formed,
// encoded words, folding, bare LF, NUL, 8-bit bytes, no blank line.
var headerSeeds = []string{
	"From: a@example.org\r\nTo: b@example.org\r\nSubject: Hello\r\nDate: Fri, 20 Nov 2026 09:15:00 +0100\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n",
	"Subject: =?UTF-8?B?7JWI64WV?=\n =?ISO-8859-1?Q?Gr=FC=DFe?=\nDate: 1 Jan 99 00:00 GMT\n\nx",
	"Subject: caf\xe9 \x00 \x7f\r\nMessage-Id: no brackets\r\n\r\n",
	"Date: Mon, 31 Dec 9999 23:59:59 +9959\r\nDate: Tue, 1 Jan 0001 00:00:00 -9959\r\n\r\n",
	"no header at all",
	"\r\n\r\nbody only",
	" continuation first\r\nSubject: x\r\n\r\n",
	"Subject: =?x-unknown?Q?abc?= =?UTF-8?Q?=ZZ?=\r\n\r\n",
	"Message-ID: <<<>>>\r\nFrom: \"unterminated\r\n\r\n",
	"From:\r\nTo:\r\nSubject:\r\n\r\n",
	strings.Repeat("X-Long: "+strings.Repeat("a", 998)+"\r\n", 3) + "\r\n",
}

// FuzzParseMeta checks what a listing shows of a POP3 message's header:
// any input gives a result, never a panic; Subject and MessageID are valid
// UTF-8 without control characters; Date is zero or a year 1000–9999.
func FuzzParseMeta(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		m := parseMeta(bytes.NewReader(msg))
		for field, v := range map[string]string{"Subject": m.Subject, "MessageID": m.MessageID} {
			if !utf8.ValidString(v) {
				t.Fatalf("%s of %q: got %q, not valid UTF-8", field, msg, v)
			}
			if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
				t.Fatalf("%s of %q: got %q, with a control character", field, msg, v)
			}
		}
		if !m.Date.IsZero() && (m.Date.Year() < 1000 || m.Date.Year() > 9999) {
			t.Fatalf("Date of %q: got %v, want zero or a year 1000–9999", msg, m.Date)
		}
	})
}
