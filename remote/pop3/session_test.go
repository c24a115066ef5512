package pop3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// trickyMessages are messages whose bytes a careless POP3 client changes.
func trickyMessages() map[string][]byte {
	long := strings.Repeat("x", 1<<20)
	return map[string][]byte{
		"leading dots":        []byte("Subject: dots\r\n\r\n.one dot\r\n..two dots\r\n...three\r\nend\r\n"),
		"line that is a dot":  []byte("Subject: dot line\r\n\r\nbefore\r\n.\r\nafter\r\n"),
		"ends with dot line":  []byte("Subject: last dot\r\n\r\nbody\r\n.\r\n"),
		"only a dot line":     []byte(".\r\n"),
		"dot CRLF dot CRLF":   []byte("Subject: x\r\n\r\n.\r\n.\r\n\r\n.\r\n"),
		"1 MB single line":    []byte("Subject: long\r\n\r\n" + long + "\r\n"),
		"1 MB line with dot":  []byte("Subject: long\r\n\r\n." + long + "\r\nnext\r\n"),
		"dot at chunk border": []byte("Subject: border\r\n\r\n" + strings.Repeat("y", bufSize-len("Subject: border\r\n\r\n")+bufSize) + ".\r\n.\r\nz\r\n"),
		"bare LF":             []byte("Subject: lf\n\nline one\nline two\n.dot after LF\n..two after LF\nend\n"),
		"bare CR":             []byte("Subject: cr\r\n\r\na\rb\r\r\n.\rc\r\n"),
		"mixed endings":       []byte("Subject: mixed\r\nX: y\n\r\nA\r\nB\nC\r\r\n"),
		"NUL bytes":           []byte("Subject: nul\r\n\r\na\x00b\r\n\x00\r\n.\x00\r\n"),
		"8-bit bytes":         []byte("Subject: 8bit\r\n\r\n\x80\xff\xfe caf\xc3\xa9\r\n"),
		"no separator":        []byte("Subject: only header\r\nX-Other: value\r\n"),
		"no final CRLF":       []byte("Subject: x\r\n\r\nno final line break"),
		"no final CRLF dot":   []byte("Subject: x\r\n\r\n.no final line break"),
		"ends with CR":        []byte("Subject: x\r\n\r\nends with CR\r"),
		"ends with bare LF":   []byte("Subject: x\r\n\r\nends with LF\n"),
		"empty":               {},
		"one byte":            []byte("x"),
		"only CRLF":           []byte("\r\n"),
	}
}

func TestListUIDsAndSizes(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	var uids []string
	var sizes []int64
	for i := range 3 {
		msg := []byte(fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, strings.Repeat("b", i*100)))
		uids = append(uids, srv.Add(msg))
		sizes = append(sizes, int64(len(msg)))
	}
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	got, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("List returned %d messages, want 3", len(got))
	}
	for i, m := range got {
		want := remote.DropMessage{Number: i + 1, UID: uids[i], Size: sizes[i]}
		if m != want {
			t.Errorf("message %d: got %+v, want %+v", i, m, want)
		}
	}
}

func TestListEmpty(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	got, err := s.List(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("List: got %v, %v; want nothing, nil", got, err)
	}
}

func TestRetrieveByteExact(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	msgs := trickyMessages()
	names := make(map[string]string)
	for name, msg := range msgs {
		names[srv.Add(msg)] = name
	}
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, m := range list {
		name := names[m.UID]
		t.Run(name, func(t *testing.T) {
			want := msgs[name]
			var buf bytes.Buffer
			n, err := s.Retrieve(context.Background(), m.Number, &buf)
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("got %d bytes %q, want %d bytes %q", buf.Len(), clip(buf.Bytes(), 120), len(want), clip(want, 120))
			}
			if n != int64(len(want)) {
				t.Errorf("Retrieve returned %d, want %d", n, len(want))
			}
		})
	}
}

// TestRetrieveRandom sends random messages made of the bytes that matter to
// dot-stuffing through the server and back.
func TestRetrieveRandom(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'.', '.', '\r', '\n', '\n', 'a', 0, 0xff}
	var want [][]byte
	for range 60 {
		msg := make([]byte, rng.IntN(3000))
		for i := range msg {
			msg[i] = alphabet[rng.IntN(len(alphabet))]
		}
		srv.Add(msg)
		want = append(want, msg)
	}
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	for i, msg := range want {
		var buf bytes.Buffer
		if _, err := s.Retrieve(context.Background(), i+1, &buf); err != nil {
			t.Fatalf("Retrieve %d: %v", i+1, err)
		}
		if !bytes.Equal(buf.Bytes(), msg) {
			t.Fatalf("message %d: got %q, want %q", i+1, buf.Bytes(), msg)
		}
	}
}

// TestRetrieveWithoutList asks for the LIST size itself.
func TestRetrieveWithoutList(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	msg := []byte("Subject: x\r\n\r\nno final line break")
	srv.Add(msg)
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	var buf bytes.Buffer
	if _, err := s.Retrieve(context.Background(), 1, &buf); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), msg) {
		t.Fatalf("got %q, want %q", buf.Bytes(), msg)
	}
}

func TestRetrieveNoSuchMessage(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	srv.Add([]byte("Subject: x\r\n\r\nx\r\n"))
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	_, err := s.Retrieve(context.Background(), 7, io.Discard)
	if !errIs(err, remote.ErrRefused) || !strings.Contains(err.Error(), "no such message") {
		t.Fatalf("got %v, want ErrRefused with the server's text", err)
	}
	// An -ERR leaves the session usable.
	var buf bytes.Buffer
	if _, err := s.Retrieve(context.Background(), 1, &buf); err != nil || buf.Len() == 0 {
		t.Fatalf("Retrieve after -ERR: %v", err)
	}
}

// maxChunkWriter hashes what it gets and records the largest write.
type maxChunkWriter struct {
	h      io.Writer
	n      int64
	maxLen int
}

func (w *maxChunkWriter) Write(p []byte) (int, error) {
	w.maxLen = max(w.maxLen, len(p))
	w.n += int64(len(p))
	return w.h.Write(p)
}

func TestRetrieveLargeStreams(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	const size = 25 << 20
	var b bytes.Buffer
	b.WriteString("Subject: big\r\n\r\n")
	line := []byte(strings.Repeat("0123456789", 7) + "\r\n.dotted line\r\n")
	for b.Len() < size {
		b.Write(line)
	}
	msg := b.Bytes()
	srv.Add(msg)
	wantSum := sha256.Sum256(msg)

	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	if _, err := s.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := &maxChunkWriter{h: h}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := s.Retrieve(context.Background(), 1, w)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if n != int64(len(msg)) || [32]byte(h.Sum(nil)) != wantSum {
		t.Fatalf("got %d bytes (hash match %v), want %d", n, [32]byte(h.Sum(nil)) == wantSum, len(msg))
	}
	if w.maxLen > bufSize {
		t.Errorf("largest write %d bytes, want at most %d", w.maxLen, bufSize)
	}
	// Client and server together: buffers and small garbage, never the
	// message (25 MB).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("Retrieve of %d MB allocated %d bytes, want under 4 MB", size>>20, alloc)
	}
}

func TestDeleteQuitCommits(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	a := srv.Add([]byte("Subject: a\r\n\r\na\r\n"))
	b := srv.Add([]byte("Subject: b\r\n\r\nb\r\n"))
	c := clientFor(t, srv, remote.TLSNone, nil)

	// Delete + Close: nothing happens.
	s := connect(t, c)
	if err := s.Delete(context.Background(), 1); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitUnlocked(t, srv)
	if got := srv.Messages(); len(got) != 2 {
		t.Fatalf("after Delete + Close the server holds %d messages, want 2", len(got))
	}

	// Delete + Quit: gone.
	s = connect(t, c)
	if err := s.Delete(context.Background(), 1); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Quit(context.Background()); err != nil {
		t.Fatalf("Quit: %v", err)
	}
	got := srv.Messages()
	if _, ok := got[a]; ok || len(got) != 1 || got[b] == nil {
		t.Fatalf("after Delete + Quit the server holds %v, want only %s", keys(got), b)
	}
	// The session is over.
	if _, err := s.List(context.Background()); err == nil {
		t.Fatal("List after Quit succeeded, want an error")
	}
}

func TestDeleteTwiceRefused(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	srv.Add([]byte("Subject: a\r\n\r\na\r\n"))
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	if err := s.Delete(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), 1); !errIs(err, remote.ErrRefused) {
		t.Fatalf("second Delete: got %v, want ErrRefused", err)
	}
}

func TestCheck(t *testing.T) {
	srv := remotetest.NewPOP3(t, nil)
	srv.Add([]byte("Subject: a\r\n\r\na\r\n"))
	srv.Add([]byte("Subject: bb\r\n\r\nbb\r\n"))
	caps, count, size, err := clientFor(t, srv, remote.TLSNone, nil).Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if count != 2 || size != int64(len("Subject: a\r\n\r\na\r\n")+len("Subject: bb\r\n\r\nbb\r\n")) {
		t.Errorf("got count %d size %d, want 2 and 36", count, size)
	}
	for _, want := range []string{"UIDL", "TOP", "SASL PLAIN"} {
		if !capLine(caps, strings.Fields(want)[0], strings.Fields(want)[1:]...) {
			t.Errorf("capabilities %q lack %q", caps, want)
		}
	}
	waitUnlocked(t, srv)
}
