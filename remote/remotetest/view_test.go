package remotetest

import (
	"slices"
	"testing"
	"time"
)

// TestViewFlags reads flags through a View: an empty mailbox has none (no
// FETCH 1:*, which servers refuse there), a message has its own.
func TestViewFlags(t *testing.T) {
	srv := NewIMAP(t, nil)
	if err := srv.CreateMailbox("Empty"); err != nil {
		t.Fatal(err)
	}
	uid, err := srv.Append("INBOX", []byte("Subject: x\r\n\r\nx\r\n"), []string{`\Seen`}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v := &View{Addr: srv.Addr, Username: srv.Username, Password: srv.Password}
	got, err := v.Flags("Empty")
	if err != nil || len(got) != 0 {
		t.Errorf("Flags(Empty) = %v, %v, want none", got, err)
	}
	got, err = v.Flags("INBOX")
	if err != nil || len(got) != 1 || !slices.Equal(got[uid], []string{`\Seen`}) {
		t.Errorf("Flags(INBOX) = %v, %v, want %d: [\\Seen]", got, err, uid)
	}
	if _, err := v.Flags("Nope"); err == nil {
		t.Errorf("Flags(Nope) = nil error, want the EXAMINE's")
	}
}
