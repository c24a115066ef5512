package pop3store

import (
	"bytes"
	"crypto/sha256"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestBadInputStoredByteExact(t *testing.T) {
	huge := "X-Long: " + strings.Repeat("x", 1<<20) + "\r\nSubject: after the long line\r\n\r\nbody\r\n"
	cases := []struct {
		uid, body, subject string
		date               bool // the Date: field is usable
	}{
		{"nosep", "Subject: no separator, no body", "no separator, no body", false},
		{"garbage", "just some text\nwithout any header\n", "", false},
		{"bare-lf", "Subject: bare\nDate: Fri, 20 Nov 2026 09:15:00 +0100\n\nline\n", "bare", true},
		{"nul", "Subject: nul\x00byte\r\nFrom\x00: x\r\n\r\n\x00\x00body", "nul byte", false},
		{"huge", huge, "", false},
		{"baddate", "Subject: when\r\nDate: the day after tomorrow\r\n\r\nx", "when", false},
		{"empty", "", "", false},
		{"8bit", "Subject: caf\xe9 \xff\r\n\r\n", "café ÿ", false},
		{"encoded", "Subject: =?ISO-8859-1?Q?caf=E9?= =?windows-1252?Q?=80?= =?UTF-8?B?4pyT?=\r\n\r\n", "café€✓", false},
		{"euc-kr", "Subject: =?EUC-KR?B?vsiz5w==?=\r\n\r\n", "안녕", false},
		{"unknown-charset", "Subject: =?x-unknown?Q?abc?=\r\n\r\n", "=?x-unknown?Q?abc?=", false},
	}
	var msgs []*fakeMsg
	for _, c := range cases {
		msgs = append(msgs, msg(c.uid, c.body))
	}
	e := newEnv(t, true, msgs...)
	e.mustPoll()
	l := e.list(Inbox)
	if len(l.Messages) != len(cases) {
		t.Fatalf("stored %d messages, want %d", len(l.Messages), len(cases))
	}
	for i, c := range cases {
		m := l.Messages[i]
		if got := e.read(Inbox, m.UID); !bytes.Equal(got, []byte(c.body)) {
			t.Errorf("%s: stored bytes differ (got %d bytes, want %d)", c.uid, len(got), len(c.body))
		}
		if m.Size != int64(len(c.body)) {
			t.Errorf("%s: size %d, want %d", c.uid, m.Size, len(c.body))
		}
		if m.Subject != c.subject {
			t.Errorf("%s: subject %q, want %q", c.uid, m.Subject, c.subject)
		}
		if !c.date && !m.InternalDate.Equal(e.clock.Now()) {
			t.Errorf("%s: date %v, want the download time %v", c.uid, m.InternalDate, e.clock.Now())
		}
		if c.date && m.InternalDate.Equal(e.clock.Now()) {
			t.Errorf("%s: date fell back to the download time", c.uid)
		}
	}
}

func TestParseMetaTable(t *testing.T) {
	cases := []struct{ in, subject, id string }{
		{"Message-ID: <x@y>\r\n\r\n", "", "x@y"},
		{"Message-ID: garbage\r\n\r\n", "", "garbage"},
		{"Subject: =?utf-8?q?a_b?=\r\n\r\n", "a b", ""},
		{"Subject: tab\there\r\n\r\n", "tab here", ""},
		{"Subject: folded\r\n line\r\n\r\n", "folded line", ""},
	}
	for _, c := range cases {
		m := parseMeta(strings.NewReader(c.in))
		if m.Subject != c.subject || m.MessageID != c.id {
			t.Errorf("parseMeta(%q): got %q, %q; want %q, %q", c.in, m.Subject, m.MessageID, c.subject, c.id)
		}
	}
}

func TestFileKey(t *testing.T) {
	for _, uidl := range []string{"a", "000001a2", "x y/z", strings.Repeat("q", 100), strings.Repeat("q", 101), "\x00"} {
		k := fileKey(uidl)
		if !isDownloadKey(k) {
			t.Errorf("fileKey(%q) = %q: not recognized", uidl, k)
		}
		if len(k)+len(emlExt) > 255 {
			t.Errorf("fileKey(%q): name too long", uidl)
		}
		if got := uidlOfKey(k); len(uidl) <= maxHexUIDL && got != uidl {
			t.Errorf("uidlOfKey(fileKey(%q)) = %q", uidl, got)
		}
	}
	if fileKey("a") == fileKey("b") {
		t.Error("keys collide")
	}
	for _, bad := range []string{"", "a0123", "uxyz", "s00", ".tmp-1"} {
		if isDownloadKey(bad) {
			t.Errorf("isDownloadKey(%q) = true", bad)
		}
	}
}

// genMessage returns a message of size bytes made on the fly, and its hash.
func genMessage(size int64) (*fakeMsg, [32]byte) {
	header := "Subject: big\r\n\r\n"
	line := []byte(strings.Repeat("0123456789abcdef", 4) + "\r\n")
	gen := func(w io.Writer) error {
		if _, err := io.WriteString(w, header); err != nil {
			return err
		}
		left := size - int64(len(header))
		buf := bytes.Repeat(line, 512)
		for left > 0 {
			k := min(left, int64(len(buf)))
			if _, err := w.Write(buf[:k]); err != nil {
				return err
			}
			left -= k
		}
		return nil
	}
	h := sha256.New()
	gen(h)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return &fakeMsg{uid: "big", size: size, gen: gen}, sum
}

func TestLargeMessageStreamed(t *testing.T) {
	const size = 25 << 20
	m, sum := genMessage(size)
	e := newEnv(t, false, m)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	e.mustPoll()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("poll of a 25 MB message allocated %d MB; want it streamed (< 8 MB)", alloc>>20)
	}
	l := e.list(Inbox)
	if len(l.Messages) != 1 || l.Messages[0].Size != size {
		t.Fatalf("listing: %+v", l.Messages)
	}
	f, err := e.s.Open(t.Context(), Inbox, l.UIDValidity, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	if !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Error("stored message differs from the one sent")
	}
}
