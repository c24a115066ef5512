package mimeparts

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"os"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// SectionHeader is the section Extract answers with the message's header.
const SectionHeader = "HEADER"

// Extract writes what IMAP's BODY[section] gives for the whole message r
// to w: the body of the part (still in its Content-Transfer-Encoding),
// with the section numbering of RFC 3501 6.4.5 ("1" is the body of a
// single-part message; "2" of a message/rfc822 part is the whole enclosed
// message, "2.1" the body or first part of that message), or the header
// for SectionHeader (with the blank line that ends it).
func Extract(r io.Reader, section string, w io.Writer) error {
	br := bufio.NewReader(r)
	if section == SectionHeader {
		return copyHeader(br, w)
	}
	var nums []int
	for _, s := range strings.Split(section, ".") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("section %q: not a part number", section)
		}
		nums = append(nums, n)
	}
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return fmt.Errorf("section %s: read the header: %w", section, err)
	}
	body := io.Reader(br)
	for i, n := range nums {
		if mt, params := mediaType(h); strings.HasPrefix(mt, "multipart/") {
			mr := textproto.NewMultipartReader(body, params["boundary"])
			var p *textproto.Part
			for k := 0; k < n; k++ {
				if p, err = mr.NextPart(); err != nil {
					return fmt.Errorf("section %s: no part %d: %w", section, n, err)
				}
			}
			h, body = p.Header, p
		} else if n != 1 {
			// A single part's body is its part 1; it has no other.
			return fmt.Errorf("section %s: a %s part has no part %d", section, mt, n)
		}
		if i == len(nums)-1 {
			_, err := io.Copy(w, body)
			return err
		}
		// Deeper: into the enclosed message of a message/rfc822 part, or
		// the parts of a multipart.
		switch mt, _ := mediaType(h); {
		case mt == "message/rfc822" || mt == "message/global":
			eb := bufio.NewReader(body)
			if h, err = textproto.ReadHeader(eb); err != nil {
				return fmt.Errorf("section %s: read the enclosed header: %w", section, err)
			}
			body = eb
		case !strings.HasPrefix(mt, "multipart/"):
			return fmt.Errorf("section %s: a %s part has no parts", section, mt)
		}
	}
	return nil
}

// mediaType returns the lower-case media type of h and its parameters;
// text/plain when h has none or it does not parse (RFC 2045 5.2).
func mediaType(h textproto.Header) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt == "" {
		return "text/plain", params
	}
	return strings.ToLower(mt), params
}

// copyHeader copies the header block of r, through its blank line, to w.
func copyHeader(r *bufio.Reader, w io.Writer) error {
	for {
		line, err := r.ReadString('\n')
		if _, werr := io.WriteString(w, line); werr != nil {
			return werr
		}
		if line == "\n" || line == "\r\n" || err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
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
