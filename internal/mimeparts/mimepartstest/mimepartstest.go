// Package mimepartstest holds what the tests of mimeparts and of the
// stores that describe parts share: the sample corpus
// (internal/mimeparts/testdata), an independent oracle of each part's
// decoded content (go-message's entity readers), and generators of large
// messages.
package mimepartstest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset go-message knows, for the oracle

	"mailfs/remote"
)

// Sample is one message of the corpus.
type Sample struct {
	// Name is the file's name without ".eml".
	Name string
	// Raw is the file as written, lines ending in LF.
	Raw []byte
}

// CRLF returns the message as IMAP serves it: every bare LF a CRLF.
func (s Sample) CRLF() []byte { return CRLF(s.Raw) }

// Dir returns the directory of the corpus, internal/mimeparts/testdata.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Corpus returns the messages of the corpus, sorted by name.
func Corpus(t testing.TB) []Sample {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(Dir(), "*.eml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("corpus in %s: %v (%d files)", Dir(), err, len(paths))
	}
	sort.Strings(paths)
	var out []Sample
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("corpus: %v", err)
		}
		out = append(out, Sample{Name: strings.TrimSuffix(filepath.Base(p), ".eml"), Raw: b})
	}
	return out
}

// CRLF turns every LF not preceded by CR into CRLF.
func CRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// IMAPLen is the length of b as IMAP counts it, a bare LF as CRLF.
func IMAPLen(b []byte) int64 {
	return int64(len(CRLF(b)))
}

// Walk calls fn for p and each part under it, in section order.
func Walk(p remote.Part, fn func(remote.Part)) {
	fn(p)
	for _, c := range p.Parts {
		Walk(c, fn)
	}
}

// Leaves returns the parts of root that a server fetches as bodies: every
// part that is not a multipart (message/rfc822 parts included, and the
// parts of the messages they enclose), in section order.
func Leaves(root remote.Part) []remote.Part {
	var out []remote.Part
	Walk(root, func(p remote.Part) {
		if p.Type != "multipart" {
			out = append(out, p)
		}
	})
	return out
}

// Decoded is what the oracle read of one part.
type Decoded struct {
	// Body is the part's content: transfer encoding undone, text
	// converted to UTF-8.
	Body []byte
	// Err is go-message's error reading the body, nil when it decoded
	// cleanly (an unknown charset or encoding is not an error: the
	// bytes are as they are). Body is then what came before it.
	Err error
}

// Oracle reads msg with go-message's entity readers (message.Read,
// MultipartReader, Entity.Body) and returns the content of each part by
// IMAP section, independently of mimeparts: for every part that is not a
// multipart, and for the parts of attached messages (message/rfc822,
// also the default type of a multipart/digest's parts, RFC 2046
// §5.1.5). It fails when the message's header cannot be read at all.
func Oracle(msg []byte) (map[string]Decoded, error) {
	e, err := message.Read(bytes.NewReader(msg))
	if e == nil {
		return nil, fmt.Errorf("oracle: %w", err)
	}
	out := map[string]Decoded{}
	oracleMessage(e, "", out)
	return out, nil
}

// oracleMessage reads the body of message e, enclosed in part msg ("" for
// the root).
func oracleMessage(e *message.Entity, msg string, out map[string]Decoded) {
	if mr := e.MultipartReader(); mr != nil {
		mt, _, _ := e.Header.ContentType()
		oracleMultipart(mr, msg, mt == "multipart/digest", out)
		return
	}
	sec := "1"
	if msg != "" {
		sec = msg + ".1"
	}
	oracleLeaf(e, sec, false, out)
}

// oracleMultipart reads the parts of a multipart, numbered under prefix.
func oracleMultipart(mr message.MultipartReader, prefix string, digest bool, out map[string]Decoded) {
	for i := 1; ; i++ {
		p, err := mr.NextPart()
		if p == nil {
			if err != nil && !errors.Is(err, io.EOF) {
				out[child(prefix, i)] = Decoded{Err: err}
			}
			return
		}
		sec := child(prefix, i)
		if inner := p.MultipartReader(); inner != nil {
			mt, _, _ := p.Header.ContentType()
			oracleMultipart(inner, sec, mt == "multipart/digest", out)
			continue
		}
		oracleLeaf(p, sec, digest && !p.Header.Has("Content-Type"), out)
	}
}

// oracleLeaf reads the body of part e at sec, and the message it encloses
// when it is a message/rfc822 part (asMessage: by default in a digest).
func oracleLeaf(e *message.Entity, sec string, asMessage bool, out map[string]Decoded) {
	body, err := io.ReadAll(e.Body)
	out[sec] = Decoded{Body: body, Err: err}
	mt, _, _ := e.Header.ContentType()
	enc := strings.ToLower(strings.TrimSpace(e.Header.Get("Content-Transfer-Encoding")))
	if (mt != "message/rfc822" && !asMessage) || (enc != "" && enc != "7bit" && enc != "8bit" && enc != "binary") {
		return
	}
	inner, _ := message.Read(bytes.NewReader(body))
	if inner != nil {
		oracleMessage(inner, sec, out)
	}
}

func child(prefix string, i int) string {
	if prefix == "" {
		return strconv.Itoa(i)
	}
	return prefix + "." + strconv.Itoa(i)
}

// Large returns a message with a short text/plain part (text) and a
// base64 application/pdf attachment of size bytes: reading its text
// should cost the text, not the message.
func Large(text string, size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString("From: big@example.org\r\nTo: bob@example.org\r\nSubject: large attachment\r\n" +
		"Message-ID: <large@example.org>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(text)
	b.WriteString("\r\n--big\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"big.pdf\"\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n--big--\r\n")
	return []byte(b.String())
}
