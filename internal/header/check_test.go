package header

import (
	"bytes"
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, hb string
		ok       bool
	}{
		{"minimal", "Subject: hi\r\n\r\n", true},
		{"LF and no blank line", "From: a@example.org\nTo: b@example.org\n", true},
		{"folded", "Subject: a\r\n\tlong one\r\nTo: b@example.org\r\n\r\n", true},
		{"obsolete space before colon", "Subject : hi\r\n\r\n", true},
		{"Message-ID only", "Message-Id: <x@y>\r\n\r\n", true},
		{"words", "just some words\n", false},
		{"empty", "", false},
		{"blank first", "\r\nSubject: hi\r\n", false},
		{"indented first", " Subject: hi\r\n\r\n", false},
		{"junk line", "Subject: hi\r\nnot a field\r\n\r\n", false},
		{"bad name", "Sub ject: hi\r\n\r\n", false},
		{"empty name", ": hi\r\n\r\n", false},
		{"NUL", "Subject: h\x00i\r\n\r\n", false},
		{"no identifying field", "X-Mailer: me\r\nMIME-Version: 1.0\r\n\r\n", false},
	}
	for _, tt := range tests {
		err := Check([]byte(tt.hb))
		if tt.ok && err != nil {
			t.Errorf("%s: Check(%q) = %v, want nil", tt.name, tt.hb, err)
		}
		if !tt.ok && !errors.Is(err, ErrNotMessage) {
			t.Errorf("%s: Check(%q) = %v, want an error wrapping ErrNotMessage", tt.name, tt.hb, err)
		}
	}
}

// FuzzCheck checks the test that decides whether a file copied into a
// folder is a message: it never panics, refuses with ErrNotMessage, and
// never accepts a header holding a NUL, a line that is not a field, or one
// without any of the identifying fields.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"Subject: hi\r\n\r\nbody", "From: a@b\nTo: c@d\n\nx", "x", "", ": v\r\n\r\n",
		"Subject: a\x00b\r\n\r\n", " Subject: x\r\n", "X-A: 1\r\n\r\n", "Subject : x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		hb, _ := Read(bytes.NewReader(msg))
		err := Check(hb)
		if err != nil {
			if !errors.Is(err, ErrNotMessage) {
				t.Fatalf("Check(%q): got %v, want an error wrapping ErrNotMessage", hb, err)
			}
			return
		}
		if bytes.IndexByte(hb, 0) >= 0 {
			t.Fatalf("Check(%q): accepted a header with a NUL", hb)
		}
		h := Parse(hb)
		if h.Skipped() > 0 || h.Len() == 0 {
			t.Fatalf("Check(%q): accepted a header with %d fields and %d skipped lines", hb, h.Len(), h.Skipped())
		}
		for _, k := range identifying {
			if h.Has(k) {
				return
			}
		}
		t.Fatalf("Check(%q): accepted a header without %v", hb, identifying)
	})
}
