package remotetest

import (
	"bufio"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTap relays a session to the in-process IMAP server and checks what
// the tap recorded.
func TestTap(t *testing.T) {
	srv := NewIMAP(t, nil)
	tap := NewTap(t, srv.Addr)
	c, err := net.Dial("tcp", tap.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if n := tap.ServerBytes(); n != int64(len(greeting)) {
		t.Errorf("after the greeting: got %d server bytes, want %d", n, len(greeting))
	}
	tap.Reset()
	if _, err := c.Write([]byte("a1 NOOP\r\na2 CAPA")); err != nil {
		t.Fatal(err)
	}
	answer, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(answer, "a1 OK") {
		t.Fatalf("NOOP: got %q, %v", answer, err)
	}
	if got := tap.Lines(); !slices.Equal(got, []string{"a1 NOOP"}) {
		t.Errorf("Lines: got %q, want [a1 NOOP] (the unfinished line not yet)", got)
	}
	if n := tap.ServerBytes(); n != int64(len(answer)) {
		t.Errorf("ServerBytes: got %d, want %d", n, len(answer))
	}
}
