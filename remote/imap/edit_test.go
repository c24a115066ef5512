package imap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailfs/internal/interop"
	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// changeCommands are the commands that change mail (and SELECT, which
// opens a mailbox for them).
var changeCommands = []string{"SELECT", "STORE", "UID STORE", "COPY", "UID COPY", "MOVE", "UID MOVE", "EXPUNGE", "UID EXPUNGE"}

// counts snapshots the server's counters of names.
func counts(srv *remotetest.IMAP, names ...string) map[string]int64 {
	out := make(map[string]int64, len(names))
	for _, n := range names {
		out[n] = srv.Count(n)
	}
	return out
}

// checkSent fails unless the commands in want were sent since before as
// many times as want says, and every other one of changeCommands not at
// all.
func checkSent(t *testing.T, srv *remotetest.IMAP, before map[string]int64, want map[string]int64) {
	t.Helper()
	for _, n := range changeCommands {
		if got := srv.Count(n) - before[n]; got != want[n] {
			t.Errorf("%s commands: got %d, want %d", n, got, want[n])
		}
	}
	if n := srv.ReadWriteFetches(); n != 0 {
		t.Errorf("FETCH commands on a read-write selection: got %d, want 0", n)
	}
}

// serverUIDs reads the UIDs of mailbox on the server, bypassing the Store.
func serverUIDs(t *testing.T, srv *remotetest.IMAP, mailbox string) []uint32 {
	t.Helper()
	uids, err := srv.UIDs(mailbox)
	if err != nil {
		t.Fatalf("UIDs(%q): %v", mailbox, err)
	}
	return uids
}

// serverFlags reads the flags of message uid in mailbox on the server.
func serverFlags(t *testing.T, srv *remotetest.IMAP, mailbox string, uid uint32) []string {
	t.Helper()
	flags, err := srv.Flags(mailbox)
	if err != nil {
		t.Fatalf("Flags(%q): %v", mailbox, err)
	}
	return flags[uid]
}

// editServer starts a server with opts, INBOX holding three messages and an
// empty Archive, and a Store for it.
func editServer(t *testing.T, opts *remotetest.IMAPOptions) (*remotetest.IMAP, *Store, []seeded) {
	t.Helper()
	srv := remotetest.NewIMAP(t, opts)
	if err := srv.CreateMailbox("Archive"); err != nil {
		t.Fatal(err)
	}
	msgs := seed(t, srv, "INBOX", 3)
	return srv, testStore(t, srv, nil), msgs
}

func TestMoveWithMove(t *testing.T) {
	srv, s, msgs := editServer(t, nil)
	ctx := context.Background()
	uv := uidValidity(t, s, "INBOX")
	archiveUV := uidValidity(t, s, "Archive")
	before := counts(srv, changeCommands...)

	placed, err := s.Move(ctx, "INBOX", uv, msgs[1].uid, "Archive")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if !placed.Known() || placed.UIDValidity != archiveUV {
		t.Errorf("got Placed %+v, want UIDVALIDITY %d and a UID", placed, archiveUV)
	}
	body, err := srv.Body("Archive", placed.UID)
	if err != nil || !bytes.Equal(body, msgs[1].msg) {
		t.Errorf("body in Archive: got %q, %v; want %q", body, err, msgs[1].msg)
	}
	if got, want := serverUIDs(t, srv, "INBOX"), []uint32{msgs[0].uid, msgs[2].uid}; !slices.Equal(got, want) {
		t.Errorf("INBOX after Move: got UIDs %v, want %v", got, want)
	}
	checkSent(t, srv, before, map[string]int64{"SELECT": 1, "UID MOVE": 1})
}

// TestMoveFallback: without MOVE, UID COPY, UID STORE \Deleted and UID
// EXPUNGE of the one message; a message another client marked \Deleted
// stays.
func TestMoveFallback(t *testing.T) {
	srv, s, msgs := editServer(t, &remotetest.IMAPOptions{NoMove: true})
	ctx := context.Background()
	if err := srv.SetFlags("INBOX", msgs[0].uid, []string{`\Deleted`}); err != nil {
		t.Fatal(err)
	}
	uv := uidValidity(t, s, "INBOX")
	archiveUV := uidValidity(t, s, "Archive")
	before := counts(srv, changeCommands...)

	placed, err := s.Move(ctx, "INBOX", uv, msgs[2].uid, "Archive")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if !placed.Known() || placed.UIDValidity != archiveUV {
		t.Errorf("got Placed %+v, want UIDVALIDITY %d and a UID", placed, archiveUV)
	}
	body, err := srv.Body("Archive", placed.UID)
	if err != nil || !bytes.Equal(body, msgs[2].msg) {
		t.Errorf("body in Archive: got %q, %v; want %q", body, err, msgs[2].msg)
	}
	if got, want := serverUIDs(t, srv, "INBOX"), []uint32{msgs[0].uid, msgs[1].uid}; !slices.Equal(got, want) {
		t.Errorf("INBOX after Move: got UIDs %v, want %v (the other \\Deleted message stays)", got, want)
	}
	checkSent(t, srv, before, map[string]int64{"SELECT": 1, "UID COPY": 1, "UID STORE": 1, "UID EXPUNGE": 1})
}

// TestMoveWithoutUIDPlus: MOVE without UIDPLUS moves, and the Placed is
// unknown (no COPYUID).
func TestMoveWithoutUIDPlus(t *testing.T) {
	srv, s, msgs := editServer(t, &remotetest.IMAPOptions{NoUIDPlus: true})
	uv := uidValidity(t, s, "INBOX")
	before := counts(srv, changeCommands...)
	placed, err := s.Move(context.Background(), "INBOX", uv, msgs[0].uid, "Archive")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	if placed != (remote.Placed{}) {
		t.Errorf("got Placed %+v, want zero (no COPYUID without UIDPLUS)", placed)
	}
	if got := serverUIDs(t, srv, "Archive"); len(got) != 1 {
		t.Errorf("Archive after Move: got UIDs %v, want one message", got)
	}
	checkSent(t, srv, before, map[string]int64{"SELECT": 1, "UID MOVE": 1})
}

// TestMoveUnsupported: without MOVE and UIDPLUS, Move fails before
// sending anything.
func TestMoveUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *remotetest.IMAPOptions
	}{
		{"Rev1", &remotetest.IMAPOptions{Rev1: true}},
		{"NoMove NoUIDPlus", &remotetest.IMAPOptions{NoMove: true, NoUIDPlus: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, s, msgs := editServer(t, tc.opts)
			uv := uidValidity(t, s, "INBOX")
			before := counts(srv, changeCommands...)
			_, err := s.Move(context.Background(), "INBOX", uv, msgs[0].uid, "Archive")
			if !errors.Is(err, remote.ErrUnsupported) {
				t.Fatalf("got %v, want ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), "neither MOVE nor UIDPLUS") || !strings.Contains(err.Error(), "plain EXPUNGE") {
				t.Errorf("error %q does not say why", err)
			}
			checkSent(t, srv, before, nil)
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
		})
	}
}

// TestMoveCopyRefused: a refused COPY deletes nothing: the message stays,
// without \Deleted, and no STORE or EXPUNGE is sent.
func TestMoveCopyRefused(t *testing.T) {
	for _, tc := range []struct {
		code, text string
		want       error
	}{
		{"OVERQUOTA", "Quota exceeded", remote.ErrQuota},
		{"TRYCREATE", "No such mailbox", remote.ErrNotFound},
		{"", "Permission denied", remote.ErrRefused},
		{"SERVERBUG", "Internal error", remote.ErrUnavailable},
	} {
		t.Run(tc.code+" "+tc.text, func(t *testing.T) {
			srv, s, msgs := editServer(t, &remotetest.IMAPOptions{NoMove: true})
			uv := uidValidity(t, s, "INBOX")
			srv.Refuse("COPY", tc.code, tc.text)
			before := counts(srv, changeCommands...)
			_, err := s.Move(context.Background(), "INBOX", uv, msgs[1].uid, "Archive")
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), "UID COPY") {
				t.Errorf("error %q does not name UID COPY and carry the server's words", err)
			}
			checkSent(t, srv, before, map[string]int64{"SELECT": 1, "UID COPY": 1})
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
			if fl := serverFlags(t, srv, "INBOX", msgs[1].uid); slices.Contains(fl, `\Deleted`) {
				t.Errorf("flags of the message: got %v, want no \\Deleted", fl)
			}
			if got := serverUIDs(t, srv, "Archive"); len(got) != 0 {
				t.Errorf("Archive: got UIDs %v, want none", got)
			}
			// The connection still works.
			srv.Allow("COPY")
			if _, err := s.Move(context.Background(), "INBOX", uv, msgs[1].uid, "Archive"); err != nil {
				t.Errorf("Move after the refusal ended: %v", err)
			}
		})
	}
}

// TestMoveRefused: a refused UID MOVE maps as any NO and changes nothing.
func TestMoveRefused(t *testing.T) {
	for _, tc := range []struct {
		code, text string
		want       error
	}{
		{"OVERQUOTA", "Quota exceeded", remote.ErrQuota},
		{"CANNOT", "Cannot move to a virtual mailbox", remote.ErrRefused},
		{"", "Mailbox is read-only", remote.ErrRefused},
	} {
		t.Run(tc.code+" "+tc.text, func(t *testing.T) {
			srv, s, msgs := editServer(t, nil)
			uv := uidValidity(t, s, "INBOX")
			srv.Refuse("MOVE", tc.code, tc.text)
			_, err := s.Move(context.Background(), "INBOX", uv, msgs[0].uid, "Archive")
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
		})
	}
}

// TestMoveFallbackHalfDone: when the COPY succeeded and the STORE or the
// UID EXPUNGE failed, the message is in both mailboxes and the error says
// so, with the Placed of the copy.
func TestMoveFallbackHalfDone(t *testing.T) {
	for _, tc := range []struct {
		refuse  string
		deleted bool // the message in INBOX is marked \Deleted
	}{
		{"STORE", false},
		{"UID EXPUNGE", true},
	} {
		t.Run(tc.refuse, func(t *testing.T) {
			srv, s, msgs := editServer(t, &remotetest.IMAPOptions{NoMove: true})
			uv := uidValidity(t, s, "INBOX")
			srv.Refuse(tc.refuse, "", "Not now")
			placed, err := s.Move(context.Background(), "INBOX", uv, msgs[0].uid, "Archive")
			if err == nil {
				t.Fatal("Move succeeded, want an error")
			}
			if !strings.Contains(err.Error(), "both mailboxes") || !strings.Contains(err.Error(), "Not now") {
				t.Errorf("error %q does not say that the message is in both mailboxes, and why", err)
			}
			if !placed.Known() {
				t.Errorf("got Placed %+v, want the copy's", placed)
			}
			if got := serverUIDs(t, srv, "Archive"); !slices.Equal(got, []uint32{placed.UID}) {
				t.Errorf("Archive: got UIDs %v, want [%d]", got, placed.UID)
			}
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
			fl := serverFlags(t, srv, "INBOX", msgs[0].uid)
			if slices.Contains(fl, `\Deleted`) != tc.deleted {
				t.Errorf("flags in INBOX: got %v, want \\Deleted %v", fl, tc.deleted)
			}
		})
	}
}

// TestMoveMissing: a target that does not exist is ErrNotFound; a message
// that is not there moves nothing and the server says nothing of it.
func TestMoveMissing(t *testing.T) {
	for _, noMove := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoMove=%v", noMove), func(t *testing.T) {
			srv, s, msgs := editServer(t, &remotetest.IMAPOptions{NoMove: noMove})
			uv := uidValidity(t, s, "INBOX")
			_, err := s.Move(context.Background(), "INBOX", uv, msgs[0].uid, "Nowhere")
			if !errors.Is(err, remote.ErrNotFound) {
				t.Errorf("Move to a missing mailbox: got %v, want ErrNotFound", err)
			}
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
			placed, err := s.Move(context.Background(), "INBOX", uv, 999, "Archive")
			if err != nil || placed != (remote.Placed{}) {
				t.Errorf("Move of a missing UID: got %+v, %v; want zero Placed, nil", placed, err)
			}
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
		})
	}
}

func TestPlacedFrom(t *testing.T) {
	set := func(rs ...imap.UIDRange) imap.UIDSet { return imap.UIDSet(rs) }
	for _, tc := range []struct {
		name      string
		uid, uv   uint32
		src, dst  imap.UIDSet
		want      remote.Placed
		said, got bool
	}{
		{"none", 5, 0, nil, nil, remote.Placed{}, false, false},
		{"one", 5, 9, set(imap.UIDRange{Start: 5, Stop: 5}), set(imap.UIDRange{Start: 17, Stop: 17}), remote.Placed{UIDValidity: 9, UID: 17}, true, true},
		{"ranges", 12, 9, set(imap.UIDRange{Start: 3, Stop: 4}, imap.UIDRange{Start: 10, Stop: 12}), set(imap.UIDRange{Start: 100, Stop: 104}), remote.Placed{UIDValidity: 9, UID: 104}, true, true},
		{"split target", 4, 9, set(imap.UIDRange{Start: 1, Stop: 4}), set(imap.UIDRange{Start: 7, Stop: 8}, imap.UIDRange{Start: 20, Stop: 21}), remote.Placed{UIDValidity: 9, UID: 21}, true, true},
		{"not named", 6, 9, set(imap.UIDRange{Start: 5, Stop: 5}), set(imap.UIDRange{Start: 17, Stop: 17}), remote.Placed{}, true, false},
		{"short target", 2, 9, set(imap.UIDRange{Start: 1, Stop: 2}), set(imap.UIDRange{Start: 17, Stop: 17}), remote.Placed{}, true, false},
	} {
		p, said, ok := placedFrom(tc.uid, tc.uv, tc.src, tc.dst)
		if p != tc.want || said != tc.said || ok != tc.got {
			t.Errorf("%s: got %+v said %v ok %v, want %+v said %v ok %v", tc.name, p, said, ok, tc.want, tc.said, tc.got)
		}
	}
}

// TestExpunge: UID STORE \Deleted and UID EXPUNGE remove the one message;
// another that another client marked \Deleted stays.
func TestExpunge(t *testing.T) {
	srv, s, msgs := editServer(t, nil)
	if err := srv.SetFlags("INBOX", msgs[0].uid, []string{`\Deleted`, `\Seen`}); err != nil {
		t.Fatal(err)
	}
	uv := uidValidity(t, s, "INBOX")
	before := counts(srv, changeCommands...)
	if err := s.Expunge(context.Background(), "INBOX", uv, msgs[1].uid); err != nil {
		t.Fatalf("Expunge: %v", err)
	}
	if got, want := serverUIDs(t, srv, "INBOX"), []uint32{msgs[0].uid, msgs[2].uid}; !slices.Equal(got, want) {
		t.Errorf("INBOX after Expunge: got UIDs %v, want %v", got, want)
	}
	if fl := serverFlags(t, srv, "INBOX", msgs[0].uid); !slices.Contains(fl, `\Deleted`) {
		t.Errorf("the other client's message: got flags %v, want \\Deleted kept", fl)
	}
	checkSent(t, srv, before, map[string]int64{"SELECT": 1, "UID STORE": 1, "UID EXPUNGE": 1})

	// A UID that is not there is gone already.
	if err := s.Expunge(context.Background(), "INBOX", uv, 999); err != nil {
		t.Errorf("Expunge of a missing UID: got %v, want nil", err)
	}
}

// TestExpungeUnsupported: without UIDPLUS, Expunge fails before sending
// anything.
func TestExpungeUnsupported(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *remotetest.IMAPOptions
	}{
		{"Rev1", &remotetest.IMAPOptions{Rev1: true}},
		{"NoUIDPlus", &remotetest.IMAPOptions{NoUIDPlus: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, s, msgs := editServer(t, tc.opts)
			uv := uidValidity(t, s, "INBOX")
			before := counts(srv, changeCommands...)
			err := s.Expunge(context.Background(), "INBOX", uv, msgs[0].uid)
			if !errors.Is(err, remote.ErrUnsupported) {
				t.Fatalf("got %v, want ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), "UIDPLUS") {
				t.Errorf("error %q does not say why", err)
			}
			checkSent(t, srv, before, nil)
			if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
				t.Errorf("INBOX: got UIDs %v, want all 3", got)
			}
		})
	}
}

// TestExpungeRefused: a refused STORE expunges nothing.
func TestExpungeRefused(t *testing.T) {
	srv, s, msgs := editServer(t, nil)
	uv := uidValidity(t, s, "INBOX")
	srv.Refuse("STORE", "NOPERM", "No permission to delete")
	before := counts(srv, changeCommands...)
	err := s.Expunge(context.Background(), "INBOX", uv, msgs[0].uid)
	if !errors.Is(err, remote.ErrRefused) {
		t.Fatalf("got %v, want ErrRefused", err)
	}
	checkSent(t, srv, before, map[string]int64{"SELECT": 1, "UID STORE": 1})
	if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
		t.Errorf("INBOX: got UIDs %v, want all 3", got)
	}
}

// TestSetFlags: the flags become exactly the set given, and the reads
// after it, on the same connection, set no \Seen.
func TestSetFlags(t *testing.T) {
	srv, _, msgs := editServer(t, nil)
	// One connection: the reads below reuse the one that changed flags.
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 1 })
	ctx := context.Background()
	uv := uidValidity(t, s, "INBOX")
	target := msgs[0].uid
	for _, tc := range []struct {
		set, want []string
	}{
		{[]string{`\Flagged`, `$Label1`}, []string{`\Flagged`, `$Label1`}},
		{[]string{`\answered`, `\Seen`, `\Answered`}, []string{`\Answered`, `\Seen`}},
		{nil, nil},
	} {
		if err := s.SetFlags(ctx, "INBOX", uv, target, tc.set); err != nil {
			t.Fatalf("SetFlags(%q): %v", tc.set, err)
		}
		if got := serverFlags(t, srv, "INBOX", target); !sameFlags(got, tc.want) {
			t.Errorf("SetFlags(%q): got flags %q, want %q", tc.set, got, tc.want)
		}
	}

	// Clear \Seen on the others, then read their bodies and listings.
	for _, m := range msgs[1:] {
		if err := s.SetFlags(ctx, "INBOX", uv, m.uid, nil); err != nil {
			t.Fatal(err)
		}
	}
	examines := srv.Count("EXAMINE")
	err := s.Fetch(ctx, "INBOX", uv, []uint32{msgs[1].uid, msgs[2].uid}, func(_ uint32, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	listAll(t, s, "INBOX", uv, 1)
	if _, err := s.Flags(ctx, "INBOX", uv); err != nil {
		t.Fatalf("Flags: %v", err)
	}
	if srv.Count("EXAMINE") == examines {
		t.Errorf("reads after SetFlags sent no EXAMINE")
	}
	if n := srv.ReadWriteFetches(); n != 0 {
		t.Errorf("FETCH commands on a read-write selection: got %d, want 0", n)
	}
	flags, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if slices.Contains(flags[m.uid], `\Seen`) {
			t.Errorf("UID %d: got flags %q after reads, want no \\Seen", m.uid, flags[m.uid])
		}
	}
}

// TestSetFlagsInvalid: what is not an IMAP flag, and \Recent, fail with
// ErrInvalid before anything is sent.
func TestSetFlagsInvalid(t *testing.T) {
	srv, s, msgs := editServer(t, nil)
	uv := uidValidity(t, s, "INBOX")
	before := counts(srv, changeCommands...)
	for _, flags := range [][]string{{`\Recent`}, {"two words"}, {`\Unknown`}, {"a(b"}} {
		err := s.SetFlags(context.Background(), "INBOX", uv, msgs[0].uid, flags)
		if !errors.Is(err, remote.ErrInvalid) {
			t.Errorf("SetFlags(%q): got %v, want ErrInvalid", flags, err)
		}
	}
	checkSent(t, srv, before, nil)
}

// TestEditUIDValidity: every change checks the caller's UIDVALIDITY
// before changing anything.
func TestEditUIDValidity(t *testing.T) {
	for _, opts := range []*remotetest.IMAPOptions{nil, {NoMove: true}} {
		srv, s, msgs := editServer(t, opts)
		ctx := context.Background()
		uv := uidValidity(t, s, "INBOX")
		uid := msgs[0].uid
		for _, tc := range []struct {
			name string
			do   func() error
		}{
			{"Move", func() error { _, err := s.Move(ctx, "INBOX", uv+1, uid, "Archive"); return err }},
			{"Expunge", func() error { return s.Expunge(ctx, "INBOX", uv+1, uid) }},
			{"SetFlags", func() error { return s.SetFlags(ctx, "INBOX", uv+1, uid, []string{`\Flagged`}) }},
		} {
			before := counts(srv, changeCommands...)
			if err := tc.do(); !errors.Is(err, remote.ErrUIDValidity) {
				t.Errorf("%s with a wrong UIDVALIDITY: got %v, want ErrUIDValidity", tc.name, err)
			}
			checkSent(t, srv, before, map[string]int64{"SELECT": 1})
		}
		if got := serverUIDs(t, srv, "INBOX"); len(got) != 3 {
			t.Errorf("INBOX: got UIDs %v, want all 3", got)
		}
		if got := serverUIDs(t, srv, "Archive"); len(got) != 0 {
			t.Errorf("Archive: got UIDs %v, want none", got)
		}
		if fl := serverFlags(t, srv, "INBOX", uid); !sameFlags(fl, msgs[0].flags) {
			t.Errorf("flags: got %q, want %q", fl, msgs[0].flags)
		}
		// The store still works with the right one.
		if err := s.SetFlags(ctx, "INBOX", uv, uid, []string{`\Flagged`}); err != nil {
			t.Errorf("SetFlags after the refusals: %v", err)
		}
	}
}

// scriptedServer is a fake IMAP server with the capabilities caps (after
// login) that answers the commands of a change, and records them. An
// answer given for a verb ("UID MOVE") is sent instead of the usual one,
// with the command's tag for TAG at the start of a line and for "TAG".
func scriptedServer(t *testing.T, caps string, answer map[string]string) *fakeServer {
	t.Helper()
	return newFakeServer(t, "* OK fake ready", func(w *bufio.Writer, tag, cmd string) {
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		if verb == "UID" {
			verb = strings.ToUpper(strings.Join(strings.SplitN(cmd, " ", 3)[:2], " "))
		}
		if a, ok := answer[verb]; ok {
			// TAG is the command's tag where a line starts with it and
			// where it is quoted (an ESEARCH correlator: (TAG "TAG")).
			a = strings.ReplaceAll(a, `"TAG"`, `"`+tag+`"`)
			a = strings.ReplaceAll("\n"+a, "\nTAG ", "\n"+tag+" ")[1:]
			fmt.Fprintf(w, "%s\r\n", a)
			return
		}
		switch verb {
		case "CAPABILITY":
			fmt.Fprintf(w, "* CAPABILITY IMAP4rev1\r\n%s OK done\r\n", tag)
		case "LOGIN":
			fmt.Fprintf(w, "%s OK [CAPABILITY %s] logged in\r\n", tag, caps)
		case "LOGOUT":
			fmt.Fprintf(w, "* BYE\r\n%s OK bye\r\n", tag)
		case "SELECT":
			fmt.Fprintf(w, "* 3 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-WRITE] done\r\n", tag)
		case "EXAMINE":
			fmt.Fprintf(w, "* 3 EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n* OK [UIDNEXT 10] ok\r\n%s OK [READ-ONLY] done\r\n", tag)
		case "UID COPY":
			fmt.Fprintf(w, "%s OK [COPYUID 43 7 20] done\r\n", tag)
		case "UID MOVE":
			fmt.Fprintf(w, "* OK [COPYUID 43 7 20] moved\r\n* 3 EXPUNGE\r\n%s OK done\r\n", tag)
		case "UID EXPUNGE":
			fmt.Fprintf(w, "* 3 EXPUNGE\r\n%s OK done\r\n", tag)
		default: // UID STORE, UNSELECT, CREATE, DELETE, RENAME, CLOSE, EXPUNGE…
			fmt.Fprintf(w, "%s OK done\r\n", tag)
		}
	})
}

// sentCommands returns the command lines f received after the login.
func sentCommands(f *fakeServer) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.commands {
		if v := strings.ToUpper(strings.SplitN(c, " ", 2)[0]); v != "LOGIN" && v != "CAPABILITY" && v != "LOGOUT" {
			out = append(out, c)
		}
	}
	return out
}

func logins(f *fakeServer) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.commands {
		if strings.HasPrefix(c, "LOGIN ") {
			n++
		}
	}
	return n
}

// TestEditCommands checks the exact commands of each change, and that the
// read-write selection ends with UNSELECT, or with EXAMINE on a server
// without UNSELECT: never CLOSE, never a plain EXPUNGE.
func TestEditCommands(t *testing.T) {
	ctx := context.Background()
	move := func(s *Store) error { _, err := s.Move(ctx, "INBOX", 42, 7, "Archive"); return err }
	expunge := func(s *Store) error { return s.Expunge(ctx, "INBOX", 42, 7) }
	setFlags := func(s *Store) error { return s.SetFlags(ctx, "INBOX", 42, 7, []string{`\Seen`, "$Work"}) }
	clearFlags := func(s *Store) error { return s.SetFlags(ctx, "INBOX", 42, 7, nil) }
	for _, tc := range []struct {
		name string
		caps string
		do   func(*Store) error
		want []string
	}{
		{"Move MOVE", "IMAP4rev1 MOVE UIDPLUS UNSELECT", move,
			[]string{"SELECT INBOX", `UID MOVE 7 "Archive"`, "UNSELECT"}},
		{"Move fallback", "IMAP4rev1 UIDPLUS UNSELECT", move,
			[]string{"SELECT INBOX", `UID COPY 7 "Archive"`, `UID STORE 7 +FLAGS.SILENT (\Deleted)`, "UID EXPUNGE 7", "UNSELECT"}},
		{"Move fallback without UNSELECT", "IMAP4rev1 UIDPLUS", move,
			[]string{"SELECT INBOX", `UID COPY 7 "Archive"`, `UID STORE 7 +FLAGS.SILENT (\Deleted)`, "UID EXPUNGE 7", "EXAMINE INBOX"}},
		{"Move IMAP4rev2", "IMAP4rev2", move,
			[]string{"SELECT INBOX", `UID MOVE 7 "Archive"`, "UNSELECT"}},
		{"Expunge", "IMAP4rev1 UIDPLUS UNSELECT", expunge,
			[]string{"SELECT INBOX", `UID STORE 7 +FLAGS.SILENT (\Deleted)`, "UID EXPUNGE 7", "UNSELECT"}},
		{"SetFlags", "IMAP4rev1 UNSELECT", setFlags,
			[]string{"SELECT INBOX", `UID STORE 7 FLAGS.SILENT ($Work \Seen)`, "UNSELECT"}},
		{"SetFlags clear without UNSELECT", "IMAP4rev1", clearFlags,
			[]string{"SELECT INBOX", `UID STORE 7 FLAGS.SILENT ()`, "EXAMINE INBOX"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := scriptedServer(t, tc.caps, nil)
			s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
			if err := tc.do(s); err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if got := sentCommands(f); !slices.Equal(got, tc.want) {
				t.Errorf("got commands\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestEditFailedLeaveDropsConnection: a connection whose read-write
// selection could not be closed serves nothing more.
func TestEditFailedLeaveDropsConnection(t *testing.T) {
	f := scriptedServer(t, "IMAP4rev1 UNSELECT", map[string]string{"UNSELECT": "TAG BAD no"})
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
	for range 2 {
		if err := s.SetFlags(context.Background(), "INBOX", 42, 7, nil); err != nil {
			t.Fatalf("SetFlags: %v", err)
		}
	}
	if n := logins(f); n != 2 {
		t.Errorf("got %d logins, want 2 (a new connection after the failed UNSELECT)", n)
	}
}

// TestNoPlainExpungeInSources: the package's code never calls go-imap's
// Expunge (a plain EXPUNGE) or UnselectAndExpunge (CLOSE), and calls Move
// only where the server has MOVE (moveUID): go-imap's Move falls back to
// COPY, STORE and EXPUNGE without waiting.
func TestNoPlainExpungeInSources(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch {
				case sel.Sel.Name == "Expunge" && len(call.Args) == 0,
					sel.Sel.Name == "UnselectAndExpunge",
					sel.Sel.Name == "Move" && len(call.Args) == 2 && fn.Name.Name != "moveUID":
					t.Errorf("%s: %s calls %s", fset.Position(call.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}

// TestEditConcurrent: changes and reads at once on a small pool leave no
// \Seen and no read on a read-write selection.
func TestEditConcurrent(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	msgs := seed(t, srv, "INBOX", 12)
	for _, m := range msgs {
		if err := srv.SetFlags("INBOX", m.uid, nil); err != nil {
			t.Fatal(err)
		}
	}
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 2 })
	ctx := context.Background()
	uv := uidValidity(t, s, "INBOX")
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() {
			if i%2 == 0 {
				if err := s.SetFlags(ctx, "INBOX", uv, m.uid, []string{`\Flagged`}); err != nil {
					t.Errorf("SetFlags %d: %v", m.uid, err)
				}
				return
			}
			err := s.Fetch(ctx, "INBOX", uv, []uint32{m.uid}, func(_ uint32, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			})
			if err != nil {
				t.Errorf("Fetch %d: %v", m.uid, err)
			}
		})
	}
	wg.Wait()
	if n := srv.ReadWriteFetches(); n != 0 {
		t.Errorf("FETCH commands on a read-write selection: got %d, want 0", n)
	}
	flags, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		want := []string{}
		if i%2 == 0 {
			want = []string{`\Flagged`}
		}
		if !sameFlags(flags[m.uid], want) {
			t.Errorf("UID %d: got flags %q, want %q", m.uid, flags[m.uid], want)
		}
	}
}

// dovecotStore starts a private Dovecot advertising caps ("" = its own
// list) with INBOX holding n messages, and returns it, its user and a
// Store logged in as that user.
func dovecotStore(t *testing.T, caps string, n int) (*interop.Dovecot, string, *Store) {
	t.Helper()
	d := interop.StartDovecot(t, &interop.DovecotOptions{IMAPCapability: caps}) // skips when Dovecot is missing
	var user, pass string
	for u, p := range d.Users {
		user, pass = u, p
	}
	for i := range n {
		d.Deliver(t, user, "INBOX", testMessage(i, fmt.Sprintf("message %d", i)))
	}
	s := New(&Options{MaxConns: 2, Server: remote.Server{
		Host: d.Host, Port: d.IMAPPort, TLS: remote.TLSNone, Username: user, Account: "dovecot",
		Password:    func(context.Context) (string, error) { return pass, nil },
		DialTimeout: 5 * time.Second, CommandTimeout: 10 * time.Second,
	}})
	t.Cleanup(func() { s.Close() })
	return d, user, s
}

// TestDovecotEdit runs the changes against a real Dovecot, with its own
// capabilities and as a server without MOVE (the fallback), without MOVE
// and UNSELECT (the selection is closed with EXAMINE), and without MOVE
// and UIDPLUS (Move and Expunge refused), checking the server's state
// with doveadm.
func TestDovecotEdit(t *testing.T) {
	const base = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE CHILDREN NAMESPACE LIST-EXTENDED LITERAL+"
	for _, tc := range []struct {
		name        string
		caps        string
		unsupported bool // neither MOVE nor UIDPLUS
	}{
		{"own capabilities", "", false},
		{"no MOVE", base + " UNSELECT UIDPLUS", false},
		{"no MOVE no UNSELECT", base + " UIDPLUS", false},
		{"no MOVE no UIDPLUS", base + " UNSELECT", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, user, s := dovecotStore(t, tc.caps, 4)
			ctx := context.Background()
			if err := s.CreateMailbox(ctx, "Archive"); err != nil {
				t.Fatalf("CreateMailbox: %v", err)
			}
			uv := uidValidity(t, s, "INBOX")
			held := d.Messages(t, user, "INBOX")
			uids := slices.Sorted(maps.Keys(held))
			if len(uids) != 4 {
				t.Fatalf("got UIDs %v, want 4", uids)
			}
			// Another client's \Deleted mark must survive.
			if err := s.SetFlags(ctx, "INBOX", uv, uids[0], []string{`\Deleted`}); err != nil {
				t.Fatalf("SetFlags: %v", err)
			}

			placed, err := s.Move(ctx, "INBOX", uv, uids[1], "Archive")
			switch {
			case tc.unsupported:
				if !errors.Is(err, remote.ErrUnsupported) {
					t.Errorf("Move: got %v, want ErrUnsupported", err)
				}
			case err != nil:
				t.Errorf("Move: %v", err)
			default:
				moved := d.Messages(t, user, "Archive")
				if !placed.Known() || !bytes.Equal(moved[placed.UID], held[uids[1]]) {
					t.Errorf("Move: got Placed %+v, Archive holds %d messages; want the message there", placed, len(moved))
				}
			}

			err = s.Expunge(ctx, "INBOX", uv, uids[2])
			if tc.unsupported != errors.Is(err, remote.ErrUnsupported) || (!tc.unsupported && err != nil) {
				t.Errorf("Expunge: got %v, want ErrUnsupported %v", err, tc.unsupported)
			}

			if err := s.SetFlags(ctx, "INBOX", uv, uids[3], []string{`\Flagged`, "$Work"}); err != nil {
				t.Errorf("SetFlags: %v", err)
			}
			// Reads after the changes set no \Seen.
			err = s.Fetch(ctx, "INBOX", uv, uids, func(_ uint32, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			})
			if err != nil {
				t.Errorf("Fetch: %v", err)
			}
			listAll(t, s, "INBOX", uv, 1)

			want := map[uint32][]string{uids[0]: {`\Deleted`}, uids[3]: {`\Flagged`, "$Work"}}
			if tc.unsupported {
				want[uids[1]], want[uids[2]] = []string{}, []string{}
			}
			got := d.Flags(t, user, "INBOX")
			if len(got) != len(want) {
				t.Errorf("INBOX holds UIDs %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			for uid, w := range want {
				if !sameFlags(got[uid], w) {
					t.Errorf("UID %d: got flags %q, want %q", uid, got[uid], w)
				}
			}

			if err := s.SetFlags(ctx, "INBOX", uv+1, uids[3], nil); !errors.Is(err, remote.ErrUIDValidity) {
				t.Errorf("SetFlags with a wrong UIDVALIDITY: got %v, want ErrUIDValidity", err)
			}
		})
	}
}

// TestEditNotRetried: a change whose connection fails once the changing
// command is out is not sent again on another connection (it may have
// been made), unlike a read.
func TestEditNotRetried(t *testing.T) {
	f := scriptedServer(t, "IMAP4rev1 MOVE UIDPLUS UNSELECT", map[string]string{"UID MOVE": "TAG WHAT?"})
	s := fakeStore(t, f, func(o *remote.Server) { o.CommandTimeout = 5 * time.Second })
	ctx := context.Background()
	if err := s.SetFlags(ctx, "INBOX", 42, 7, nil); err != nil { // pools a connection
		t.Fatal(err)
	}
	_, err := s.Move(ctx, "INBOX", 42, 7, "Archive")
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	n := 0
	for _, c := range sentCommands(f) {
		if strings.HasPrefix(c, "UID MOVE") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("got %d UID MOVE commands, want 1", n)
	}
}

// rawIMAP logs in to srv over a plain connection and sends each command
// line, returning the tagged answer of each ("OK …", "NO …", "BAD …").
func rawIMAP(t *testing.T, srv *remotetest.IMAP, commands ...string) []string {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil { // greeting
		t.Fatal(err)
	}
	var answers []string
	for i, cmd := range append([]string{fmt.Sprintf("LOGIN %q %q", srv.Username, srv.Password)}, commands...) {
		tag := fmt.Sprintf("t%d", i)
		fmt.Fprintf(conn, "%s %s\r\n", tag, cmd)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if rest, ok := strings.CutPrefix(line, tag+" "); ok {
				answers = append(answers, strings.TrimSpace(rest))
				break
			}
		}
	}
	return answers[1:]
}

// TestIMAPServerKnobs checks the test server itself: a capability taken
// away is also a command refused (BAD), so that the tests above prove what
// mailfs did not send; COPYUID and APPENDUID go with UIDPLUS; a mailbox
// opened with EXAMINE cannot be changed.
func TestIMAPServerKnobs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     *remotetest.IMAPOptions
		commands []string
		want     []string // prefixes of the answers
		count    string   // a command Count must report once
	}{
		{"NoMove refuses MOVE", &remotetest.IMAPOptions{NoMove: true},
			[]string{"CAPABILITY", "SELECT INBOX", "UID MOVE 1 Archive", "MOVE 1 Archive", "UID EXPUNGE 1"},
			[]string{"OK", "OK", "BAD", "BAD", "OK"}, "UID MOVE"},
		{"NoUIDPlus refuses UID EXPUNGE", &remotetest.IMAPOptions{NoUIDPlus: true},
			[]string{"SELECT INBOX", "UID EXPUNGE 1", "UID COPY 1 Archive", "UID MOVE 2 Archive"},
			[]string{"OK", "BAD", "OK COPY", "OK"}, "UID EXPUNGE"},
		{"Rev1 refuses both", &remotetest.IMAPOptions{Rev1: true},
			[]string{"SELECT INBOX", "UID MOVE 1 Archive", "UID EXPUNGE 1"},
			[]string{"OK", "BAD", "BAD"}, "UID MOVE"},
		{"read-only", nil,
			[]string{"EXAMINE INBOX", `UID STORE 1 +FLAGS (\Deleted)`, "UID EXPUNGE 1", "EXPUNGE", "UID MOVE 1 Archive", "UID COPY 1 Archive"},
			[]string{"OK", "NO", "NO", "NO", "NO", "OK [COPYUID"}, "EXAMINE"},
		{"UIDPLUS answers", nil,
			[]string{"SELECT INBOX", "UID COPY 1 Archive", "UID COPY 99 Archive", "UID MOVE 99 Archive"},
			[]string{"OK", "OK [COPYUID", "OK COPY", "OK"}, "SELECT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _, _ := editServer(t, tc.opts)
			got := rawIMAP(t, srv, tc.commands...)
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("%s: got %q, want %s…", tc.commands[i], got[i], w)
				}
			}
			if n := srv.Count(tc.count); n != 1 {
				t.Errorf("Count(%q): got %d, want 1", tc.count, n)
			}
		})
	}

	// The capabilities advertised.
	for _, tc := range []struct {
		opts      *remotetest.IMAPOptions
		has, lack []imap.Cap
	}{
		{nil, []imap.Cap{imap.CapIMAP4rev2, imap.CapMove, imap.CapUIDPlus}, nil},
		{&remotetest.IMAPOptions{NoMove: true}, []imap.Cap{imap.CapUIDPlus, imap.CapUnselect}, []imap.Cap{imap.CapMove, imap.CapIMAP4rev2}},
		{&remotetest.IMAPOptions{NoUIDPlus: true}, []imap.Cap{imap.CapMove}, []imap.Cap{imap.CapUIDPlus, imap.CapIMAP4rev2}},
		{&remotetest.IMAPOptions{Rev1: true}, []imap.Cap{imap.CapUnselect}, []imap.Cap{imap.CapMove, imap.CapUIDPlus, imap.CapIMAP4rev2}},
	} {
		srv := remotetest.NewIMAP(t, tc.opts)
		caps, err := testStore(t, srv, nil).Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range tc.has {
			if !slices.Contains(caps, string(c)) {
				t.Errorf("%+v: got caps %v, want %s", tc.opts, caps, c)
			}
		}
		for _, c := range tc.lack {
			if slices.Contains(caps, string(c)) {
				t.Errorf("%+v: got caps %v, want no %s", tc.opts, caps, c)
			}
		}
	}

	// APPEND without UIDPLUS: no APPENDUID.
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{NoUIDPlus: true})
	msg := testMessage(1, "x")
	placed, err := testStore(t, srv, nil).Append(context.Background(), "INBOX", nil, time.Time{}, bytes.NewReader(msg), int64(len(msg)))
	if err != nil || placed != (remote.Placed{}) {
		t.Errorf("Append without UIDPLUS: got %+v, %v; want zero Placed", placed, err)
	}
	// The helpers' connections are not counted.
	if _, err := srv.Flags("INBOX"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("EXAMINE") + srv.Fetches(); n != 0 {
		t.Errorf("helper connections counted: got %d EXAMINE and FETCH, want 0", n)
	}
}

// TestServerErrKindEdits: the refusals changes meet, with a code or in
// words only.
func TestServerErrKindEdits(t *testing.T) {
	no := func(code imap.ResponseCode, text string) imap.Error {
		return imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	for _, tc := range []struct {
		err  imap.Error
		want error
	}{
		{no("READ-ONLY", "Mailbox is read-only."), remote.ErrRefused},
		{no("", "Mailbox is read-only"), remote.ErrRefused},
		{no("", "Cannot expunge: mailbox opened read only"), remote.ErrRefused},
		{no(imap.ResponseCodeCannot, "Cannot move into a virtual folder"), remote.ErrRefused},
		{no(imap.ResponseCodeAlreadyExists, "Mailbox already exists"), remote.ErrExists},
		{no("", "Mailbox already exists"), remote.ErrExists},
		{no(imap.ResponseCodeHasChildren, "Mailbox has children, delete them first"), remote.ErrNotEmpty},
		{no("", "Mailbox has inferior hierarchical names"), remote.ErrNotEmpty},
		{no(imap.ResponseCodeNonExistent, "Mailbox doesn't exist: Nope"), remote.ErrNotFound},
		{no(imap.ResponseCodeTryCreate, "Mailbox doesn't exist: Nope"), remote.ErrNotFound},
		{no(imap.ResponseCodeOverQuota, "Quota exceeded (mailbox for user is full)"), remote.ErrQuota},
		{no("", "Source and destination mailboxes are identical"), remote.ErrUnavailable},
		{imap.Error{Type: imap.StatusResponseTypeBad, Text: "Error in IMAP command UID STORE: Invalid system flag \\RECENT"}, remote.ErrUnavailable},
	} {
		if got := serverErrKind(&tc.err); got != tc.want {
			t.Errorf("%s [%s] %s: got %v, want %v", tc.err.Type, tc.err.Code, tc.err.Text, got, tc.want)
		}
	}
}
