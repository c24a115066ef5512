package mimeparts

import (
	"bufio"
	"io"
	"os"

	"github.com/emersion/go-message/textproto"

	"mailfs/remote"
)

// SectionHeader is the section Extract answers with the message's header.
const SectionHeader = "HEADER"

// Extract writes what IMAP's BODY[section] gives for the whole message r
// to w: the body of the part (still in its Content-Transfer-Encoding),
// with the section numbering of RFC 3501 6.4.5 ("1" is the body of a
// single-part message; "2" of a message/rfc822 part is the whole enclosed
// message, "2.1" the body or first part of that message); "HEADER" and
// "TEXT" (alone, or after the number of a message/rfc822 part) are a
// message's header (with the blank line that ends it) and body; "" is the
// whole message.
//
// It walks the message as Parse does, so every section Parse reports can
// be extracted, and it is as lenient: header lines that do not parse are
// skipped, an unterminated multipart gives the bytes up to the end of the
// message, and a section the message does not have is empty, as Dovecot
// answers it. It fails when section is not a section (an error wrapping
// remote.ErrInvalid), or when reading r or writing w does.
func Extract(r io.Reader, section string, w io.Writer) error {
	nums, spec, err := ParseSection(section)
	if err != nil {
		return err
	}
	src := &errReader{r: r}
	dst := &errWriter{w: w}
	br := bufio.NewReader(src)
	if len(nums) == 0 {
		// The whole message, its header or its body.
		switch spec {
		case "HEADER":
			dst.Write(readHeaderBlock(br))
		case "TEXT":
			readHeaderBlock(br)
			io.Copy(dst, br)
		default:
			io.Copy(dst, br)
		}
		return firstErr(dst.err, src.err)
	}
	e := entity{h: readHeader(br), body: br}
	for i, n := range nums {
		if i > 0 {
			// Deeper: into the message a message/rfc822 part encloses, or
			// the parts of a multipart; a leaf has no parts.
			switch p := e.part(); {
			case isMessage(p):
				e = entity{h: readHeader(e.body), body: e.body}
			case p.Type != "multipart":
				return src.err
			}
		}
		p := e.part()
		if p.Type != "multipart" {
			if n != 1 { // a single part's body is its part 1, and it has no other
				return src.err
			}
			continue
		}
		found := false
		eachPart(e.body, p.Params["boundary"], func(k int, h textproto.Header, body io.Reader) bool {
			if k == n {
				e, found = entity{h: h, body: bufio.NewReader(body), inDigest: p.Subtype == "digest"}, true
			}
			return !found
		})
		if !found {
			return src.err
		}
	}
	switch spec {
	case "HEADER", "TEXT":
		if !isMessage(e.part()) {
			return src.err
		}
		block := readHeaderBlock(e.body)
		if spec == "HEADER" {
			dst.Write(block)
		} else {
			io.Copy(dst, e.body)
		}
	default:
		io.Copy(dst, e.body)
	}
	return firstErr(dst.err, src.err)
}

// entity is a part being walked: its header, and its body to read.
type entity struct {
	h        textproto.Header
	body     *bufio.Reader
	inDigest bool // a part of a multipart/digest
}

// part returns the fields of the entity as Parse reports them.
func (e entity) part() remote.Part {
	return fieldsOf(e.h, e.inDigest).Part("", 0)
}

// errWriter keeps the first error of w, and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// firstErr returns the first of errs that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ExtractFile is Extract into an unlinked temporary file of dir, rewound:
// the file is gone from dir when it is closed.
func ExtractFile(r io.Reader, section, dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".mailfs-part-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if err := Extract(r, section, f); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
