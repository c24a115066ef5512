package mimeparts

import (
	"strings"
	"testing"

	"mailfs/internal/mimeparts/mimepartstest"
)

// nestedMessage is a multipart/mixed message holding a text part, a
// multipart/alternative and an attached message that is itself multipart.
const nestedMessage = "From: a@example.org\r\n" +
	"Subject: nested\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"preamble\r\n" +
	"--outer\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"one\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=alt\r\n" +
	"\r\n" +
	"--alt\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"two=3Done\r\n" +
	"--alt\r\n" +
	"Content-Type: text/html\r\n" +
	"\r\n" +
	"<p>two</p>\r\n" +
	"--alt--\r\n" +
	"--outer\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"Subject: inner\r\n" +
	"Content-Type: multipart/mixed; boundary=in\r\n" +
	"\r\n" +
	"--in\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"three\r\n" +
	"--in\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERg==\r\n" +
	"--in--\r\n" +
	"--outer--\r\n"

func TestExtract(t *testing.T) {
	inner := "Subject: inner\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n" +
		"Content-Type: text/plain\r\n\r\nthree\r\n--in\r\nContent-Type: application/pdf\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--in--"
	for _, tt := range []struct {
		msg, section, want string
		wantErr            bool
	}{
		{nestedMessage, "HEADER", "From: a@example.org\r\nSubject: nested\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n", false},
		{nestedMessage, "1", "one", false},
		{nestedMessage, "2.1", "two=3Done", false},
		{nestedMessage, "2.2", "<p>two</p>", false},
		{nestedMessage, "3", inner, false},
		{nestedMessage, "3.1", "three", false},
		{nestedMessage, "3.2", "JVBERg==", false},
		{nestedMessage, "3.HEADER", "Subject: inner\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n", false},
		{nestedMessage, "3.TEXT", inner[strings.Index(inner, "--in"):], false},
		{nestedMessage, "TEXT", nestedMessage[strings.Index(nestedMessage, "preamble"):], false},
		{nestedMessage, "", nestedMessage, false},
		// Sections the message does not have are empty, as Dovecot has
		// them; sections that are not sections are errors.
		{nestedMessage, "4", "", false},
		{nestedMessage, "1.1", "", false},
		{nestedMessage, "3.2.1", "", false},
		{nestedMessage, "1.HEADER", "", false},
		{nestedMessage, "x", "", true},
		{nestedMessage, "0", "", true},
		{nestedMessage, "1..2", "", true},
		{"Subject: plain\r\n\r\nbody\r\nlines\r\n", "1", "body\r\nlines\r\n", false},
		{"Subject: plain\r\n\r\nbody\r\n", "2", "", false},
		{"Subject: fwd\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n", "1.1", "x\r\n", false},
		// Lenient where Parse is, and the same: an unterminated multipart
		// gives what there is (but the line end a boundary could follow),
		// a part whose header does not parse ends the parts, and a
		// multipart without a boundary has an empty part 1.
		{"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ncut short\r\n", "1", "cut short", false},
		{"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nno colon here\r\n\r\n<p>\r\n--b--\r\n", "2", "", false},
		{"Content-Type: multipart/mixed\r\n\r\nno parts\r\n", "1", "", false},
		// The parts of a digest are messages.
		{"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n--d--\r\n", "1.1", "first", false},
	} {
		var b strings.Builder
		err := Extract(strings.NewReader(tt.msg), tt.section, &b)
		if (err != nil) != tt.wantErr || (!tt.wantErr && b.String() != tt.want) {
			t.Errorf("Extract(%q) = %q, %v; want %q (error %v)", tt.section, b.String(), err, tt.want, tt.wantErr)
		}
		// Where Parse has the section as a leaf, its Size is what
		// Extract gives.
		root, err := Parse(strings.NewReader(tt.msg))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range mimepartstest.Leaves(root) {
			if p.Section == tt.section && p.Size != int64(b.Len()) {
				t.Errorf("Extract(%q) gives %d bytes, Parse says %d", tt.section, b.Len(), p.Size)
			}
		}
	}
}
