package mimeparts_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"mailfs/internal/mimeparts"
	"mailfs/internal/mimeparts/mimepartstest"
	"mailfs/remote"
)

// FuzzParse checks that Parse and Files never panic, that Parse fails
// only when its reader does, that sections are unique and numbered as
// the package doc says, that the files are parts of the structure, and
// that Extract cuts every leaf out of the message (with CRLF line ends,
// which Size counts) as long as its Size says: what the cache cuts out of
// a body is what the server would send.
func FuzzParse(f *testing.F) {
	for _, smp := range mimepartstest.Corpus(f) {
		f.Add(smp.Raw)
	}
	for _, s := range []string{
		"",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b--\n",
		"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: a\n\nb\n--d--\n",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\n--x--\n",
		"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		root, err := mimeparts.Parse(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		seen := map[string]bool{}
		var check func(p remote.Part, under string)
		check = func(p remote.Part, under string) {
			if seen[p.Section] {
				t.Fatalf("section %q twice:\n%s", p.Section, render(root))
			}
			seen[p.Section] = true
			if p.Size < 0 || (p.Type == "multipart" && (p.Size != 0 || p.Encoding != "")) {
				t.Fatalf("part %q: size %d, encoding %q", p.Section, p.Size, p.Encoding)
			}
			for i, c := range p.Parts {
				var want string
				switch {
				case p.Type == "multipart":
					want = strings.TrimPrefix(under+"."+strconv.Itoa(i+1), ".")
				case c.Type == "multipart":
					want = p.Section + ".TEXT"
				default:
					want = p.Section + ".1"
				}
				if c.Section != want {
					t.Fatalf("part %d of %q is %q, want %q:\n%s", i+1, p.Section, c.Section, want, render(root))
				}
				childUnder := c.Section
				if p.Type != "multipart" {
					childUnder = p.Section // an enclosed message's parts
				}
				check(c, childUnder)
			}
		}
		check(root, "")
		for _, file := range mimeparts.Files(root) {
			if !seen[file.Part.Section] || file.Part.Section == "" || file.Part.Type == "multipart" {
				t.Fatalf("file %q is part %q, not a part of the structure:\n%s", file.Name, file.Part.Section, render(root))
			}
		}
		crlf := bytes.ReplaceAll(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		root, err = mimeparts.Parse(bytes.NewReader(crlf))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		for _, p := range mimepartstest.Leaves(root) {
			var b bytes.Buffer
			if err := mimeparts.Extract(bytes.NewReader(crlf), p.Section, &b); err != nil || int64(b.Len()) != p.Size {
				t.Fatalf("Extract(%q) = %d bytes, %v; Size is %d:\n%s", p.Section, b.Len(), err, p.Size, render(root))
			}
		}
	})
}
