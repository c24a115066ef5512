package mimeparts_test

import (
	"bytes"
	"reflect"
	"testing"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

// TestFieldsPart checks the rules that make a part of the fields a
// server's BODYSTRUCTURE gives (go-imap's view: parameter names in any
// case, RFC 2047 already decoded, RFC 2231 values as Dovecot merges
// them).
func TestFieldsPart(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    mimeparts.Fields
		want remote.Part
	}{
		{"case and defaults",
			mimeparts.Fields{Type: "TEXT", Subtype: "Plain", Params: map[string]string{"Name": "A.TXT"}},
			remote.Part{Section: "1", Type: "text", Subtype: "plain", Encoding: "7bit", Size: 5,
				Params: map[string]string{"name": "A.TXT", "charset": "us-ascii"}, Filename: "A.TXT"}},
		{"charset kept, in any case",
			mimeparts.Fields{Type: "text", Subtype: "html", Params: map[string]string{"CHARSET": "UTF-8"}, Encoding: "Quoted-Printable"},
			remote.Part{Section: "1", Type: "text", Subtype: "html", Encoding: "quoted-printable", Size: 5,
				Params: map[string]string{"charset": "UTF-8"}}},
		{"RFC 2231 as Dovecot sends it",
			mimeparts.Fields{Type: "application", Subtype: "pdf",
				Params:      map[string]string{"name*": "UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C.pdf"},
				Disposition: "Attachment", DispositionParams: map[string]string{"FILENAME*": "utf-8'ko'%EB%B3%B4.pdf"}},
			remote.Part{Section: "1", Type: "application", Subtype: "pdf", Encoding: "7bit", Size: 5,
				Params: map[string]string{"name": "보고서.pdf"}, Disposition: "attachment", Filename: "보.pdf"}},
		{"extended value wins, continuations merged, NUL kept",
			mimeparts.Fields{Type: "application", Subtype: "x",
				DispositionParams: map[string]string{"filename": "plain", "filename*0*": "UTF-8''a%00", "filename*1": "b c"}},
			remote.Part{Section: "1", Type: "application", Subtype: "x", Encoding: "7bit", Size: 5,
				Filename: "a\x00b c"}},
		{"RFC 2047 inside RFC 2231",
			mimeparts.Fields{Type: "image", Subtype: "png", Params: map[string]string{"name*": "UTF-8''%3D%3Futf-8%3Fq%3Fa%3DC3%3DA9%3F%3D"}},
			remote.Part{Section: "1", Type: "image", Subtype: "png", Encoding: "7bit", Size: 5,
				Params: map[string]string{"name": "aé"}, Filename: "aé"}},
		// mime.ParseMediaType knows UTF-8 and US-ASCII only: a name in
		// another charset is lost, here as in Parse.
		{"RFC 2231 in ISO-8859-1 is dropped",
			mimeparts.Fields{Type: "image", Subtype: "png", DispositionParams: map[string]string{"filename*": "iso-8859-1''%C4rger.png"}},
			remote.Part{Section: "1", Type: "image", Subtype: "png", Encoding: "7bit", Size: 5}},
		{"a value that cannot be RFC 2231 is dropped",
			mimeparts.Fields{Type: "image", Subtype: "png", Params: map[string]string{"name*": "a\r\nb", "x": "y"}},
			remote.Part{Section: "1", Type: "image", Subtype: "png", Encoding: "7bit", Size: 5, Params: map[string]string{"x": "y"}}},
		{"filename from the disposition first",
			mimeparts.Fields{Type: "image", Subtype: "png", Params: map[string]string{"name": "n.png"},
				Disposition: "inline", DispositionParams: map[string]string{"filename": "f.png"}},
			remote.Part{Section: "1", Type: "image", Subtype: "png", Encoding: "7bit", Size: 5,
				Params: map[string]string{"name": "n.png"}, Disposition: "inline", Filename: "f.png"}},
		{"multipart: no encoding, no size",
			mimeparts.Fields{Type: "Multipart", Subtype: "MIXED", Encoding: "base64", Params: map[string]string{"Boundary": "B"}},
			remote.Part{Section: "1", Type: "multipart", Subtype: "mixed", Params: map[string]string{"boundary": "B"}}},
		{"empty parameters are nil",
			mimeparts.Fields{Type: "application", Subtype: "pdf", Params: map[string]string{}, DispositionParams: map[string]string{}},
			remote.Part{Section: "1", Type: "application", Subtype: "pdf", Encoding: "7bit", Size: 5}},
	} {
		if got := tt.f.Part("1", 5); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

// TestParseOdd parses messages that bend the rules, with the structure
// Dovecot 2.3 gives them where go-message's multipart reader agrees, and
// says so where it does not.
func TestParseOdd(t *testing.T) {
	for _, tt := range []struct {
		name, msg, want string
	}{
		{"no boundary: one empty text part",
			"Content-Type: multipart/mixed\n\nhello\n--x\n\nhi\n--x--\n",
			`""       multipart/mixed enc="" size=0 disp="" filename="" params=` + "\n" +
				`"1"      text/plain enc="7bit" size=0 disp="" filename="" params=charset="us-ascii"` + "\n"},
		{"boundary never found",
			"Content-Type: multipart/mixed; boundary=zz\n\nhello\n--x\n",
			`""       multipart/mixed enc="" size=0 disp="" filename="" params=boundary="zz"` + "\n" +
				`"1"      text/plain enc="7bit" size=0 disp="" filename="" params=charset="us-ascii"` + "\n"},
		// Read as a message all the same, as Dovecot does; the header
		// runs to the end. (Dovecot counts the part 26 bytes: the line
		// break before the boundary too, when the enclosed header has no
		// end.)
		{"message/rfc822 in base64",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nRnJvbTogYUBiCgpib2R5Cg==\n--b--\n",
			`""       multipart/mixed enc="" size=0 disp="" filename="" params=boundary="b"` + "\n" +
				`"1"      message/rfc822 enc="base64" size=24 disp="" filename="" params=` + "\n" +
				`"1.1"    text/plain enc="7bit" size=0 disp="" filename="" params=charset="us-ascii"` + "\n"},
		{"an empty message/rfc822",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n--b--\n",
			`""       multipart/mixed enc="" size=0 disp="" filename="" params=boundary="b"` + "\n" +
				`"1"      message/rfc822 enc="7bit" size=0 disp="" filename="" params=` + "\n" +
				`"1.1"    text/plain enc="7bit" size=0 disp="" filename="" params=charset="us-ascii"` + "\n"},
		{"message/global is a leaf",
			"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/global\n\nSubject: g\n\nx\n--b--\n",
			`""       multipart/mixed enc="" size=0 disp="" filename="" params=boundary="b"` + "\n" +
				`"1"      message/global enc="7bit" size=15 disp="" filename="" params=` + "\n"},
		{"type without subtype", "Content-Type: text\n\nbody\n",
			`"1"      text/ enc="7bit" size=6 disp="" filename="" params=charset="us-ascii"` + "\n"},
		{"empty Content-Type", "Content-Type:\n\nx\n",
			`"1"      / enc="7bit" size=3 disp="" filename="" params=` + "\n"},
		{"the first Content-Type counts", "Content-Type: text/html\nContent-Type: image/png\n\nx\n",
			`"1"      text/html enc="7bit" size=3 disp="" filename="" params=charset="us-ascii"` + "\n"},
		// mime.ParseMediaType drops every parameter (Dovecot keeps
		// name="a").
		{"a bad parameter loses the parameters, not the type",
			"Content-Type: application/pdf; name=a b.pdf; x\n\nx\n",
			`"1"      application/pdf enc="7bit" size=3 disp="" filename="" params=` + "\n"},
		// mime.ParseMediaType does not take comments (Dovecot does:
		// charset=iso-8859-1).
		{"a comment after the type",
			"Content-Type: text/plain (comment); charset=\"iso-8859-1\"\n\nx\n",
			`"1"      text/plain enc="7bit" size=3 disp="" filename="" params=charset="us-ascii"` + "\n"},
		// go-message's multipart reader drops the last part's final line
		// break when the closing boundary is missing (Dovecot counts it:
		// 5).
		{"missing final boundary", "Content-Type: multipart/mixed; boundary=b\n\npre\n--b\n\none\n--b\nContent-Type: text/html\n\ntwo\n",
			`""       multipart/mixed enc="" size=0 disp="" filename="" params=boundary="b"` + "\n" +
				`"1"      text/plain enc="7bit" size=3 disp="" filename="" params=charset="us-ascii"` + "\n" +
				`"2"      text/html enc="7bit" size=3 disp="" filename="" params=charset="us-ascii"` + "\n"},
		{"upper case everywhere",
			"Content-Type: TEXT/PLAIN; CHARSET=UTF-8; Name=\"A.TXT\"\nContent-Disposition: ATTACHMENT; FILENAME=\"B.TXT\"\nContent-Transfer-Encoding: Quoted-Printable\n\nx\n",
			`"1"      text/plain enc="quoted-printable" size=3 disp="attachment" filename="B.TXT" params=charset="UTF-8",name="A.TXT"` + "\n"},
		{"RFC 2231 in ISO-8859-1 is dropped",
			"Content-Type: image/png\nContent-Disposition: attachment; filename*=iso-8859-1''%C4rger.png\n\nx\n",
			`"1"      image/png enc="7bit" size=3 disp="attachment" filename="" params=` + "\n"},
		{"empty", "", `"1"      text/plain enc="7bit" size=0 disp="" filename="" params=charset="us-ascii"` + "\n"},
		{"header only", "Subject: x\n", `"1"      text/plain enc="7bit" size=0 disp="" filename="" params=charset="us-ascii"` + "\n"},
	} {
		root, err := mimeparts.Parse(bytes.NewReader([]byte(tt.msg)))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := render(root); got != tt.want {
			t.Errorf("%s:\ngot\n%swant\n%s", tt.name, got, tt.want)
		}
	}
}
