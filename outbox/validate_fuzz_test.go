package outbox

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// FuzzDraft writes any bytes into a draft, in pieces of any size, the way
// the fs layer does, and commits it: validation (the header checked as its
// blank line is written, and again at Commit) never panics; a refusal is an
// error wrapping ErrInvalid (EINVAL) that leaves the message in failed/; an
// accepted message is queued with at least one recipient and a From:.
func FuzzDraft(f *testing.F) {
	for _, s := range []string{
		"To: bob@example.org\r\nSubject: hi\r\n\r\nHi!\r\n",
		"From: me@home.example\nTo: a@b.example, \"C D\" <c@d.example>\nBcc: e@f.example\n\nbody\n",
		"From: stranger@else.example\r\nCc: x@y.example\r\n\r\n",
		"Subject: no recipients\r\n\r\nbody\r\n",
		"To: \r\nCc:\r\nBcc: undisclosed-recipients:;\r\n\r\n",
		"To: =?UTF-8?B?7JWI?= <a@b.example>\r\nFrom: =?x-unknown?Q?z?= <me@work.example>\r\n\r\n",
		"To: a@b.example", "To: a@b.example\r\n", "\r\n\r\n", "From:\r\nTo: a@b.example\r\n\r\n",
		"To: <@route:a@b.example>\r\n\r\n", "To: \"unterminated <a@b.example>\r\n\r\n",
		"To: a@b.example\r\n continued: x\r\n\r\n", " To: a@b.example\r\n\r\n", "To: a@b.example\x00\r\n\r\n",
		"To: ünïcödé@exämple.org\r\n\r\n", "To: group: a@b.example, c@d.example;\r\n\r\n",
		"b0VIM 9.0\x00\x00\x00\x00" + strings.Repeat("\x00", 64),
	} {
		f.Add(s, uint16(7))
	}
	dir := f.TempDir() + "/spool"
	ob, err := Open(&Options{
		Dir: dir,
		Accounts: []Account{
			{Name: "work", Addresses: []string{"me@work.example"}, Default: true, Sender: &fakeSender{}},
			{Name: "home", Addresses: []string{"me@home.example"}, Sender: &fakeSender{}},
		},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxHeaderBytes: 4 << 10,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ob.Close() })
	f.Fuzz(func(t *testing.T, msg string, piece uint16) {
		size := 1 + int(piece)%97
		d, err := ob.Create("fuzz.eml")
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		defer d.Abort()
		var werr error
		for off := 0; off < len(msg) && werr == nil; off += size {
			_, werr = d.WriteAt([]byte(msg[off:min(off+size, len(msg))]), int64(off))
		}
		if werr != nil && !errors.Is(werr, ErrInvalid) {
			t.Fatalf("write %q: got %v, want nil or an error wrapping ErrInvalid", msg, werr)
		}
		err = d.Commit()
		name := d.Name()
		switch {
		case msg == "":
			if err != nil {
				t.Fatalf("commit of an empty draft: got %v, want nil", err)
			}
		case err != nil:
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("commit %q: got %v, want an error wrapping ErrInvalid", msg, err)
			}
			if werr != nil && !errors.Is(werr, ErrInvalid) {
				t.Fatalf("commit %q after a write error %v: got %v", msg, werr, err)
			}
			if rerr := ob.RemoveFailed(name); rerr != nil {
				t.Fatalf("refused message %q (%v) not in failed/: %v", msg, err, rerr)
			}
		default:
			if werr != nil {
				t.Fatalf("commit %q: queued although a write failed with %v", msg, werr)
			}
			e, serr := ob.Stat(name)
			if serr != nil {
				t.Fatalf("accepted %q, but Stat(%q): %v", msg, name, serr)
			}
			if len(e.Recipients) == 0 {
				t.Fatalf("accepted %q without a recipient", msg)
			}
			for _, r := range e.Recipients {
				if strings.TrimSpace(r) == "" {
					t.Fatalf("accepted %q with an empty recipient in %q", msg, e.Recipients)
				}
			}
			if e.From == "" || e.Account == "" {
				t.Fatalf("accepted %q with envelope sender %q, account %q", msg, e.From, e.Account)
			}
			if rerr := ob.Remove(name); rerr != nil {
				t.Fatalf("Remove(%q): %v", name, rerr)
			}
		}
	})
}
