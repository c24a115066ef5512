package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"mailfs/remote"
)

// TestMailboxNamesExact lists names whose modified UTF-7 holds control
// characters, "&" and non-ASCII, and checks that Mailboxes gives them
// decoded exactly and that a command on one sends the server's spelling back.
func TestMailboxNamesExact(t *testing.T) {
	listed := map[string]string{ // as the server spells it → decoded
		"INBOX":          "INBOX",
		"a&AAk-b":        "a\tb",
		"new&AAo-line":   "new\nline",
		"del&AH8-":       "del\x7f",
		"amp&-x":         "amp&x",
		"&ZeVnLIqe-":     "日本語",
		"a&JAk-b":        "a\u2409b",
		"&AOk-/sub&AAA-": "é/sub\x00",
	}
	var order []string
	for k := range listed {
		order = append(order, k)
	}
	slices.Sort(order)
	f := newFakeServer(t, "* OK fake ready", loginHandler(func(w *bufio.Writer, tag, cmd string) {
		verb, args, _ := strings.Cut(cmd, " ")
		switch strings.ToUpper(verb) {
		case "LIST":
			for _, n := range order {
				fmt.Fprintf(w, "* LIST () \"/\" %s\r\n", n)
			}
			fmt.Fprintf(w, "%s OK done\r\n", tag)
		case "STATUS":
			name, _, _ := strings.Cut(args, " (")
			fmt.Fprintf(w, "* STATUS %s (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 3)\r\n%s OK done\r\n", name, tag)
		default:
			fmt.Fprintf(w, "%s BAD unknown\r\n", tag)
		}
	}))
	s := fakeStore(t, f, func(*remote.Server) {})
	mboxes, err := s.Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mboxes {
		got = append(got, m.Name)
	}
	var want []string
	for _, n := range order {
		want = append(want, listed[n])
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Mailboxes = %q, want %q", got, want)
	}
	for _, n := range order {
		if n == "INBOX" {
			continue
		}
		if _, err := s.Status(context.Background(), listed[n]); err != nil {
			t.Errorf("Status(%q): %v", listed[n], err)
		}
		f.mu.Lock()
		last := f.commands[len(f.commands)-1]
		f.mu.Unlock()
		if wantCmd := fmt.Sprintf("STATUS %q (", n); !strings.HasPrefix(last, wantCmd) {
			t.Errorf("Status(%q) sent %q, want the server's spelling: %s…", listed[n], last, wantCmd)
		}
	}
}

// TestMailboxNameNotUTF7 documents what go-imap does with a name that is
// neither valid modified UTF-7 nor UTF-8 (a server that sends raw 8-bit
// names): the whole LIST fails and the connection is closed, so Mailboxes
// fails with ErrUnavailable rather than listing the rest.
func TestMailboxNameNotUTF7(t *testing.T) {
	for _, bad := range []string{"caf\xe9", "imp&AGE", "sur&2AA-"} {
		f := newFakeServer(t, "* OK fake ready", loginHandler(func(w *bufio.Writer, tag, cmd string) {
			fmt.Fprintf(w, "* LIST () \"/\" INBOX\r\n* LIST () \"/\" %s\r\n%s OK done\r\n", bad, tag)
		}))
		s := fakeStore(t, f, func(*remote.Server) {})
		_, err := s.Mailboxes(context.Background())
		if !errors.Is(err, remote.ErrUnavailable) || !strings.Contains(err.Error(), "LIST") {
			t.Errorf("LIST with %q: got %v, want ErrUnavailable naming LIST", bad, err)
		}
	}
}
