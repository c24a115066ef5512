package mimeparts_test

import (
	"strings"
	"testing"
	"testing/iotest"

	"mailfs/internal/mimeparts"
)

func TestHeaders(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"fields in order, names as written",
			"From: a@example.org\r\nMessage-ID: <x@y>\r\nMIME-Version: 1.0\r\n\r\nbody\r\n",
			"From: a@example.org\nMessage-ID: <x@y>\nMIME-Version: 1.0\n"},
		{"folding undone, words decoded",
			"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?ISO-8859-1?Q?_aus_K=F6ln?=\r\n\tand more\r\n\r\n",
			"Subject: Grüße aus Köln and more\n"},
		{"addresses decoded",
			"To: =?UTF-8?B?7JWI64WV?= <a@example.org>, \"B\" <b@example.org>\n\n",
			"To: 안녕 <a@example.org>, \"B\" <b@example.org>\n"},
		{"control characters and line breaks in words become spaces",
			"Subject: =?UTF-8?Q?a=0D=0Ab=1B[31mc?=\n\n",
			"Subject: a b [31mc\n"},
		{"empty value", "X-Empty:\r\nX-Space:   \r\n\r\n", "X-Empty:\nX-Space:\n"},
		{"lines without a colon left out", "From: a\r\nnot a field\r\n continued\r\nTo: b\r\n\r\n", "From: a\nTo: b\n"},
		{"header only, no blank line", "Subject: x\r\nTo: y", "Subject: x\nTo: y\n"},
		{"LF only, body not read", "Subject: x\n\nSubject: not a header\n", "Subject: x\n"},
		{"nothing", "", ""},
		{"unknown charset kept", "Subject: =?x-nope?Q?caf=E9?=\n\n", "Subject: =?x-nope?Q?caf=E9?=\n"},
		{"8-bit bytes read as Latin-1", "Subject: caf\xe9\n\n", "Subject: café\n"},
	} {
		got, err := mimeparts.Headers(iotest.HalfReader(strings.NewReader(tt.in)))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: Headers = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := mimeparts.Headers(iotest.ErrReader(iotest.ErrTimeout)); err == nil {
		t.Errorf("Headers of a failing reader: no error")
	}
}
