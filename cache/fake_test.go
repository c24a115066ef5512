package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"mailfs/remote"
)

// fakeStore is an in-memory remote.Store that counts calls and can
// simulate an unreachable server, UIDVALIDITY changes, expunges, flag
// changes and bodies whose size differs from the listed one.
type fakeStore struct {
	mu         sync.Mutex
	boxes      map[string]*fakeBox
	down       bool
	condstore  bool              // report HIGHESTMODSEQ
	calls      map[string]int    // method name -> calls
	minUIDs    []uint32          // minUID of each Messages call
	gate       chan struct{}     // when set, Status and Fetch wait for it to close
	entered    chan string       // when set, receives the method name on entry
	onMessage  func(mbox string) // called (without mu) at the start of Messages
	afterFlags func()            // called (without mu) when Flags has its answer
	// cutAfter, when > 0, makes the next Fetch deliver that many bodies
	// whole, then the start of the next one, and fail as a broken
	// connection does.
	cutAfter int
	fetched  []uint32 // UIDs of every body Fetch delivered whole
	fakeEdit          // write-side knobs (fake_edit_test.go)
}

type fakeBox struct {
	uidValidity uint32
	uidNext     uint32
	modseq      uint64
	msgs        []*fakeMsg // ascending UID
}

type fakeMsg struct {
	info remote.MessageInfo
	body []byte
}

func newFakeStore() *fakeStore {
	f := &fakeStore{boxes: map[string]*fakeBox{}, calls: map[string]int{}, condstore: true}
	f.create("INBOX")
	return f
}

func (f *fakeStore) create(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.boxes[name] = &fakeBox{uidValidity: 1000, uidNext: 1, modseq: 1}
}

func (f *fakeStore) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.boxes, name)
}

var testZone = time.FixedZone("", -5*3600)

// add appends a message and returns its UID. The listed size is the body's
// plus lie.
func (f *fakeStore) add(mbox, subject string, flags ...string) uint32 {
	return f.addSized(mbox, subject, 0, flags...)
}

func (f *fakeStore) addSized(mbox, subject string, lie int64, flags ...string) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.boxes[mbox]
	uid := b.uidNext
	b.uidNext++
	b.modseq++
	body := fmt.Appendf(nil, "Subject: %s\r\nMessage-ID: <%d@test>\r\n\r\nbody of message %d\r\n", subject, uid, uid)
	b.msgs = append(b.msgs, &fakeMsg{
		info: remote.MessageInfo{
			UID:          uid,
			Size:         int64(len(body)) + lie,
			InternalDate: time.Date(2026, 11, 20, 9, 15, int(uid%60), 0, testZone),
			Flags:        flags,
			Subject:      subject,
			MessageID:    fmt.Sprintf("%d@test", uid),
		},
		body: body,
	})
	return uid
}

func (f *fakeStore) expunge(mbox string, uid uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.boxes[mbox]
	b.msgs = slices.DeleteFunc(b.msgs, func(m *fakeMsg) bool { return m.info.UID == uid })
	b.modseq++
}

func (f *fakeStore) setFlags(mbox string, uid uint32, flags ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.boxes[mbox]
	for _, m := range b.msgs {
		if m.info.UID == uid {
			m.info.Flags = flags
		}
	}
	b.modseq++
}

// renumber gives the mailbox a new UIDVALIDITY and new UIDs.
func (f *fakeStore) renumber(mbox string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.boxes[mbox]
	b.uidValidity++
	b.uidNext = 1
	for _, m := range b.msgs {
		m.info.UID = b.uidNext
		b.uidNext++
	}
	b.modseq++
}

func (f *fakeStore) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *fakeStore) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *fakeStore) resetCounts() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.calls)
	f.minUIDs = nil
}

// begin counts a call, waits at the gate (Status and Fetch) and fails when
// the server is down.
func (f *fakeStore) begin(ctx context.Context, method, mbox string) (*fakeBox, error) {
	f.mu.Lock()
	f.calls[method]++
	gate, entered := f.gate, f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- method
	}
	if gate != nil && (method == "Status" || method == "Fetch") {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("%s: dial 127.0.0.1:1: connection refused: %w", method, remote.ErrUnavailable)
	}
	if mbox == "" {
		return nil, nil
	}
	b, ok := f.boxes[mbox]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", method, mbox, remote.ErrNotFound)
	}
	return b, nil
}

func (f *fakeStore) Mailboxes(ctx context.Context) ([]remote.Mailbox, error) {
	if _, err := f.begin(ctx, "Mailboxes", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []remote.Mailbox
	for name := range f.boxes {
		out = append(out, remote.Mailbox{Name: name, Delim: '/', Attrs: f.attrsLocked(name)})
	}
	slices.SortFunc(out, func(a, b remote.Mailbox) int { return cmpString(a.Name, b.Name) })
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fakeStore) Status(ctx context.Context, mbox string) (remote.MailboxStatus, error) {
	b, err := f.begin(ctx, "Status", mbox)
	if err != nil {
		return remote.MailboxStatus{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := remote.MailboxStatus{UIDValidity: b.uidValidity, UIDNext: b.uidNext, Messages: uint32(len(b.msgs))}
	if f.condstore {
		st.HighestModSeq = b.modseq
	}
	return st, nil
}

func (f *fakeStore) Flags(ctx context.Context, mbox string, uidValidity uint32) ([]remote.FlagState, error) {
	b, err := f.begin(ctx, "Flags", mbox)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if b.uidValidity != uidValidity {
		return nil, fmt.Errorf("flags %s: %w", mbox, remote.ErrUIDValidity)
	}
	var out []remote.FlagState
	for _, m := range b.msgs {
		out = append(out, remote.FlagState{UID: m.info.UID, Flags: slices.Clone(m.info.Flags)})
	}
	if h := f.afterFlags; h != nil {
		f.mu.Unlock()
		h()
		f.mu.Lock()
	}
	return out, nil
}

func (f *fakeStore) Messages(ctx context.Context, mbox string, uidValidity, minUID uint32, fn func(remote.MessageInfo) error) error {
	f.mu.Lock()
	hook := f.onMessage
	f.mu.Unlock()
	if hook != nil {
		hook(mbox)
	}
	b, err := f.begin(ctx, "Messages", mbox)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.minUIDs = append(f.minUIDs, minUID)
	if b.uidValidity != uidValidity {
		f.mu.Unlock()
		return fmt.Errorf("messages %s: %w", mbox, remote.ErrUIDValidity)
	}
	var infos []remote.MessageInfo
	for _, m := range b.msgs {
		if m.info.UID >= minUID {
			mi := m.info
			mi.Flags = slices.Clone(mi.Flags)
			infos = append(infos, mi)
		}
	}
	f.mu.Unlock()
	for _, mi := range infos {
		if err := fn(mi); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) Fetch(ctx context.Context, mbox string, uidValidity uint32, uids []uint32, fn func(uint32, io.Reader) error) error {
	b, err := f.begin(ctx, "Fetch", mbox)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if b.uidValidity != uidValidity {
		f.mu.Unlock()
		return fmt.Errorf("fetch %s: %w", mbox, remote.ErrUIDValidity)
	}
	bodies := map[uint32][]byte{}
	for _, m := range b.msgs {
		if slices.Contains(uids, m.info.UID) {
			bodies[m.info.UID] = m.body
		}
	}
	cut := f.cutAfter
	f.cutAfter = 0
	f.mu.Unlock()
	for _, uid := range uids {
		body, ok := bodies[uid]
		if !ok {
			continue
		}
		if cut == 1 {
			short := io.MultiReader(bytes.NewReader(body[:len(body)/2]), errReader{io.ErrUnexpectedEOF})
			err := fn(uid, short)
			return fmt.Errorf("fetch %s: connection reset mid-body (callback: %v): %w", mbox, err, remote.ErrUnavailable)
		}
		cut--
		if err := fn(uid, bytes.NewReader(body)); err != nil {
			return err
		}
		f.mu.Lock()
		f.fetched = append(f.fetched, uid)
		f.mu.Unlock()
	}
	return nil
}

// fetchedUIDs returns the UIDs of every body Fetch delivered whole.
func (f *fakeStore) fetchedUIDs() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.fetched)
}

// errReader fails every read with its error.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func (f *fakeStore) body(mbox string, uid uint32) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.boxes[mbox].msgs {
		if m.info.UID == uid {
			return m.body
		}
	}
	return nil
}

func (f *fakeStore) Close() error { return nil }

var _ remote.Store = (*fakeStore)(nil)
