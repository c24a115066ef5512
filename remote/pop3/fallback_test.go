package pop3

import (
	"context"
	"strings"
	"testing"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

func TestIdentifyingFields(t *testing.T) {
	h := []byte("Received: x\r\nSUBJECT: first\r\n  folded\r\nSubject: second\r\nmessage-id:<a@b>\r\nFrom: A <a@b>\r\nX-To: no\r\n")
	got := identifyingFields(h)
	want := map[string]string{"subject": "first  folded", "message-id": "<a@b>", "from": "A <a@b>"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
}

func TestHeaderCollector(t *testing.T) {
	for _, tc := range []struct{ msg, header string }{
		{"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore", "A: 1\r\nB: 2\r\n"},
		{"A: 1\n\nbody", "A: 1\n"},
		{"\r\nbody only", ""},
		{"A: 1\r\nno separator", "A: 1\r\nno separator"},
	} {
		var h headerCollector
		for i := range len(tc.msg) {
			h.Write([]byte{tc.msg[i]}) // every boundary
		}
		if string(h.header()) != tc.header {
			t.Errorf("header of %q: got %q, want %q", tc.msg, h.header(), tc.header)
		}
	}
}

func TestFallbackKey(t *testing.T) {
	a := fallbackKey([]byte("Message-ID: <1@x>\r\nSubject: s\r\n"), 100)
	if !strings.HasPrefix(a, "hdr-") || len(a) != 4+64 {
		t.Fatalf("key %q: want hdr- and 64 hex digits", a)
	}
	for name, other := range map[string]string{
		"size":       fallbackKey([]byte("Message-ID: <1@x>\r\nSubject: s\r\n"), 101),
		"message-id": fallbackKey([]byte("Message-ID: <2@x>\r\nSubject: s\r\n"), 100),
		"subject":    fallbackKey([]byte("Message-ID: <1@x>\r\nSubject: t\r\n"), 100),
	} {
		if other == a {
			t.Errorf("a different %s gives the same key", name)
		}
	}
	if b := fallbackKey([]byte("Received: y\r\nSubject: s\r\nMessage-ID: <1@x>\r\nX-Spam: 3\r\n"), 100); b != a {
		t.Errorf("order and other fields changed the key: %s vs %s", b, a)
	}
}

// listKeys lists the maildrop in a new session.
func listKeys(t *testing.T, c *Client) []remote.DropMessage {
	t.Helper()
	s := connect(t, c)
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if err := s.Quit(context.Background()); err != nil {
		t.Fatal(err)
	}
	return list
}

func TestNoUIDLFallback(t *testing.T) {
	msgs := [][]byte{
		[]byte("Message-ID: <1@x>\r\nSubject: one\r\n\r\nbody\r\n"),
		[]byte("Message-ID: <2@x>\r\nSubject: two\r\n\r\nbody\r\n"),
		[]byte("Subject: no id\r\n\r\nbody\r\n"),
		[]byte("Subject: no id\r\n\r\nbody\r\n"), // a true duplicate
		[]byte("no header at all"),
	}
	var lists [][]remote.DropMessage
	for _, opts := range []*remotetest.POP3Options{{NoUIDL: true}, {NoUIDL: true}, {NoUIDL: true, NoTop: true}} {
		srv := remotetest.NewPOP3(t, opts)
		for _, m := range msgs {
			srv.Add(m)
		}
		c := clientFor(t, srv, remote.TLSNone, nil)
		first := listKeys(t, c)
		second := listKeys(t, c)
		for i := range first {
			if first[i] != second[i] {
				t.Fatalf("key of message %d changed between sessions: %+v then %+v", i+1, first[i], second[i])
			}
		}
		if opts.NoTop && srv.Retrs() == 0 {
			t.Error("without TOP the headers were not read with RETR")
		}
		lists = append(lists, first)
	}
	seen := map[string]bool{}
	for i, m := range lists[0] {
		if !strings.HasPrefix(m.UID, "hdr-") {
			t.Errorf("message %d: key %q, want hdr-…", i+1, m.UID)
		}
		if seen[m.UID] {
			t.Errorf("message %d: key %q repeats", i+1, m.UID)
		}
		seen[m.UID] = true
		// Other servers holding the same messages, with or without TOP,
		// give the same keys.
		for _, other := range lists[1:] {
			if other[i].UID != m.UID {
				t.Errorf("message %d: key %q on one server, %q on another", i+1, m.UID, other[i].UID)
			}
		}
	}
	if want := lists[0][2].UID + "-2"; lists[0][3].UID != want {
		t.Errorf("duplicate got key %q, want %q", lists[0][3].UID, want)
	}
	// Retrieve still works after the fallback listing (the session is in step).
	srv := remotetest.NewPOP3(t, &remotetest.POP3Options{NoUIDL: true})
	srv.Add(msgs[0])
	s := connect(t, clientFor(t, srv, remote.TLSNone, nil))
	if _, err := s.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := s.Retrieve(context.Background(), 1, &b); err != nil || b.String() != string(msgs[0]) {
		t.Fatalf("Retrieve after fallback List: %v, %q", err, b.String())
	}
}
