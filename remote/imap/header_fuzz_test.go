package imap

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzListingHeader checks the listing's header parsing (the header block
// of BODY.PEEK[HEADER.FIELDS (SUBJECT MESSAGE-ID)], then the subject's
// encoded words, then cleanSubject): it never panics, the subject is one
// line of valid UTF-8, and the Message-ID has no line feed.
func FuzzListingHeader(f *testing.F) {
	for _, s := range []string{
		"Subject: Hello\r\nMessage-ID: <a@b>\r\n\r\n",
		"Subject: =?UTF-8?B?7JWI64WV?=\r\n =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n\r\n",
		"subject:\tcaf\xe9\nmessage-id: <<x>\n\n",
		"Message-ID: no brackets\r\nSubject: first\r\nSubject: second\r\n",
		" leading continuation\r\n\tmore\r\n",
		"Subject: =?x-unknown?Q?abc?= =?EUC-KR?B?vsiz5w==?= =?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=\r\n\r\n",
		"Subject: =?UTF-8?Q?a=0D=0Ab=09c?=\r\n\r\n",
		"no colon\r\n:\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	s := New(nil)
	f.Fuzz(func(t *testing.T, h []byte) {
		subject, msgID := parseHeaderFields(h)
		subject = cleanSubject(s.decodeWords(subject))
		if !utf8.ValidString(subject) {
			t.Fatalf("subject of %q: got %q, not valid UTF-8", h, subject)
		}
		if strings.ContainsAny(subject, "\r\n") {
			t.Fatalf("subject of %q: got %q, with a line break", h, subject)
		}
		// A bare CR inside a line is the server's byte and stays; a
		// line feed always ends a field.
		if strings.Contains(msgID, "\n") {
			t.Fatalf("Message-ID of %q: got %q, with a line feed", h, msgID)
		}
	})
}
