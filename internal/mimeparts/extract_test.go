package mimeparts

import (
	"strings"
	"testing"
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
		{nestedMessage, "4", "", true},
		{nestedMessage, "1.1", "", true},
		{nestedMessage, "3.2.1", "", true},
		{nestedMessage, "x", "", true},
		{nestedMessage, "0", "", true},
		{"Subject: plain\r\n\r\nbody\r\nlines\r\n", "1", "body\r\nlines\r\n", false},
		{"Subject: plain\r\n\r\nbody\r\n", "2", "", true},
		{"Subject: fwd\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n", "1.1", "x\r\n", false},
	} {
		var b strings.Builder
		err := Extract(strings.NewReader(tt.msg), tt.section, &b)
		if (err != nil) != tt.wantErr || (!tt.wantErr && b.String() != tt.want) {
			t.Errorf("Extract(%q) = %q, %v; want %q (error %v)", tt.section, b.String(), err, tt.want, tt.wantErr)
		}
	}
}
