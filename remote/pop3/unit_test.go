package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// stuff is a reference dot-stuffer: the answer a server sends for msg.
func stuff(msg []byte) []byte {
	var b bytes.Buffer
	lineStart := true
	for _, c := range msg {
		if lineStart && c == '.' {
			b.WriteByte('.')
		}
		b.WriteByte(c)
		lineStart = c == '\n'
	}
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// unstuff runs copyDotBody over wire with a tiny buffer and reads one byte
// at a time, so that every chunk boundary falls everywhere.
func unstuff(t *testing.T, wire []byte, bufLen int, listed int64) ([]byte, []byte) {
	t.Helper()
	r := bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(wire)), bufLen)
	var out bytes.Buffer
	tw := &tailWriter{w: &out}
	got, err := copyDotBody(tw, r)
	if err != nil {
		t.Fatalf("copyDotBody(%q): %v", wire, err)
	}
	if err := tw.finish(endsWithAddedCRLF(got, listed)); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	return out.Bytes(), rest
}

func TestCopyDotBodyBoundaries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{'.', '.', '\r', '\n', '\n', 'a', 0}
	for i := range 2000 {
		msg := make([]byte, rng.IntN(80))
		for j := range msg {
			msg[j] = alphabet[rng.IntN(len(alphabet))]
		}
		wire := append(stuff(msg), "+OK next"...)
		got, rest := unstuff(t, wire, 16+i%24, int64(len(msg)))
		if !bytes.Equal(got, msg) {
			t.Fatalf("message %q: got %q", msg, got)
		}
		if string(rest) != "+OK next" {
			t.Fatalf("message %q: left %q unread, want the next reply", msg, rest)
		}
	}
}

func FuzzCopyDotBody(f *testing.F) {
	for _, s := range []string{"", ".", "..", ".\r\n", "a\r\n.\r\n", "a\n.\n", "\r", "\x00.\r\n.", strings.Repeat(".", 40)} {
		f.Add([]byte(s), 16)
	}
	f.Fuzz(func(t *testing.T, msg []byte, bufLen int) {
		bufLen = 16 + (bufLen&0xff)%48
		got, rest := unstuff(t, append(stuff(msg), 'X'), bufLen, int64(len(msg)))
		if !bytes.Equal(got, msg) || string(rest) != "X" {
			t.Fatalf("message %q: got %q, rest %q", msg, got, rest)
		}
	})
}

func TestCopyDotBodyKeepsTrailingCRLFWhenListed(t *testing.T) {
	// "X\r\n" listed as 3 bytes: the CRLF belongs to the message.
	got, _ := unstuff(t, []byte("X\r\n.\r\n"), 16, 3)
	if string(got) != "X\r\n" {
		t.Fatalf("got %q, want %q", got, "X\r\n")
	}
	// Listed as 1 byte: the server added it.
	got, _ = unstuff(t, []byte("X\r\n.\r\n"), 16, 1)
	if string(got) != "X" {
		t.Fatalf("got %q, want %q", got, "X")
	}
	// A size that fits neither keeps every byte.
	got, _ = unstuff(t, []byte("X\r\n.\r\n"), 16, 40)
	if string(got) != "X\r\n" {
		t.Fatalf("got %q, want %q", got, "X\r\n")
	}
}

func TestCopyDotBodyTruncated(t *testing.T) {
	for _, wire := range []string{"", "abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "..x"} {
		r := bufio.NewReaderSize(strings.NewReader(wire), 16)
		_, err := copyDotBody(io.Discard, r)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("copyDotBody(%q): got %v, want io.ErrUnexpectedEOF", wire, err)
		}
	}
}

func TestCopyDotBodyWriteError(t *testing.T) {
	boom := errors.New("disk full")
	r := bufio.NewReaderSize(strings.NewReader("abc\r\n.\r\n"), 16)
	_, err := copyDotBody(failWriter{boom}, r)
	var we *writeError
	if !errors.As(err, &we) || !errors.Is(err, boom) {
		t.Fatalf("got %v, want a writeError wrapping %v", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestTailWriterSmallWrites(t *testing.T) {
	var out bytes.Buffer
	tw := &tailWriter{w: &out}
	for _, b := range []byte("hello\r\n") {
		tw.Write([]byte{b})
	}
	if out.String() != "hello" {
		t.Fatalf("written before finish: got %q, want %q", out.String(), "hello")
	}
	tw.finish(false)
	if out.String() != "hello\r\n" || tw.n != 7 {
		t.Fatalf("got %q (n=%d), want %q (7)", out.String(), tw.n, "hello\r\n")
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		line     string
		text     string
		kind     string // "", "server", "protocol"
		respCode string
	}{
		{"+OK", "", "", ""},
		{"+OK 2 320", "2 320", "", ""},
		{"-ERR", "", "server", ""},
		{"-ERR no such message", "", "server", ""},
		{"-ERR [IN-USE] locked", "", "server", "IN-USE"},
		{"-ERR [sys/temp] try later", "", "server", "SYS/TEMP"},
		{"+OKAY", "", "protocol", ""},
		{"* OK imap", "", "protocol", ""},
		{"", "", "protocol", ""},
	} {
		text, err := parseStatus([]byte(tc.line))
		var se *serverError
		var pe *protocolError
		kind := ""
		switch {
		case errors.As(err, &se):
			kind = "server"
			if se.code() != tc.respCode {
				t.Errorf("%q: code %q, want %q", tc.line, se.code(), tc.respCode)
			}
		case errors.As(err, &pe):
			kind = "protocol"
		case err != nil:
			kind = "other"
		}
		if text != tc.text || kind != tc.kind {
			t.Errorf("parseStatus(%q) = %q, %s; want %q, %q", tc.line, text, kind, tc.text, tc.kind)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		text string
		ok   bool
	}{
		{"2 320", true}, {"2 320 extra words", true}, {"  2  320", true},
		{"", false}, {"2", false}, {"two 3", false}, {"-1 4", false}, {"2 99999999999999999999", false},
	} {
		_, err := numbers(tc.text, 2)
		if (err == nil) != tc.ok {
			t.Errorf("numbers(%q): err %v, want ok=%v", tc.text, err, tc.ok)
		}
	}
}

func TestParseUIDL(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
		uid  string
		ok   bool
	}{
		{"1 whqtswO00WBw418f9t5JxYwZ", 1, "whqtswO00WBw418f9t5JxYwZ", true},
		{"12 000000010000001a", 12, "000000010000001a", true},
		{"3\tabc", 3, "abc", true},
		{"1", 0, "", false},
		{"1 a b", 0, "", false},
		{"0 a", 0, "", false},
		{"x a", 0, "", false},
		{"1 caf\xc3\xa9", 0, "", false},
	} {
		n, uid, err := parseUIDL([]byte(tc.line))
		if (err == nil) != tc.ok || n != tc.n || uid != tc.uid {
			t.Errorf("parseUIDL(%q) = %d, %q, %v; want %d, %q, ok=%v", tc.line, n, uid, err, tc.n, tc.uid, tc.ok)
		}
	}
}

func TestCapLine(t *testing.T) {
	caps := []string{"TOP", "SASL PLAIN XOAUTH2", "STLS"}
	for _, tc := range []struct {
		name string
		args []string
		want bool
	}{
		{"top", nil, true}, {"SASL", []string{"plain"}, true}, {"SASL", []string{"LOGIN"}, false},
		{"UIDL", nil, false}, {"stls", nil, true},
	} {
		if got := capLine(caps, tc.name, tc.args...); got != tc.want {
			t.Errorf("capLine(%q, %q) = %v, want %v", tc.name, tc.args, got, tc.want)
		}
	}
}
