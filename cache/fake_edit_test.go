package cache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"mailfs/remote"
)

// The write side of fakeStore: it is a remote.Editor and a
// remote.Appender that behaves like an IMAP server. Every change is counted
// in calls under its method name, fails like begin does when the server is
// down, then with the refuse knob's error, then checks the mailbox and its
// UIDVALIDITY before changing anything.

// fakeEdit holds fakeStore's write-side knobs and records (embedded in
// fakeStore; guarded by its mu: set them with fakeStore.knobs once the
// cache may be calling the store).
type fakeEdit struct {
	// noUIDPlus plays a server without UIDPLUS: Placed is zero, Expunge
	// fails with remote.ErrUnsupported, and so does Move with noMove.
	noUIDPlus bool
	// noMove plays a server without MOVE (it matters only with noUIDPlus).
	noMove bool
	// refuse maps a method name ("Move", "Append"…) to the error the
	// server answers it with before doing anything.
	refuse map[string]error
	// attrs maps a mailbox to its special-use LIST attributes, such as
	// `\Trash`.
	attrs map[string][]string
	// failAfterCopy plays a server without MOVE whose UID COPY succeeds
	// and whose STORE or UID EXPUNGE then fails: Move returns the copy's
	// Placed with this error, and the message is in both mailboxes.
	failAfterCopy error
	// crlf makes Append store bare LF line endings as CRLF, as servers
	// that keep messages in network form do.
	crlf bool
	// appended records every Append the server carried out.
	appended []fakeAppend
	// createdUIDValidity is the UIDVALIDITY of the last mailbox
	// CreateMailbox made (the next gets one more; 0: start at 2000).
	createdUIDValidity uint32
}

// fakeAppend is what one Append was given.
type fakeAppend struct {
	mailbox string
	flags   []string
	date    time.Time
	body    []byte
}

// fakeServerClock is the INTERNALDATE the fake server gives an appended
// message that came without a date.
var fakeServerClock = time.Date(2026, 11, 21, 7, 30, 0, 0, testZone)

var (
	_ remote.Editor   = (*fakeStore)(nil)
	_ remote.Appender = (*fakeStore)(nil)
)

// knobs runs set with the store locked, for setting fakeEdit's fields.
func (f *fakeStore) knobs(set func(k *fakeEdit)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	set(&f.fakeEdit)
}

// appends returns a copy of the Appends recorded so far.
func (f *fakeStore) appends() []fakeAppend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.appended)
}

// attrsLocked returns the LIST attributes of mailbox name: whether it has
// children, and its special-use attributes. f.mu is held.
func (f *fakeStore) attrsLocked(name string) []string {
	kids := `\HasNoChildren`
	for other := range f.boxes {
		if strings.HasPrefix(other, name+"/") {
			kids = `\HasChildren`
			break
		}
	}
	return append([]string{kids}, f.attrs[name]...)
}

// beginEdit counts a change, fails when the server is down, and then with
// the error refuse names for method.
func (f *fakeStore) beginEdit(ctx context.Context, method string) error {
	if _, err := f.begin(ctx, method, ""); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.refuse[method]; err != nil {
		return fmt.Errorf("%s: server said NO: %w", method, err)
	}
	return nil
}

// selectLocked returns mailbox name, checking its UIDVALIDITY as a SELECT
// before a change does. f.mu is held.
func (f *fakeStore) selectLocked(method, name string, uidValidity uint32) (*fakeBox, error) {
	b, ok := f.boxes[name]
	if !ok {
		return nil, fmt.Errorf("%s %s: %w", method, name, remote.ErrNotFound)
	}
	if b.uidValidity != uidValidity {
		return nil, fmt.Errorf("%s %s: UIDVALIDITY is %d, not %d: %w", method, name, b.uidValidity, uidValidity, remote.ErrUIDValidity)
	}
	return b, nil
}

// placed is where a message went, as the server says it: nothing without
// UIDPLUS. f.mu is held.
func (f *fakeStore) placedLocked(b *fakeBox, uid uint32) remote.Placed {
	if f.noUIDPlus {
		return remote.Placed{}
	}
	return remote.Placed{UIDValidity: b.uidValidity, UID: uid}
}

func (f *fakeStore) Move(ctx context.Context, from string, uidValidity, uid uint32, to string) (remote.Placed, error) {
	if err := f.beginEdit(ctx, "Move"); err != nil {
		return remote.Placed{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	src, err := f.selectLocked("Move", from, uidValidity)
	if err != nil {
		return remote.Placed{}, err
	}
	if f.noUIDPlus && f.noMove {
		return remote.Placed{}, fmt.Errorf("move %s: neither MOVE nor UIDPLUS: %w", from, remote.ErrUnsupported)
	}
	dst, ok := f.boxes[to]
	if !ok {
		return remote.Placed{}, fmt.Errorf("move %s to %s: [TRYCREATE]: %w", from, to, remote.ErrNotFound)
	}
	i := slices.IndexFunc(src.msgs, func(m *fakeMsg) bool { return m.info.UID == uid })
	if i < 0 {
		if f.noUIDPlus {
			return remote.Placed{}, nil // no COPYUID to tell
		}
		return remote.Placed{}, fmt.Errorf("move %s: no UID %d: %w", from, uid, remote.ErrNotFound)
	}
	m := src.msgs[i]
	moved := &fakeMsg{info: m.info, body: m.body}
	moved.info.Flags = slices.Clone(m.info.Flags)
	moved.info.UID = dst.uidNext
	dst.uidNext++
	dst.modseq++
	dst.msgs = append(dst.msgs, moved)
	placed := f.placedLocked(dst, moved.info.UID)
	if err := f.failAfterCopy; err != nil {
		return placed, fmt.Errorf("move %s: UID %d was copied to %s, but UID EXPUNGE failed: %w", from, uid, to, err)
	}
	src.msgs = slices.Delete(src.msgs, i, i+1)
	src.modseq++
	return placed, nil
}

func (f *fakeStore) Expunge(ctx context.Context, mailbox string, uidValidity, uid uint32) error {
	if err := f.beginEdit(ctx, "Expunge"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.selectLocked("Expunge", mailbox, uidValidity)
	if err != nil {
		return err
	}
	if f.noUIDPlus {
		return fmt.Errorf("expunge %s: no UID EXPUNGE without UIDPLUS: %w", mailbox, remote.ErrUnsupported)
	}
	n := len(b.msgs)
	b.msgs = slices.DeleteFunc(b.msgs, func(m *fakeMsg) bool { return m.info.UID == uid })
	if len(b.msgs) != n {
		b.modseq++
	}
	return nil
}

func (f *fakeStore) SetFlags(ctx context.Context, mailbox string, uidValidity, uid uint32, flags []string) error {
	if err := f.beginEdit(ctx, "SetFlags"); err != nil {
		return err
	}
	if _, err := remote.NormalizeFlags(flags); err != nil {
		return fmt.Errorf("set flags %s: %w", mailbox, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := f.selectLocked("SetFlags", mailbox, uidValidity)
	if err != nil {
		return err
	}
	for _, m := range b.msgs {
		if m.info.UID == uid {
			m.info.Flags = slices.Clone(flags)
			b.modseq++
		}
	}
	return nil
}

func (f *fakeStore) CreateMailbox(ctx context.Context, name string) error {
	if err := f.beginEdit(ctx, "CreateMailbox"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.boxes[name]; ok || isInbox(name) {
		return fmt.Errorf("create %s: %w", name, remote.ErrExists)
	}
	if f.createdUIDValidity == 0 {
		f.createdUIDValidity = 1999
	}
	f.createdUIDValidity++
	f.boxes[name] = &fakeBox{uidValidity: f.createdUIDValidity, uidNext: 1, modseq: 1}
	return nil
}

// DeleteMailbox deletes the mailbox and its messages, as IMAP's DELETE
// does; the mailboxes under it stay.
func (f *fakeStore) DeleteMailbox(ctx context.Context, name string) error {
	if err := f.beginEdit(ctx, "DeleteMailbox"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if isInbox(name) {
		return fmt.Errorf("delete %s: %w", name, remote.ErrRefused)
	}
	if _, ok := f.boxes[name]; !ok {
		return fmt.Errorf("delete %s: %w", name, remote.ErrNotFound)
	}
	delete(f.boxes, name)
	delete(f.attrs, name)
	return nil
}

// RenameMailbox renames the mailbox and the mailboxes under it. Renaming
// INBOX moves its messages to a new mailbox and leaves INBOX empty, as
// IMAP's RENAME does.
func (f *fakeStore) RenameMailbox(ctx context.Context, oldName, newName string) error {
	if err := f.beginEdit(ctx, "RenameMailbox"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.boxes[oldName]
	if !ok {
		return fmt.Errorf("rename %s: %w", oldName, remote.ErrNotFound)
	}
	if _, ok := f.boxes[newName]; ok || isInbox(newName) {
		return fmt.Errorf("rename %s to %s: %w", oldName, newName, remote.ErrExists)
	}
	if isInbox(oldName) {
		f.boxes[newName] = &fakeBox{uidValidity: b.uidValidity + 500, uidNext: b.uidNext, modseq: 1, msgs: b.msgs}
		b.msgs, b.uidValidity = nil, b.uidValidity+1
		return nil
	}
	for name, box := range f.boxes {
		rest, under := strings.CutPrefix(name, oldName)
		if !under || (rest != "" && !strings.HasPrefix(rest, "/")) {
			continue
		}
		delete(f.boxes, name)
		f.boxes[newName+rest] = box
		if a, ok := f.attrs[name]; ok {
			delete(f.attrs, name)
			f.attrs[newName+rest] = a
		}
	}
	return nil
}

// Append stores body as it is (with crlf, its bare LFs as CRLF) with date
// as INTERNALDATE (zero: fakeServerClock) and the flags given. It parses
// nothing but a Subject: line at the start of a line, for the listing.
func (f *fakeStore) Append(ctx context.Context, mailbox string, flags []string, date time.Time, body io.Reader, size int64) (remote.Placed, error) {
	if err := f.beginEdit(ctx, "Append"); err != nil {
		return remote.Placed{}, err
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return remote.Placed{}, fmt.Errorf("append %s: %w", mailbox, err)
	}
	if int64(len(data)) != size {
		return remote.Placed{}, fmt.Errorf("append %s: got %d bytes, announced %d: %w", mailbox, len(data), size, remote.ErrUnavailable)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.boxes[mailbox]
	if !ok {
		return remote.Placed{}, fmt.Errorf("append %s: [TRYCREATE]: %w", mailbox, remote.ErrNotFound)
	}
	f.appended = append(f.appended, fakeAppend{mailbox: mailbox, flags: slices.Clone(flags), date: date, body: slices.Clone(data)})
	stored := data
	if f.crlf {
		stored = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	}
	if date.IsZero() {
		date = fakeServerClock
	}
	uid := b.uidNext
	b.uidNext++
	b.modseq++
	b.msgs = append(b.msgs, &fakeMsg{
		info: remote.MessageInfo{
			UID:          uid,
			Size:         int64(len(stored)),
			InternalDate: date,
			Flags:        slices.Clone(flags),
			Subject:      scanSubject(stored),
		},
		body: stored,
	})
	return f.placedLocked(b, uid), nil
}

// scanSubject returns the value of the first "Subject: " line of msg's
// header (test-only: no unfolding, no decoding).
func scanSubject(msg []byte) string {
	for line := range strings.Lines(string(msg)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Subject: "); ok {
			return v
		}
	}
	return ""
}

// storeMsg returns the server's entry of message uid of mbox.
func (f *fakeStore) storeMsg(mbox string, uid uint32) (remote.MessageInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.boxes[mbox]
	if !ok {
		return remote.MessageInfo{}, false
	}
	for _, m := range b.msgs {
		if m.info.UID == uid {
			mi := m.info
			mi.Flags = slices.Clone(mi.Flags)
			return mi, true
		}
	}
	return remote.MessageInfo{}, false
}

// storeUIDs returns the UIDs of mbox on the server, nil when it does not
// exist.
func (f *fakeStore) storeUIDs(mbox string) []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.boxes[mbox]
	if !ok {
		return nil
	}
	out := []uint32{}
	for _, m := range b.msgs {
		out = append(out, m.info.UID)
	}
	return out
}

// hasBox reports whether mailbox name exists on the server.
func (f *fakeStore) hasBox(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.boxes[name]
	return ok
}

// totalCalls returns the number of calls of every method.
func (f *fakeStore) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}
