package header

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzHeader checks the reading of a header block of any bytes: End finds
// the first blank line and resumes where it says; Read and Collector keep
// what End delimits; Parse never panics, keeps nothing beyond the block and
// reads every line once; Subject, MessageID and Text are single-line valid
// UTF-8 without control characters or doubled, leading or trailing white
// space; Date is an error or a year in 1000..9999.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"Subject: Hello\r\nMessage-ID: <a@b>\r\n\r\n",
		"Subject: =?UTF-8?B?7JWI64WV?=\r\n =?ISO-8859-1?Q?Gr=FC=DFe?=\r\n\r\n",
		"subject:\tcaf\xe9\nmessage-id: <<x>\n\n",
		"Message-ID: no brackets\r\nSubject: first\r\nSubject: second\r\n",
		" leading continuation\r\n\tmore\r\n",
		"Subject: =?x-unknown?Q?abc?= =?EUC-KR?B?vsiz5w==?= =?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=\r\n\r\n",
		"Subject: =?UTF-8?Q?a=0D=0Ab=09c?=\r\n\r\n",
		"no colon\r\n:\r\n",
		"Date: Mon, 31 Dec 9999 23:59:59 +9959\r\nDate: Tue, 1 Jan 0001 00:00:00 -9959\r\n\r\n",
		"Date: 1 Jan 99 00:00 PDT (comment)\n\n",
		"Subject: a\r\r\n\r\r\nTo: b\r\n\r\nbody",
		"\r\n\r\nbody only",
		"",
	} {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		end, next := End(in, 0)
		if end >= 0 {
			block := in[:end]
			if end != next || !bytes.HasSuffix(block, []byte("\n")) {
				t.Fatalf("End(%q): got %d, %d; want the end of a line, twice", in, end, next)
			}
			lines := bytes.SplitAfter(block, []byte("\n"))
			for i, l := range lines[:len(lines)-1] { // the last is empty
				blank := Kind(TrimEOL(l)) == Blank
				if blank != (i == len(lines)-2) {
					t.Fatalf("End(%q) = %d: line %d %q blank %v", in, end, i, l, blank)
				}
			}
		} else if next > len(in) || (next > 0 && in[next-1] != '\n') || bytes.IndexByte(in[next:], '\n') >= 0 {
			t.Fatalf("End(%q): got -1, %d; want the start of the last, incomplete line", in, next)
		}
		k := int(split) % (len(in) + 1)
		if e, n := End(in[:k], 0); e < 0 {
			if e2, _ := End(in, n); e2 != end {
				t.Fatalf("End(%q) resumed at %d after %d bytes: got %d, want %d", in, n, k, e2, end)
			}
		} else if e != end {
			t.Fatalf("End of the first %d bytes of %q: got %d, want %d", k, in, e, end)
		}
		want := in
		if end >= 0 {
			want = in[:end]
		}
		want = want[:min(len(want), MaxBytes)]
		var c Collector
		c.Write(in[:k])
		c.Write(in[k:])
		if !bytes.Equal(c.Bytes(), want) {
			t.Fatalf("Collector of %q in two writes: got %q, want %q", in, c.Bytes(), want)
		}
		if got, err := Read(bytes.NewReader(in)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Read(%q): got %q, %v; want %q", in, got, err, want)
		}

		h := Parse(in)
		if n := h.Len() + h.Skipped(); n > bytes.Count(want, []byte("\n"))+1 {
			t.Fatalf("Parse(%q): %d fields and %d skipped lines, more than its lines", in, h.Len(), h.Skipped())
		}
		text := map[string]string{"Subject": h.Subject(), "MessageID": h.MessageID(), "Text": Text(string(in))}
		for _, name := range []string{"From", "To", "Subject"} {
			text["Text(Get("+name+"))"] = Text(h.Get(name))
		}
		for what, v := range text {
			if !utf8.ValidString(v) {
				t.Fatalf("%s of %q: got %q, not valid UTF-8", what, in, v)
			}
			if strings.IndexFunc(v, unicode.IsControl) >= 0 {
				t.Fatalf("%s of %q: got %q, with a control character", what, in, v)
			}
			if strings.Join(strings.Fields(v), " ") != v {
				t.Fatalf("%s of %q: got %q, with white space other than single spaces inside", what, in, v)
			}
		}
		if d, err := h.Date(); err == nil && (d.Year() < 1000 || d.Year() > 9999) {
			t.Fatalf("Date of %q: got %v, want an error or a year in 1000..9999", in, d)
		}
		if m := h.Mail(); m.Header.Len() != h.Len() {
			t.Fatalf("Mail of %q: got %d fields, want %d", in, m.Header.Len(), h.Len())
		}
	})
}
