package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/mail"
	"strings"
	"testing"

	"mailfs/internal/config"
)

// TestCorpus renders a corpus twice: the same bytes each time, the word in
// exactly the planned messages, the folder shares and sizes of the plan,
// and every message parseable with its Date and Message-ID.
func TestCorpus(t *testing.T) {
	const n = 2000
	c := NewCorpus(n)
	digest := func() []byte {
		h := sha256.New()
		for m := range c.All() {
			h.Write([]byte(m.Mailbox))
			h.Write(m.Text)
		}
		return h.Sum(nil)
	}
	if a, b := digest(), digest(); !bytes.Equal(a, b) {
		t.Fatal("two renderings of the corpus differ")
	}

	var withWord, attachments, small, total int
	folders := map[string]int{}
	var prev mail.Header
	for m := range c.All() {
		folders[m.Mailbox]++
		total++
		if bytes.Contains(m.Text, []byte(Word)) {
			withWord++
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Text))
		if err != nil {
			t.Fatalf("message %d: %v", total, err)
		}
		if _, err := msg.Header.Date(); err != nil {
			t.Errorf("message %d: Date: %v", total, err)
		}
		if msg.Header.Get("Message-ID") == "" || msg.Header.Get("Message-ID") == prev.Get("Message-ID") {
			t.Errorf("message %d: Message-ID %q missing or repeated", total, msg.Header.Get("Message-ID"))
		}
		prev = msg.Header
		body, _ := io.ReadAll(msg.Body)
		switch ct := msg.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "multipart/mixed"):
			attachments++
			if len(body) < minAttach {
				t.Errorf("message %d with an attachment: %d bytes, want at least %d", total, len(body), minAttach)
			}
		case len(body) < maxBody+4096:
			if len(body) < 10<<10 {
				small++
			}
		default:
			t.Errorf("message %d (%s): body of %d bytes, want at most ~%d", total, ct, len(body), maxBody)
		}
		if bytes.Contains(m.Text, []byte("\n")) && bytes.Count(m.Text, []byte("\r\n")) != bytes.Count(m.Text, []byte("\n")) {
			t.Errorf("message %d: a line ends without CRLF", total)
		}
	}
	if total != n {
		t.Fatalf("messages: got %d, want %d", total, n)
	}
	if withWord != c.WithWord {
		t.Errorf("messages with %s: got %d, want %d (the plan)", Word, withWord, c.WithWord)
	}
	if lo, hi := n*3/100, n*7/100; c.WithWord < lo || c.WithWord > hi {
		t.Errorf("messages with %s: got %d, want about 5%% of %d", Word, c.WithWord, n)
	}
	if attachments != c.Attachments || attachments < n/100 || attachments > n*4/100 {
		t.Errorf("messages with attachments: got %d (plan %d), want about 2%% of %d", attachments, c.Attachments, n)
	}
	if small < n/3 {
		t.Errorf("messages under 10 KB: got %d of %d, want most to be small", small, n)
	}
	for _, f := range corpusFolders {
		got, want := folders[f.name], n*f.percent/100
		if got != c.Folders[f.name] || got < want*7/10 || got > want*13/10 {
			t.Errorf("folder %s: got %d (plan %d), want about %d", f.name, got, c.Folders[f.name], want)
		}
	}
}

func TestLsMessages(t *testing.T) {
	n := 0
	for m := range LsMessages(500) {
		n++
		if m.Mailbox != "" || len(m.Text) > 4<<10 || bytes.Contains(m.Text, []byte(Word)) {
			t.Fatalf("ls message %d: mailbox %q, %d bytes; want INBOX, small, without the word", n, m.Mailbox, len(m.Text))
		}
	}
	if n != 500 {
		t.Errorf("ls messages: got %d, want 500", n)
	}
}

// TestMailfsConfig checks the generated config with mailfs's own strict
// parser.
func TestMailfsConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(mailfsConfig("/tmp/cache", "127.0.0.1", 1143)), "mailbench.toml")
	if err != nil {
		t.Fatalf("mailfs config: %v", err)
	}
	if len(cfg.Accounts) != 2 || cfg.Accounts[0].Name != corpusUser || cfg.Accounts[1].Name != lsUser {
		t.Errorf("accounts: got %+v, want %s and %s", cfg.Accounts, corpusUser, lsUser)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  options
		error bool
	}{
		{nil, options{n: 10000, ls: 10000, rtt: 50e6}, false},
		{[]string{"-smoke"}, options{n: 200, ls: 500, smoke: true}, false},
		{[]string{"-smoke", "-n", "50", "-rtt", "5ms"}, options{n: 50, ls: 500, rtt: 5e6, smoke: true}, false},
		{[]string{"-n", "0"}, options{}, true},
		{[]string{"-rtt", "-1s"}, options{}, true},
		{[]string{"extra"}, options{}, true},
	} {
		got, err := parseFlags(tc.args, io.Discard)
		if (err != nil) != tc.error {
			t.Errorf("parseFlags(%q): got error %v, want error %v", tc.args, err, tc.error)
			continue
		}
		if !tc.error && got != tc.want {
			t.Errorf("parseFlags(%q): got %+v, want %+v", tc.args, got, tc.want)
		}
	}
}
