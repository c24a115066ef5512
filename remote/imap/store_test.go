package imap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

func TestMailboxes(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	for _, name := range []string{"Archive", "Archive/2024", "보관함", "Sent"} {
		if err := srv.CreateMailbox(name); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
	}
	s := testStore(t, srv, nil)
	mboxes, err := s.Mailboxes(context.Background())
	if err != nil {
		t.Fatalf("Mailboxes: %v", err)
	}
	byName := map[string]remote.Mailbox{}
	for _, m := range mboxes {
		byName[m.Name] = m
	}
	for _, want := range []string{"INBOX", "Archive", "Archive/2024", "보관함", "Sent"} {
		m, ok := byName[want]
		if !ok {
			t.Errorf("mailbox %q missing; got %v", want, mboxes)
			continue
		}
		if m.Delim != '/' {
			t.Errorf("%q: got delimiter %q, want '/'", want, m.Delim)
		}
	}
	if got, want := byName["Archive/2024"].Path(), []string{"Archive", "2024"}; !slices.Equal(got, want) {
		t.Errorf("Path of Archive/2024: got %q, want %q", got, want)
	}
	if len(mboxes) != 5 {
		t.Errorf("got %d mailboxes, want 5: %v", len(mboxes), mboxes)
	}
}

func TestStatus(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 3)
	s := testStore(t, srv, nil)
	st, err := s.Status(context.Background(), "INBOX")
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Messages != 3 || st.UIDNext != 4 || st.UIDValidity == 0 {
		t.Errorf("got %+v, want Messages 3, UIDNext 4, UIDValidity != 0", st)
	}

	// On a connection that has INBOX selected, Status uses EXAMINE.
	listAll(t, s, "INBOX", st.UIDValidity, 1)
	seed(t, srv, "INBOX", 1)
	st2, err := s.Status(context.Background(), "INBOX")
	if err != nil {
		t.Fatalf("Status after listing: %v", err)
	}
	if st2.Messages != 4 || st2.UIDNext != 5 || st2.UIDValidity != st.UIDValidity {
		t.Errorf("got %+v, want Messages 4, UIDNext 5, UIDValidity %d", st2, st.UIDValidity)
	}

	_, err = s.Status(context.Background(), "Nope")
	if !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Status of a missing mailbox: got %v, want ErrNotFound", err)
	}
	if err != nil && !strings.Contains(err.Error(), `"Nope"`) {
		t.Errorf("error %q does not name the mailbox", err)
	}
}

func TestMessages(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	want := seed(t, srv, "INBOX", 50)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")

	before := srv.Fetches()
	got := listAll(t, s, "INBOX", uv, 0)
	if n := srv.Fetches() - before; n != 1 {
		t.Errorf("listing 50 messages took %d FETCH commands, want 1", n)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.UID != w.uid {
			t.Errorf("message %d: got UID %d, want %d", i, g.UID, w.uid)
		}
		if g.Size != int64(len(w.msg)) {
			t.Errorf("UID %d: got size %d, want %d", w.uid, g.Size, len(w.msg))
		}
		if !g.InternalDate.Equal(w.date) {
			t.Errorf("UID %d: got date %v, want %v", w.uid, g.InternalDate, w.date)
		}
		_, gotOff := g.InternalDate.Zone()
		_, wantOff := w.date.Zone()
		if gotOff != wantOff {
			t.Errorf("UID %d: got zone offset %d, want %d (the server's zone)", w.uid, gotOff, wantOff)
		}
		if g.Subject != w.subject {
			t.Errorf("UID %d: got subject %q, want %q", w.uid, g.Subject, w.subject)
		}
		if wantID := "m" + itoa(i) + "@example.org"; g.MessageID != wantID {
			t.Errorf("UID %d: got Message-ID %q, want %q", w.uid, g.MessageID, wantID)
		}
		if !sameFlags(g.Flags, w.flags) {
			t.Errorf("UID %d: got flags %q, want %q", w.uid, g.Flags, w.flags)
		}
	}
}

// Listing gives what Messages gives from UID 1, and the status Status
// gives, in one round trip (no STATUS command).
func TestListing(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 20)
	s := testStore(t, srv, nil)
	ctx := context.Background()
	var got []remote.MessageInfo
	st, err := s.Listing(ctx, "INBOX", func(mi remote.MessageInfo) error {
		got = append(got, mi)
		return nil
	})
	if err != nil {
		t.Fatalf("Listing: %v", err)
	}
	want, err := s.Status(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st != want {
		t.Errorf("Listing's status: got %+v, want %+v (from Status)", st, want)
	}
	if all := listAll(t, s, "INBOX", st.UIDValidity, 0); !slices.EqualFunc(got, all, func(a, b remote.MessageInfo) bool {
		return a.UID == b.UID && a.Size == b.Size && a.Subject == b.Subject && a.InternalDate.Equal(b.InternalDate)
	}) {
		t.Errorf("Listing: got %d messages, want the %d Messages gives", len(got), len(all))
	}
	if _, err := s.Listing(ctx, "Nope", func(remote.MessageInfo) error { return nil }); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Listing of a missing mailbox: got %v, want ErrNotFound", err)
	}
}

func TestMessagesMinUID(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 50)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")

	got := listAll(t, s, "INBOX", uv, 41)
	var uids []uint32
	for _, m := range got {
		uids = append(uids, m.UID)
	}
	if want := []uint32{41, 42, 43, 44, 45, 46, 47, 48, 49, 50}; !slices.Equal(uids, want) {
		t.Errorf("Messages(min 41): got UIDs %v, want %v", uids, want)
	}
	// UID 51:* makes the server answer with the last message (UID 50).
	if got := listAll(t, s, "INBOX", uv, 51); len(got) != 0 {
		t.Errorf("Messages(min 51): got %d messages (first UID %d), want none", len(got), got[0].UID)
	}
}

func TestMessagesCallbackError(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	seed(t, srv, "INBOX", 20)
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 1 })
	uv := uidValidity(t, s, "INBOX")
	stop := errors.New("enough")
	n := 0
	err := s.Messages(context.Background(), "INBOX", uv, 1, func(remote.MessageInfo) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("got error %v after %d calls, want %v after 3", err, n, stop)
	}
	// The store still works on its one connection.
	if got := listAll(t, s, "INBOX", uv, 1); len(got) != 20 {
		t.Errorf("listing after a callback error: got %d messages, want 20", len(got))
	}
}

func TestFlags(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	want := seed(t, srv, "INBOX", 10)
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")
	got, err := s.Flags(context.Background(), "INBOX", uv)
	if err != nil {
		t.Fatalf("Flags: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d flag states, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].UID != w.uid || !sameFlags(got[i].Flags, w.flags) {
			t.Errorf("got %d %q, want %d %q", got[i].UID, got[i].Flags, w.uid, w.flags)
		}
	}
}

func TestFetch(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	msgs := seed(t, srv, "INBOX", 5)
	big := append(testMessage(99, "big"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 64<<10)...)
	bigUID, err := srv.Append("INBOX", big, nil, msgs[0].date)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	bodies := map[uint32][]byte{bigUID: big}
	for _, m := range msgs {
		bodies[m.uid] = m.msg
	}
	s := testStore(t, srv, nil)
	uv := uidValidity(t, s, "INBOX")

	ask := []uint32{bigUID, 1, 3, 77, 5} // 77 does not exist
	got := map[uint32][]byte{}
	var order []uint32
	before := srv.Fetches()
	err = s.Fetch(context.Background(), "INBOX", uv, ask, func(uid uint32, body io.Reader) error {
		order = append(order, uid)
		if uid == 3 {
			// Read a little only: the rest must be drained.
			b := make([]byte, 10)
			n, _ := io.ReadFull(body, b)
			got[uid] = b[:n]
			return nil
		}
		b, err := io.ReadAll(body)
		got[uid] = b
		return err
	})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if n := srv.Fetches() - before; n != 1 {
		t.Errorf("Fetch of 5 UIDs took %d FETCH commands, want 1", n)
	}
	if want := []uint32{1, 3, 5, bigUID}; !slices.Equal(order, want) {
		t.Errorf("got bodies of UIDs %v, want %v", order, want)
	}
	for _, uid := range []uint32{1, 5, bigUID} {
		if !bytes.Equal(got[uid], bodies[uid]) {
			t.Errorf("UID %d: got %d bytes, want %d bytes, byte-exact", uid, len(got[uid]), len(bodies[uid]))
		}
	}
	if !bytes.Equal(got[3], bodies[3][:10]) {
		t.Errorf("UID 3: got prefix %q, want %q", got[3], bodies[3][:10])
	}

	flags, err := srv.Flags("INBOX")
	if err != nil {
		t.Fatalf("server flags: %v", err)
	}
	for _, m := range msgs {
		wasSeen := slices.Contains(m.flags, `\Seen`)
		if isSeen := slices.Contains(flags[m.uid], `\Seen`); isSeen != wasSeen {
			t.Errorf("UID %d: \\Seen is %v after Fetch, want %v (fetching must not mark read)", m.uid, isSeen, wasSeen)
		}
	}
	if slices.Contains(flags[bigUID], `\Seen`) {
		t.Errorf("UID %d: got \\Seen after Fetch, want no flag change", bigUID)
	}
}

func TestUIDValidityChange(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	if err := srv.CreateMailbox("Work"); err != nil {
		t.Fatal(err)
	}
	seed(t, srv, "Work", 3)
	s := testStore(t, srv, func(o *Options) { o.MaxConns = 1 })
	uv := uidValidity(t, s, "Work")
	listAll(t, s, "Work", uv, 1) // the connection now has Work selected

	if err := srv.DeleteMailbox("Work"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateMailbox("Work"); err != nil {
		t.Fatal(err)
	}
	seed(t, srv, "Work", 1)

	_, err := s.Flags(context.Background(), "Work", uv)
	if !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("Flags after recreation: got %v, want ErrUIDValidity", err)
	}
	err = s.Messages(context.Background(), "Work", uv, 1, func(remote.MessageInfo) error { return nil })
	if !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("Messages after recreation: got %v, want ErrUIDValidity", err)
	}
	err = s.Fetch(context.Background(), "Work", uv, []uint32{1}, func(uint32, io.Reader) error { return nil })
	if !errors.Is(err, remote.ErrUIDValidity) {
		t.Errorf("Fetch after recreation: got %v, want ErrUIDValidity", err)
	}
	// The new UIDVALIDITY works.
	if got := listAll(t, s, "Work", uidValidity(t, s, "Work"), 1); len(got) != 1 {
		t.Errorf("listing with the new UIDVALIDITY: got %d messages, want 1", len(got))
	}

	err = s.Messages(context.Background(), "Gone", 1, 1, func(remote.MessageInfo) error { return nil })
	if !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Messages of a missing mailbox: got %v, want ErrNotFound", err)
	}
}

func TestRev1(t *testing.T) {
	srv := remotetest.NewIMAP(t, &remotetest.IMAPOptions{Rev1: true})
	if err := srv.CreateMailbox("보관함"); err != nil {
		t.Fatal(err)
	}
	want := seed(t, srv, "보관함", 7)
	s := testStore(t, srv, nil)
	caps, err := s.Check(context.Background())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if slices.Contains(caps, "IMAP4rev2") || !slices.Contains(caps, "IMAP4rev1") {
		t.Errorf("got caps %v, want IMAP4rev1 without IMAP4rev2", caps)
	}
	mboxes, err := s.Mailboxes(context.Background())
	if err != nil {
		t.Fatalf("Mailboxes: %v", err)
	}
	if !slices.ContainsFunc(mboxes, func(m remote.Mailbox) bool { return m.Name == "보관함" }) {
		t.Errorf("got mailboxes %v, want 보관함 among them", mboxes)
	}
	uv := uidValidity(t, s, "보관함")
	got := listAll(t, s, "보관함", uv, 1)
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Subject != want[i].subject {
			t.Errorf("UID %d: got subject %q, want %q", want[i].uid, got[i].Subject, want[i].subject)
		}
	}
	var body []byte
	err = s.Fetch(context.Background(), "보관함", uv, []uint32{want[2].uid}, func(_ uint32, r io.Reader) error {
		var err error
		body, err = io.ReadAll(r)
		return err
	})
	if err != nil || !bytes.Equal(body, want[2].msg) {
		t.Errorf("Fetch: got %d bytes, err %v; want %d bytes", len(body), err, len(want[2].msg))
	}
}

func TestConcurrentUseRespectsMaxConns(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	msgs := seed(t, srv, "INBOX", 8)
	var logs lockedBuffer
	s := testStore(t, srv, func(o *Options) {
		o.MaxConns = 2
		o.Logger = newTestLogger(&logs)
	})
	uv := uidValidity(t, s, "INBOX")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			m := msgs[i%len(msgs)]
			err := s.Fetch(context.Background(), "INBOX", uv, []uint32{m.uid}, func(_ uint32, r io.Reader) error {
				b, err := io.ReadAll(r)
				if err == nil && !bytes.Equal(b, m.msg) {
					err = errors.New("body differs")
				}
				return err
			})
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Fetch: %v", err)
	}
	if n := strings.Count(logs.String(), "imap connected"); n > 2 {
		t.Errorf("got %d connections, want at most MaxConns = 2", n)
	}
}

// With Spare, after the first command the pool dials a spare connection in
// the background, so that a second command beside the next one does not
// wait for a login; it never opens more than MaxConns. Without, it dials
// only on demand.
func TestSpareConnection(t *testing.T) {
	for _, tc := range []struct {
		maxConns int
		spare    bool
		want     int
	}{{1, true, 1}, {4, true, 2}, {4, false, 1}} {
		srv := remotetest.NewIMAP(t, nil)
		proxy := remotetest.NewProxy(t, srv.Addr, nil)
		s := testStore(t, srv, func(o *Options) {
			o.Host, o.Port = proxy.Host(), proxy.Port()
			o.MaxConns, o.Spare = tc.maxConns, tc.spare
		})
		if _, err := s.Status(context.Background(), "INBOX"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for proxy.Connections() < tc.want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // room for a connection too many
		if got := proxy.Connections(); got != tc.want {
			t.Errorf("MaxConns %d, Spare %v: %d connections after one command, want %d", tc.maxConns, tc.spare, got, tc.want)
		}
		// Two commands at once now find two connections ready.
		if tc.spare && tc.maxConns > 1 {
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if _, err := s.Status(context.Background(), "INBOX"); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := proxy.Connections(); got > 3 {
				t.Errorf("MaxConns %d: %d connections after two commands at once, want at most 3", tc.maxConns, got)
			}
		}
	}
}
