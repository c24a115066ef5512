package imap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// testStore returns a Store for srv with the server's credentials in plain
// text (or TLS when the server has a CA); edit changes the options.
func testStore(t testing.TB, srv *remotetest.IMAP, edit func(*Options)) *Store {
	t.Helper()
	opts := &Options{Server: remote.Server{
		Host:           srv.Host(),
		Port:           srv.Port(),
		TLS:            remote.TLSNone,
		Username:       srv.Username,
		Password:       func(context.Context) (string, error) { return srv.Password, nil },
		Account:        "test",
		DialTimeout:    5 * time.Second,
		CommandTimeout: 10 * time.Second,
	}}
	if edit != nil {
		edit(opts)
	}
	s := New(opts)
	t.Cleanup(func() { s.Close() })
	return s
}

// testMessage is a message with a subject line and a body that makes its
// size unique.
func testMessage(i int, subjectHeader string) []byte {
	return []byte(fmt.Sprintf("From: a%d@example.org\r\n"+
		"To: b@example.org\r\n"+
		"Subject: %s\r\n"+
		"Message-ID: <m%d@example.org>\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n"+
		"\r\n"+
		"Body %d %s\r\n", i, subjectHeader, i, i, strings.Repeat("x", i)))
}

// seeded is what seed appended.
type seeded struct {
	uid     uint32
	msg     []byte
	subject string // decoded
	date    time.Time
	flags   []string
}

// seed appends n messages to mailbox, with a mix of encoded-word, UTF-8 and
// ASCII subjects, dates in several zones and some flags.
func seed(t testing.TB, srv *remotetest.IMAP, mailbox string, n int) []seeded {
	t.Helper()
	subjects := []struct{ header, decoded string }{
		{"Quarterly report", "Quarterly report"},
		{"=?UTF-8?B?7JWI64WV7ZWY7IS47JqU?=", "안녕하세요"},
		{"=?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=", "Grüße aus Köln"},
		{"Grüße, 보관함 ✓", "Grüße, 보관함 ✓"},
		{"=?utf-8?q?caf=C3=A9?= and more", "café and more"},
	}
	zones := []*time.Location{
		time.FixedZone("", 9*3600), time.FixedZone("", -5*3600), time.FixedZone("", 0), time.FixedZone("", 5*3600+1800),
	}
	out := make([]seeded, 0, n)
	for i := range n {
		sub := subjects[i%len(subjects)]
		msg := testMessage(i, sub.header)
		date := time.Date(2026, 11, 1+i%28, i%24, i%60, i%60, 0, zones[i%len(zones)])
		var flags []string
		switch i % 3 {
		case 1:
			flags = []string{`\Seen`}
		case 2:
			flags = []string{`\Flagged`, `\Seen`}
		}
		uid, err := srv.Append(mailbox, msg, flags, date)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		out = append(out, seeded{uid: uid, msg: msg, subject: sub.decoded, date: date, flags: flags})
	}
	return out
}

// uidValidity returns the mailbox's current UIDVALIDITY.
func uidValidity(t testing.TB, s *Store, mailbox string) uint32 {
	t.Helper()
	st, err := s.Status(context.Background(), mailbox)
	if err != nil {
		t.Fatalf("Status(%q): %v", mailbox, err)
	}
	return st.UIDValidity
}

// listAll runs Messages and collects the listing.
func listAll(t testing.TB, s *Store, mailbox string, uv, minUID uint32) []remote.MessageInfo {
	t.Helper()
	var got []remote.MessageInfo
	err := s.Messages(context.Background(), mailbox, uv, minUID, func(mi remote.MessageInfo) error {
		got = append(got, mi)
		return nil
	})
	if err != nil {
		t.Fatalf("Messages(%q, min %d): %v", mailbox, minUID, err)
	}
	return got
}

func itoa(i int) string { return fmt.Sprint(i) }

// sameFlags compares flag lists as sets.
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		found := false
		for _, g := range b {
			if strings.EqualFold(f, g) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
