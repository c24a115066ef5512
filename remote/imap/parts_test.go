package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/mimeparts"
	"mailfs/internal/mimeparts/mimepartstest"
	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// partsServer appends the corpus (with CRLF line ends, as IMAP wants) to
// INBOX of srv and returns the UID of each sample by name.
func partsServer(t *testing.T, srv *remotetest.IMAP) map[string]uint32 {
	t.Helper()
	uids := map[string]uint32{}
	for _, smp := range mimepartstest.Corpus(t) {
		uid, err := srv.Append("INBOX", smp.CRLF(), nil, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatalf("append %s: %v", smp.Name, err)
		}
		uids[smp.Name] = uid
	}
	return uids
}

// TestPartsInProcess checks Structure and FetchPart against the
// in-process server for every message of the corpus (checkParts), and
// that they examine the mailbox and change no flag.
func TestPartsInProcess(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	uids := partsServer(t, srv)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")
	before, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, smp := range mimepartstest.Corpus(t) {
		t.Run(smp.Name, func(t *testing.T) {
			checkParts(t, s, "INBOX", uv, uids[smp.Name], smp.CRLF(), fakeStructure(smp.Name))
		})
	}
	after, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Errorf("flags after reading parts: got %v, want %v", after, before)
	}
	if n := srv.ReadWriteFetches(); n != 0 {
		t.Errorf("got %d FETCH commands on a mailbox selected read-write, want 0", n)
	}
	if n := srv.Count("SELECT"); n != 0 {
		t.Errorf("got %d SELECT commands, want 0 (EXAMINE only)", n)
	}
}

// fakeStructure returns how the structure the in-process server
// (go-imap's imapmemserver, which reads messages with go-message) gives
// for a corpus sample differs from Dovecot's, as a change to make to
// mimeparts.Parse's result before comparing; nil when it does not. Only
// one sample needs it: the fake ignores RFC 2046 §5.1.5 (a part of a
// multipart/digest without Content-Type is message/rfc822), so it reads
// the digest's first part (2.1, which has no Content-Type) as text/plain
// and does not look into it.
func fakeStructure(name string) func(*remote.Part) {
	if name != "digest" {
		return nil
	}
	return func(root *remote.Part) {
		p := &root.Parts[1].Parts[0]
		*p = mimeparts.Fields{Type: "text", Subtype: "plain"}.Part(p.Section, p.Size)
	}
}

// checkParts checks Structure and FetchPart for message uid, whose bytes
// as the server holds them are msg: Structure equals mimeparts.Parse of
// msg (after fix, when not nil: a known difference of the server); each
// part's body (every part that is not a multipart) is as long as its
// Size says, and decoded with mimeparts.Decode it is what the go-message
// oracle decodes from msg for the part (for a part go-message cannot
// decode, what it decodes before failing is the start of Decode's);
// HEADER is the message's header. The parts that are files
// (mimeparts.Files) are also what mimeparts.Extract cuts out of msg, the
// cache's way to them when it holds the message.
func checkParts(t *testing.T, s *Store, mailbox string, uv, uid uint32, msg []byte, fix func(*remote.Part)) {
	t.Helper()
	ctx := context.Background()
	want, err := mimeparts.Parse(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got, err := s.Structure(ctx, mailbox, uv, uid)
	if err != nil {
		t.Fatalf("Structure: %v", err)
	}
	if fix != nil {
		fix(&want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Structure:\ngot\n%swant (mimeparts.Parse)\n%s", renderParts(got), renderParts(want))
	}
	oracle, err := mimepartstest.Oracle(msg)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	for _, p := range mimepartstest.Leaves(got) {
		var buf bytes.Buffer
		n, err := s.FetchPart(ctx, mailbox, uv, uid, p.Section, &buf)
		if err != nil {
			t.Errorf("FetchPart(%q): %v", p.Section, err)
			continue
		}
		if n != int64(buf.Len()) {
			t.Errorf("FetchPart(%q): returned %d, wrote %d bytes", p.Section, n, buf.Len())
		}
		if size := mimepartstest.IMAPLen(buf.Bytes()); size != p.Size {
			t.Errorf("FetchPart(%q): got %d bytes, want the part's Size %d", p.Section, size, p.Size)
		}
		o, ok := oracle[p.Section]
		if !ok {
			t.Errorf("part %q: the oracle has no such part (it has %q)", p.Section, slices.Sorted(maps.Keys(oracle)))
			continue
		}
		dec, err := io.ReadAll(mimeparts.Decode(p, &buf))
		if err != nil {
			t.Errorf("Decode(%q): %v", p.Section, err)
			continue
		}
		switch {
		case o.Err == nil && !bytes.Equal(dec, o.Body):
			t.Errorf("Decode(FetchPart(%q)):\ngot  %q\nwant %q (go-message)", p.Section, clipped(dec), clipped(o.Body))
		case o.Err != nil && !bytes.HasPrefix(dec, o.Body):
			t.Errorf("Decode(FetchPart(%q)) = %q, want it to start with %q (what go-message decodes before %v)", p.Section, clipped(dec), clipped(o.Body), o.Err)
		}
	}
	for _, f := range mimeparts.Files(got) {
		var fetched, extracted bytes.Buffer
		if _, err := s.FetchPart(ctx, mailbox, uv, uid, f.Part.Section, &fetched); err != nil {
			t.Errorf("FetchPart(%q): %v", f.Part.Section, err)
			continue
		}
		if err := mimeparts.Extract(bytes.NewReader(msg), f.Part.Section, &extracted); err != nil {
			t.Errorf("Extract(%q) of file %q: %v", f.Part.Section, f.Name, err)
			continue
		}
		if !bytes.Equal(fetched.Bytes(), extracted.Bytes()) {
			t.Errorf("file %q: FetchPart(%q) = %q, Extract = %q", f.Name, f.Part.Section, clipped(fetched.Bytes()), clipped(extracted.Bytes()))
		}
	}
	var hdr bytes.Buffer
	if _, err := s.FetchPart(ctx, mailbox, uv, uid, "HEADER", &hdr); err != nil {
		t.Fatalf("FetchPart(HEADER): %v", err)
	}
	gotH, err := mimeparts.Headers(&hdr)
	if err != nil {
		t.Fatal(err)
	}
	wantH, err := mimeparts.Headers(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotH, wantH) || len(gotH) == 0 {
		t.Errorf("Headers(FetchPart(HEADER)):\ngot  %q\nwant %q", gotH, wantH)
	}
}

// renderParts is a part tree as text, one line per part.
func renderParts(root remote.Part) string {
	var b strings.Builder
	mimepartstest.Walk(root, func(p remote.Part) {
		fmt.Fprintf(&b, "  %-8q %s/%s enc=%q size=%d disp=%q filename=%q params=%q children=%d\n",
			p.Section, p.Type, p.Subtype, p.Encoding, p.Size, p.Disposition, p.Filename, p.Params, len(p.Parts))
	})
	return b.String()
}

func clipped(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// largeText is the text part of the large message.
const largeText = "The report is attached: 5 MB of PDF. Only this text should cross the network."

// checkLarge reads the text of message uid (mimepartstest.Large with
// largeText and a 5 MB attachment) through s, whose connections go
// through tap, and checks that one UID FETCH BODY.PEEK[1] was sent (no
// whole body) and that the server sent about the text's size, not the
// message's.
func checkLarge(t *testing.T, s *Store, tap *remotetest.Tap, uv, uid uint32, msgSize int) {
	t.Helper()
	ctx := context.Background()
	root, err := s.Structure(ctx, "INBOX", uv, uid)
	if err != nil {
		t.Fatalf("Structure: %v", err)
	}
	files := mimeparts.Files(root)
	if len(files) != 2 || files[0].Kind != mimeparts.KindText || files[1].Name != "big.pdf" {
		t.Fatalf("Files: got %+v, want text and big.pdf", files)
	}
	text := files[0].Part
	tap.Reset()
	var buf bytes.Buffer
	if _, err := s.FetchPart(ctx, "INBOX", uv, uid, text.Section, &buf); err != nil {
		t.Fatalf("FetchPart(%q): %v", text.Section, err)
	}
	got, err := io.ReadAll(mimeparts.Decode(text, &buf))
	if err != nil || string(got) != largeText {
		t.Errorf("text: got %q (%v), want %q", got, err, largeText)
	}
	var fetches []string
	for _, l := range tap.Lines() {
		if strings.Contains(strings.ToUpper(l), "FETCH") {
			fetches = append(fetches, l)
		}
	}
	wantCmd := fmt.Sprintf("UID FETCH %d (UID BODY.PEEK[%s])", uid, text.Section)
	if len(fetches) != 1 || !strings.HasSuffix(fetches[0], wantCmd) {
		t.Errorf("commands sent: got %q, want one ending %q", fetches, wantCmd)
	}
	// The answer holds the text and the EXAMINE's untagged responses: a
	// few hundred bytes, against 5 MB for the message.
	if n := tap.ServerBytes(); n > 2048 {
		t.Errorf("the server sent %d bytes to read a text of %d (message %d), want under 2048", n, len(largeText), msgSize)
	}
	t.Logf("read the text part (%d bytes) of a %d-byte message: %q, %d bytes from the server", text.Size, msgSize, fetches, tap.ServerBytes())
}

// TestFetchPartLarge reads the text of a message with a 5 MB attachment
// from the in-process server: one BODY.PEEK of the text's section, a few
// hundred bytes from the server, flags unchanged.
func TestFetchPartLarge(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	tap := remotetest.NewTap(t, srv.Addr)
	s := testStore(t, srv, func(o *Options) { o.Host, o.Port = tap.Host(), tap.Port() })
	msg := mimepartstest.Large(largeText, 5<<20)
	uid, err := srv.Append("INBOX", msg, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	checkLarge(t, s, tap, uidValidity(t, s, "INBOX"), uid, len(msg))
	flags, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(flags[uid]) != 0 || srv.ReadWriteFetches() != 0 {
		t.Errorf("flags after reading the text: got %q (%d read-write FETCH), want none", flags[uid], srv.ReadWriteFetches())
	}
}

// TestPartsErrors checks the failures: a changed UIDVALIDITY, a UID that
// is not there, a section that is not one (refused before anything is
// sent), a writer that fails (its error comes back unchanged and the
// Store goes on working).
func TestPartsErrors(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	uids := partsServer(t, srv)
	s := testStore(t, srv, nil)
	ctx := context.Background()
	uv := uidValidity(t, s, "INBOX")
	uid := uids["nested-rfc822"]

	if _, err := s.Structure(ctx, "INBOX", uv+1, uid); !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("Structure with a wrong UIDVALIDITY: got %v, want ErrUIDValidity", err)
	}
	if _, err := s.FetchPart(ctx, "INBOX", uv+1, uid, "1", io.Discard); !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("FetchPart with a wrong UIDVALIDITY: got %v, want ErrUIDValidity", err)
	}
	if _, err := s.Structure(ctx, "INBOX", uv, 9999); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Structure of a missing UID: got %v, want ErrNotFound", err)
	}
	if _, err := s.FetchPart(ctx, "INBOX", uv, 9999, "1", io.Discard); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("FetchPart of a missing UID: got %v, want ErrNotFound", err)
	}
	if _, err := s.Structure(ctx, "Nope", uv, uid); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Structure in a missing mailbox: got %v, want ErrNotFound", err)
	}
	fetches := srv.Fetches()
	for _, sec := range []string{"0", "1.", ".1", "1..2", "x", "1.MIME", "HEADER.1", "-1", "01"} {
		if _, err := s.FetchPart(ctx, "INBOX", uv, uid, sec, io.Discard); !errors.Is(err, remote.ErrInvalid) {
			t.Errorf("FetchPart(%q): got %v, want ErrInvalid", sec, err)
		}
	}
	if n := srv.Fetches() - fetches; n != 0 {
		t.Errorf("invalid sections sent %d FETCH commands, want 0", n)
	}

	big, err := srv.Append("INBOX", mimepartstest.Large(largeText, 1<<20), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	errFull := errors.New("disk full")
	w := &failingWriter{left: 10000, err: errFull}
	if _, err := s.FetchPart(ctx, "INBOX", uv, big, "2", w); err != errFull {
		t.Errorf("FetchPart into a failing writer: got %v, want %v unchanged", err, errFull)
	}
	var buf bytes.Buffer
	if _, err := s.FetchPart(ctx, "INBOX", uv, big, "1", &buf); err != nil || buf.String() != largeText {
		t.Errorf("FetchPart after a failed writer: got %q, %v; want %q", buf.String(), err, largeText)
	}
	if _, err := s.FetchPart(ctx, "INBOX", uv, big, "7", &buf); err != nil {
		t.Errorf("FetchPart of a part the message does not have: %v, want an empty part", err)
	}
}

// failingWriter accepts left bytes, then fails with err.
type failingWriter struct {
	left int
	err  error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, w.err
	}
	w.left -= len(p)
	return len(p), nil
}

// TestBodyStructureConversion converts body structures as Dovecot sends
// them (go-imap's view of them) to parts.
func TestBodyStructureConversion(t *testing.T) {
	pdf := &imap.BodyStructureSinglePart{
		Type: "APPLICATION", Subtype: "PDF", Encoding: "BASE64", Size: 1394,
		Params: map[string]string{"name*": "UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C.pdf"},
		Extended: &imap.BodyStructureSinglePartExt{Disposition: &imap.BodyStructureDisposition{
			Value: "ATTACHMENT", Params: map[string]string{"filename*": "UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C.pdf"},
		}},
	}
	text := &imap.BodyStructureSinglePart{Type: "text", Subtype: "plain", Encoding: "7bit", Size: 3}
	inner := &imap.BodyStructureMultiPart{Subtype: "mixed", Children: []imap.BodyStructure{text, pdf}}
	fwd := &imap.BodyStructureSinglePart{
		Type: "message", Subtype: "rfc822", Encoding: "7bit", Size: 2000,
		MessageRFC822: &imap.BodyStructureMessageRFC822{BodyStructure: inner},
	}
	fwdSingle := &imap.BodyStructureSinglePart{
		Type: "message", Subtype: "rfc822", Size: 50,
		MessageRFC822: &imap.BodyStructureMessageRFC822{BodyStructure: text},
	}
	root := &imap.BodyStructureMultiPart{
		Subtype:  "MIXED",
		Children: []imap.BodyStructure{text, fwd, fwdSingle},
		Extended: &imap.BodyStructureMultiPartExt{Params: map[string]string{"boundary": "b"}},
	}
	ascii := map[string]string{"charset": "us-ascii"}
	wantPDF := func(sec string) remote.Part {
		return remote.Part{Section: sec, Type: "application", Subtype: "pdf", Encoding: "base64", Size: 1394,
			Params: map[string]string{"name": "보고서.pdf"}, Disposition: "attachment", Filename: "보고서.pdf"}
	}
	wantText := func(sec string) remote.Part {
		return remote.Part{Section: sec, Type: "text", Subtype: "plain", Encoding: "7bit", Size: 3, Params: ascii}
	}
	for _, tt := range []struct {
		name string
		bs   imap.BodyStructure
		want remote.Part
	}{
		{"single part", text, wantText("1")},
		{"RFC 2231 names, upper case", pdf, wantPDF("1")},
		{"nested", root, remote.Part{Type: "multipart", Subtype: "mixed", Params: map[string]string{"boundary": "b"}, Parts: []remote.Part{
			wantText("1"),
			{Section: "2", Type: "message", Subtype: "rfc822", Encoding: "7bit", Size: 2000, Parts: []remote.Part{
				{Section: "2.TEXT", Type: "multipart", Subtype: "mixed", Parts: []remote.Part{wantText("2.1"), wantPDF("2.2")}},
			}},
			{Section: "3", Type: "message", Subtype: "rfc822", Encoding: "7bit", Size: 50, Parts: []remote.Part{wantText("3.1")}},
		}}},
	} {
		if got := messagePart(tt.bs, ""); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\ngot\n%swant\n%s", tt.name, renderParts(got), renderParts(tt.want))
		}
	}
}
