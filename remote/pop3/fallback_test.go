package pop3

import (
	"context"
	"strings"
	"testing"

	"mailfs/internal/header"
	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// TestFallbackKeyPinned pins keys that the code before internal/header
// computed (stores on disk hold them: a changed key downloads the message
// again): folded fields, CRLF and LF, repeated fields, a junk line, white
// space around a name, no header, 8-bit bytes. Each message goes through
// header.Collector whole and byte by byte, as TOP and RETR write it.
func TestFallbackKeyPinned(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		size int64
		key  string
	}{
		{"Message-ID: <1@x>\r\nDate: Fri, 20 Nov 2026 09:15:00 +0100\r\nFrom: A <a@x>\r\nTo: b@y\r\nSubject: hello\r\n\r\nbody\r\n", 100, "hdr-a1874ebf6821d45e689b6f7bc66cf3dfd0231760453570eeb8adef64d1360653"},
		{"Message-ID: <1@x>\nDate: Fri, 20 Nov 2026 09:15:00 +0100\nFrom: A <a@x>\nTo: b@y\nSubject: hello\n\nbody\n", 100, "hdr-a1874ebf6821d45e689b6f7bc66cf3dfd0231760453570eeb8adef64d1360653"},
		{"Subject: =?UTF-8?B?7JWI?=\r\n =?UTF-8?B?64WV?=\r\n\tend \r\nFrom: a@x\r\nTo:\r\n\tb@y,\r\n  c@z\r\n\r\nbody\r\n", 4242, "hdr-23228da699dae92c3a3a2ba08c8c2e69f94aadcc6aebb8b292f20066765cd28f"},
		{"Subject: folded\n\tby tab\n  and spaces\nDate: Mon, 1 Jan 2024\n 10:00:00 -0500\n\nbody\n", 7, "hdr-ddb15d440e66e89321caec4079ede495a615d814b335b051f92cefc3de6f805e"},
		{"Received: x\r\nSUBJECT : first\r\n  folded\r\njunk line\r\n orphan\r\nSubject: second\r\nmessage-id:<a@b>\r\nX-To: no\r\n\r\n", 1, "hdr-f578f59ca1e46afc93fad916e04e56f60f17ee629529c2785851d73910c4e7c3"},
		{" leading continuation\r\nFrom: me\r\nfrom: other\r\n\r\n", 2, "hdr-747455b6612a9bde2f2776f8aa06652f0b6d3bcfedba324bd6b6d412945baddc"},
		{"no header at all", 16, "hdr-625854e776e26828717d9a7a3c6d77328a75b8f6fc3f9e7b31bb42ce232beaa8"},
		{"\r\nbody only\r\nSubject: not a header\r\n", 30, "hdr-6f90f8847d3f68c3b09dd393be51cb52a1802c26fb8f8ea99595e11ab23203e5"},
		{"Subject: caf\xe9 \x00\r\nFrom: \xff\xfe\r\nMessage-Id:   spaced id   \r\n\r\n", 5, "hdr-aa9969b1914228862838819e4ce5665c782b600da580a2b08cead59d67d3b5e2"},
		{"Subject: a\r\r\nTo: b\r\n\r\n", 0, "hdr-bf243c259ce2d5584df7fdaccce0f409fa6fa13cee5955d9e7e3694de025aa92"},
		{"From: a\r\n\r\r\nSubject: after a CR line\r\n\r\n", 11, "hdr-5baf048add7c94482e0d0fa6b9803f6e45dc14d8ae2010335b7d29beb7f71d85"},
		{"Date: x", 0, "hdr-73d0d049b189057ed382e61e8ddc86f9eae1341eb3b21aed0766892b31620a1f"},
		{"Subject: no blank line\r\nFrom: x@y\r\n", 9, "hdr-99c75f82c1ea6a72e397508cc97da8eed725b1794e3bb183c464bf4de6756295"},
		// Names match after bytes.TrimSpace and bytes.ToLower, odd as that is.
		{"\vSubject: vertical tab\r\nMessage-\u0130D: <dotted@i>\r\nFrom\u00a0: nbsp\r\nTo:\r\n\r\n", 3, "hdr-4f0cb76a5279467001687143cdad7e7656614e8bdf468946ea50472c688d2106"},
	} {
		var whole, bytewise header.Collector
		whole.Write([]byte(tc.msg))
		for i := range len(tc.msg) {
			bytewise.Write([]byte{tc.msg[i]})
		}
		for how, hb := range map[string][]byte{"whole": whole.Bytes(), "byte by byte": bytewise.Bytes()} {
			if got := fallbackKey(hb, tc.size); got != tc.key {
				t.Errorf("key of %q (%s): got %s, want %s", tc.msg, how, got, tc.key)
			}
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
