package mimeparts_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
	"testing/iotest"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

func decodeString(t *testing.T, p remote.Part, body string) string {
	t.Helper()
	// One byte at a time: the decoders must not depend on how reads
	// split their input.
	got, err := io.ReadAll(mimeparts.Decode(p, iotest.OneByteReader(strings.NewReader(body))))
	if err != nil {
		t.Fatalf("Decode(%q): %v", body, err)
	}
	whole, err := io.ReadAll(mimeparts.Decode(p, strings.NewReader(body)))
	if err != nil || !bytes.Equal(whole, got) {
		t.Fatalf("Decode(%q) read at once = %q, %v; byte by byte %q", body, whole, err, got)
	}
	return string(got)
}

func TestDecode(t *testing.T) {
	b64 := remote.Part{Type: "application", Subtype: "octet-stream", Encoding: "base64"}
	qp := remote.Part{Type: "application", Subtype: "octet-stream", Encoding: "quoted-printable"}
	latin1 := remote.Part{Type: "text", Subtype: "plain", Encoding: "quoted-printable", Params: map[string]string{"charset": "ISO-8859-1"}}
	for _, tt := range []struct {
		name string
		p    remote.Part
		in   string
		want string
	}{
		{"base64", b64, "SGVsbG8sIHdvcmxkIQ==\r\n", "Hello, world!"},
		{"base64 lines", b64, "SGVs\r\nbG8s\nIHdv cmxk\tIQ==", "Hello, world!"},
		{"base64 upper-case encoding", remote.Part{Encoding: "BASE64"}, "SGk=", "Hi"},
		{"base64 without padding", b64, "SGVsbG8", "Hello"},
		{"base64 garbage skipped", b64, "SG!V*s\x00bG8=", "Hello"},
		{"base64 after padding", b64, "SGVsbG8=SGk=", "HelloHi"},
		{"base64 one character left", b64, "SGk=Q", "Hi"},
		{"base64 empty", b64, "", ""},
		{"base64 only padding", b64, "====", ""},
		{"qp", qp, "a=3Db=3db\r\n", "a=b=b\r\n"},
		{"qp soft breaks", qp, "abc=\r\ndef=\nghi= \t\r\njkl", "abcdefghijkl"},
		{"qp trailing white space", qp, "abc  \t\r\ndef \n", "abc\r\ndef\n"},
		{"qp stray equals", qp, "a=ZZ b=4 c", "a=ZZ b=4 c"},
		{"qp equals at the end", qp, "abc=", "abc"},
		{"qp control characters", qp, "a\x0cb\x00c\x1b", "a\x0cb\x00c\x1b"},
		{"qp 8-bit bytes", qp, "caf\xe9", "caf\xe9"},
		{"qp lone CR kept", qp, "a\rb\r\n", "a\rb\r\n"},
		{"7bit as it is", remote.Part{Encoding: "7bit"}, "a=3D\r\n", "a=3D\r\n"},
		{"unknown encoding as it is", remote.Part{Encoding: "x-uuencode"}, "begin 644", "begin 644"},
		{"latin-1 text to UTF-8", latin1, "Gr=FC=DFe", "Grüße"},
		{"charset name case", remote.Part{Type: "TEXT", Params: map[string]string{"charset": "Windows-1252"}}, "\x93\x80\x94", "“€”"},
		{"unknown charset as it is", remote.Part{Type: "text", Params: map[string]string{"charset": "x-nope"}}, "caf\xe9", "caf\xe9"},
		{"invalid UTF-8 kept", remote.Part{Type: "text", Params: map[string]string{"charset": "UTF-8"}}, "caf\xe9", "caf\xe9"},
		{"no charset conversion outside text", remote.Part{Type: "application", Subtype: "json", Params: map[string]string{"charset": "iso-8859-1"}}, "\xe9", "\xe9"},
		{"koi8-r", remote.Part{Type: "text", Params: map[string]string{"charset": "koi8-r"}}, "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
	} {
		if got := decodeString(t, tt.p, tt.in); got != tt.want {
			t.Errorf("%s: Decode(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestDecodeLongLines decodes quoted-printable lines longer than any
// buffer, with escapes and a soft break across the pieces' ends.
func TestDecodeLongLines(t *testing.T) {
	qp := remote.Part{Encoding: "quoted-printable"}
	for _, n := range []int{30000, 65535, 65536, 100001} {
		in := strings.Repeat("=C3=A9", n/6) + strings.Repeat("x", n%6) + "  =\r\nend  \r\n"
		want := strings.Repeat("é", n/6) + strings.Repeat("x", n%6) + "  end\r\n"
		if got := decodeString(t, qp, in); got != want {
			t.Errorf("line of %d bytes: got %d bytes (%q…), want %d", len(in), len(got), got[:min(len(got), 40)], len(want))
		}
	}
}

// FuzzDecodeBase64 checks Decode's base64 against go-message's (the
// standard decoder over spaces and tabs made line breaks): equal output
// wherever go-message succeeds, and never a failure.
func FuzzDecodeBase64(f *testing.F) {
	for _, s := range []string{"SGVsbG8=", "SGVs\r\nbG8=\r\n", "SGk", "S G k =", "QQ==QQ==", "====", "\x00\xff"} {
		f.Add([]byte(s))
	}
	p := remote.Part{Encoding: "base64"}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := io.ReadAll(mimeparts.Decode(p, bytes.NewReader(in)))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		spaced := bytes.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return '\n'
			}
			return r
		}, in)
		want, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(spaced)))
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("Decode(%q) = %q, want %q (encoding/base64)", in, got, want)
		}
	})
}

// FuzzDecodeQP checks Decode's quoted-printable against Go's
// mime/quotedprintable (go-message's): equal output wherever it succeeds,
// and never a failure.
func FuzzDecodeQP(f *testing.F) {
	for _, s := range []string{"a=3Db\r\n", "soft=\r\nbreak", "tr  \r\n", "=ZZ", "=", "a=\r\r\n", "\x0c=4", "= \r\n"} {
		f.Add([]byte(s))
	}
	p := remote.Part{Encoding: "quoted-printable"}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := io.ReadAll(mimeparts.Decode(p, bytes.NewReader(in)))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		want, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(in)))
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("Decode(%q) = %q, want %q (mime/quotedprintable)", in, got, want)
		}
	})
}
