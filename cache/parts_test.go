package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

// partsStore is the fake store as a remote.PartFetcher: it describes and
// cuts its bodies with mimeparts, as a server would. structErr, when set
// before use, is what Structure answers.
type partsStore struct {
	*fakeStore
	structErr error
}

func (p *partsStore) Structure(ctx context.Context, mbox string, uidValidity, uid uint32) (remote.Part, error) {
	if _, err := p.begin(ctx, "Structure", mbox); err != nil {
		return remote.Part{}, err
	}
	if p.structErr != nil {
		return remote.Part{}, p.structErr
	}
	body := p.body(mbox, uid)
	if body == nil {
		return remote.Part{}, fmt.Errorf("structure of %d: %w", uid, remote.ErrNotFound)
	}
	return mimeparts.Parse(bytes.NewReader(body))
}

func (p *partsStore) FetchPart(ctx context.Context, mbox string, uidValidity, uid uint32, section string, w io.Writer) (int64, error) {
	if _, err := p.begin(ctx, "FetchPart", mbox); err != nil {
		return 0, err
	}
	body := p.body(mbox, uid)
	if body == nil {
		return 0, fmt.Errorf("part %s of %d: %w", section, uid, remote.ErrNotFound)
	}
	var b bytes.Buffer
	if err := mimeparts.Extract(bytes.NewReader(body), section, &b); err != nil {
		return 0, err
	}
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// partsBody is a message with a short text part and a larger attachment.
func partsBody(uid uint32) []byte {
	return fmt.Appendf(nil, "Subject: parts %d\r\nMessage-ID: <parts-%d@test>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"+
		"--b\r\nContent-Type: text/plain\r\n\r\ntext of %d\r\n"+
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n",
		uid, uid, uid, bytes.Repeat([]byte("QUJD"), 500))
}

// newPartsEnv is an account over a partsStore whose INBOX holds n
// messages with partsBody bodies, listed, with the calls forgotten.
func newPartsEnv(t *testing.T, opts *Options, n int) (*env, *partsStore) {
	t.Helper()
	ps := &partsStore{fakeStore: newFakeStore()}
	for range n {
		uid := ps.add("INBOX", "parts")
		ps.mu.Lock()
		m := ps.boxes["INBOX"].msgs[len(ps.boxes["INBOX"].msgs)-1]
		m.body = partsBody(uid)
		m.info.Size = int64(len(m.body))
		ps.mu.Unlock()
	}
	e := &env{t: t, dir: t.TempDir() + "/cache", clock: newClock(), log: &logRecorder{}, store: ps.fakeStore}
	if opts != nil {
		e.opts = *opts
	}
	e.opts.Logger, e.opts.Now = slog.New(e.log), e.clock.Now
	c, err := Open(e.dir, &e.opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	e.c, e.a = c, c.Account("acct", ps, &AccountOptions{Expunge: true})
	e.prepare("INBOX")
	return e, ps
}

// readPart reads part section of message uid of INBOX through the cache.
func (e *env) readPart(uid uint32, section string) []byte {
	e.t.Helper()
	f, err := e.a.OpenPart(e.t.Context(), "INBOX", 1000, uid, section)
	if err != nil {
		e.t.Fatalf("OpenPart(%d, %s): %v", uid, section, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// cutOut is what mimeparts.Extract gives for section of body.
func cutOut(t *testing.T, body []byte, section string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := mimeparts.Extract(bytes.NewReader(body), section, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPartsCachedOneByOne: without the body, the structure and each part
// are asked of the server once, then served from disk; the body is never
// fetched; with the body cached, nothing is asked at all.
func TestPartsCachedOneByOne(t *testing.T) {
	e, ps := newPartsEnv(t, nil, 2)
	body := ps.body("INBOX", 1)
	want, _ := mimeparts.Parse(bytes.NewReader(body))
	for range 2 {
		got, err := e.a.Structure(t.Context(), "INBOX", 1000, 1)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Structure = %+v, %v; want %+v", got, err, want)
		}
		if got := e.readPart(1, "1"); string(got) != "text of 1" {
			t.Errorf("part 1 = %q", got)
		}
		if got := e.readPart(1, mimeparts.SectionHeader); !bytes.HasPrefix(body, got) || !bytes.HasSuffix(got, []byte("\r\n\r\n")) {
			t.Errorf("HEADER = %q", got)
		}
	}
	wantCalls(t, ps.fakeStore, "Structure", 1)
	wantCalls(t, ps.fakeStore, "FetchPart", 2)
	wantCalls(t, ps.fakeStore, "Fetch", 0)
	if _, err := os.Stat(filepath.Join(partsDir(e.c.bodyPath("acct", "INBOX", 1000, 1)), "1.part")); err != nil {
		t.Errorf("the part is not cached beside the body: %v", err)
	}

	// With the body cached, from the body.
	e.read("INBOX", 1000, 2)
	e.settle()
	ps.resetCounts()
	if _, err := e.a.Structure(t.Context(), "INBOX", 1000, 2); err != nil {
		t.Fatal(err)
	}
	if got, want := e.readPart(2, "2"), cutOut(t, ps.body("INBOX", 2), "2"); !bytes.Equal(got, want) {
		t.Errorf("part 2 from the body = %d bytes, want %d", len(got), len(want))
	}
	wantCalls(t, ps.fakeStore, "Structure", 0)
	wantCalls(t, ps.fakeStore, "FetchPart", 0)

	// Offline: what is cached is still served.
	ps.setDown(true)
	if got := e.readPart(1, "1"); string(got) != "text of 1" {
		t.Errorf("part 1 offline = %q", got)
	}
	if _, err := e.a.OpenPart(t.Context(), "INBOX", 1000, 1, "2"); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("an uncached part offline: %v, want ErrUnavailable", err)
	}
}

// TestPartsGoWithTheMessage: a message's cached parts are deleted when it
// is removed through the cache and when the server expunged it.
func TestPartsGoWithTheMessage(t *testing.T) {
	e, ps := newPartsEnv(t, &Options{MaxSize: 1 << 30}, 2)
	for uid := uint32(1); uid <= 2; uid++ {
		e.readPart(uid, "2")
	}
	if n, _ := e.c.Size(); n == 0 {
		t.Fatal("the cache counts no bytes for the parts read")
	}
	// Without a limit they are counted on disk.
	unlimited, _ := newPartsEnv(t, nil, 1)
	unlimited.readPart(1, "2")
	if n, _ := unlimited.c.Size(); n != int64(len(cutOut(t, partsBody(1), "2"))) {
		t.Errorf("without a limit the cache counts %d bytes for one part", n)
	}
	dir := func(uid uint32) string { return partsDir(e.c.bodyPath("acct", "INBOX", 1000, uid)) }
	if err := e.a.Remove(t.Context(), "INBOX", 1); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	ps.expunge("INBOX", 2)
	e.list("INBOX", 0)
	e.settle()
	for uid := uint32(1); uid <= 2; uid++ {
		if _, err := os.Stat(dir(uid)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("parts of removed message %d: %v, want gone", uid, err)
		}
	}
	if n, _ := e.c.Size(); n != 0 {
		t.Errorf("the cache counts %d bytes after every message went", n)
	}
}

// TestPartsCountAgainstMaxSize: parts are evicted like bodies, least
// recently read first, and the cache stays within max_size.
func TestPartsCountAgainstMaxSize(t *testing.T) {
	const n = 6
	partSize := int64(len(cutOut(t, partsBody(1), "2")))
	e, ps := newPartsEnv(t, &Options{MaxSize: 3 * partSize}, n)
	for uid := uint32(1); uid <= n; uid++ {
		e.readPart(uid, "2")
		if got, _ := e.c.Size(); got > 3*partSize {
			t.Fatalf("after part %d the cache holds %d bytes, max %d", uid, got, 3*partSize)
		}
	}
	// A restart counts them again.
	before, _ := e.c.Size()
	if err := e.c.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := Open(e.dir, &e.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.c, e.a = c, c.Account("acct", ps, nil)
	if after, _ := e.c.Size(); after != before {
		t.Errorf("the cache counts %d bytes after a restart, %d before", after, before)
	}
	ps.resetCounts()
	e.readPart(n, "2") // recent: still there
	wantCalls(t, ps.fakeStore, "FetchPart", 0)
	e.readPart(1, "2") // least recent: evicted, asked again
	wantCalls(t, ps.fakeStore, "FetchPart", 1)
}

// TestStructureFromBody: when the server's structure cannot be read (the
// client fails as on a broken connection), the body is fetched and
// parsed, and the account stays online; when the server is down, that
// is the error.
func TestStructureFromBody(t *testing.T) {
	e, ps := newPartsEnv(t, nil, 1)
	ps.structErr = fmt.Errorf("UID FETCH BODYSTRUCTURE: in body-type-1part: bad: %w", remote.ErrUnavailable)
	want, _ := mimeparts.Parse(bytes.NewReader(ps.body("INBOX", 1)))
	got, err := e.a.Structure(t.Context(), "INBOX", 1000, 1)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Structure = %+v, %v; want %+v", got, err, want)
	}
	wantCalls(t, ps.fakeStore, "Fetch", 1)
	if down, cause := e.a.down(); down {
		t.Errorf("the account is offline after an unreadable structure: %v", cause)
	}

	e2, ps2 := newPartsEnv(t, nil, 1)
	ps2.setDown(true)
	if _, err := e2.a.Structure(t.Context(), "INBOX", 1000, 1); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("Structure with the server down: %v, want ErrUnavailable", err)
	}
	if down, _ := e2.a.down(); !down {
		t.Errorf("the account is online after the server was found down")
	}
}
