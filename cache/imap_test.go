package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"mailfs/cache"
	"mailfs/remote"
	"mailfs/remote/imap"
	"mailfs/remote/remotetest"
)

// TestWithIMAPServer runs the cache over the real IMAP store and the
// in-process IMAP server: listing, body caching, new mail, and serving the
// cached tree once the server is gone, also after a restart.
func TestWithIMAPServer(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	zone := time.FixedZone("", -5*3600)
	var bodies [][]byte
	for i := range 3 {
		msg := fmt.Appendf(nil, "From: a@example.com\r\nSubject: message %d\r\nMessage-ID: <m%d@example.com>\r\n\r\nhello %d\r\n", i, i, i)
		if _, err := srv.Append("INBOX", msg, nil, time.Date(2026, 11, 20, 9, 15+i, 0, 0, zone)); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, msg)
	}
	store := imap.New(&imap.Options{Server: remote.Server{
		Host: srv.Host(), Port: srv.Port(), TLS: remote.TLSNone, Username: srv.Username,
		Password:    func(context.Context) (string, error) { return srv.Password, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	t.Cleanup(func() { store.Close() })

	dir := t.TempDir()
	c, err := cache.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := c.Account("test", store, nil)
	ctx := context.Background()

	if _, err := a.Mailboxes(ctx, 0); err != nil {
		t.Fatalf("Mailboxes: %v", err)
	}
	l, err := a.List(ctx, "INBOX", 0)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(l.Messages) != 3 {
		t.Fatalf("messages: got %d, want 3", len(l.Messages))
	}
	m := l.Messages[1]
	if m.Subject != "message 1" || m.MessageID != "m1@example.com" || m.Size != int64(len(bodies[1])) {
		t.Errorf("message 1: got %+v", m)
	}
	if _, off := m.InternalDate.Zone(); off != -5*3600 || m.InternalDate.Hour() != 9 || m.InternalDate.Minute() != 16 {
		t.Errorf("INTERNALDATE: got %v, want 09:16 -0500", m.InternalDate)
	}

	read := func(uid uint32) ([]byte, error) {
		f, err := a.Open(ctx, "INBOX", l.UIDValidity, uid)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	got, err := read(m.UID)
	if err != nil || !bytes.Equal(got, bodies[1]) {
		t.Fatalf("body: got %q, %v; want %q", got, err, bodies[1])
	}
	fetches := srv.Fetches()
	if _, err := read(m.UID); err != nil || srv.Fetches() != fetches {
		t.Errorf("second read: err %v, FETCH commands %d -> %d, want none", err, fetches, srv.Fetches())
	}

	if _, err := srv.Append("INBOX", []byte("Subject: new\r\n\r\nnew\r\n"), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if l, err = a.List(ctx, "INBOX", 0); err != nil || len(l.Messages) != 4 {
		t.Fatalf("List after new mail: %d messages, %v; want 4", len(l.Messages), err)
	}

	srv.SetDown(true)
	if l, err = a.List(ctx, "INBOX", 0); err != nil || len(l.Messages) != 4 {
		t.Errorf("List offline: %v, %v; want the 4 cached messages", l, err)
	}
	if _, err := read(l.Messages[0].UID); !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("uncached read offline: got %v, want ErrUnavailable", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c, err = cache.Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	a = c.Account("test", store, nil)
	if mbs, err := a.Mailboxes(ctx, 0); err != nil || len(mbs) == 0 {
		t.Errorf("Mailboxes after restart, offline: %v, %v", mbs, err)
	}
	if l, err = a.List(ctx, "INBOX", 0); err != nil || len(l.Messages) != 4 {
		t.Errorf("List after restart, offline: %v, %v", l, err)
	}
	if got, err := read(m.UID); err != nil || !bytes.Equal(got, bodies[1]) {
		t.Errorf("cached body after restart, offline: %q, %v", got, err)
	}
}

// TestBatchedReadsThroughCuts reads a cold folder in order over the real
// IMAP store, through a proxy with latency, and cuts every connection
// twice while batches are in flight: every read succeeds with the exact
// bytes (complete bodies stay cached, the rest are fetched again, a body
// cut short is never served), and the whole folder takes a few FETCH
// commands, not one per message.
func TestBatchedReadsThroughCuts(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	const n = 300
	var bodies [][]byte
	for i := range n {
		// Big enough (about 40 KB) that batches are on the wire when cut.
		msg := fmt.Appendf(nil, "Subject: m%d\r\n\r\n%s\r\n", i, bytes.Repeat(fmt.Appendf(nil, "line %d of message %d\r\n", i, i), 2000))
		if _, err := srv.Append("INBOX", msg, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, msg)
	}
	proxy := remotetest.NewProxy(t, srv.Addr, &remotetest.ProxyOptions{Latency: 10 * time.Millisecond})
	store := imap.New(&imap.Options{Server: remote.Server{
		Host: proxy.Host(), Port: proxy.Port(), TLS: remote.TLSNone, Username: srv.Username,
		Password:    func(context.Context) (string, error) { return srv.Password, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	t.Cleanup(func() { store.Close() })
	c, err := cache.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a := c.Account("test", store, nil)
	ctx := context.Background()
	l, err := a.List(ctx, "INBOX", 0)
	if err != nil || len(l.Messages) != n {
		t.Fatalf("List: %d messages, %v; want %d", len(l.Messages), err, n)
	}
	before := srv.Fetches()
	for i, m := range l.Messages {
		if i == 40 || i == 150 {
			proxy.CutAll()
		}
		f, err := a.Open(ctx, "INBOX", l.UIDValidity, m.UID)
		if err != nil {
			t.Fatalf("Open message %d: %v", i, err)
		}
		got, err := io.ReadAll(f)
		f.Close()
		if err != nil || !bytes.Equal(got, bodies[i]) {
			t.Fatalf("message %d: %d bytes, %v; want the %d bytes appended", i, len(got), err, len(bodies[i]))
		}
	}
	if got := srv.Fetches() - before; got > 30 {
		t.Errorf("FETCH commands for %d messages read in order: %d, want a few", n, got)
	}
}
