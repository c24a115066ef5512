package fs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"mailfs/remote"
)

// watchedFake is a fakeSource that is Watched. A test changes the
// "server" (fakeSource.add, expunge, setServerFlags), then publish makes
// the cached listing the server's and tells the subscribers of a
// remote.Change, as a background sync of the cache does.
type watchedFake struct {
	*fakeSource

	subsMu sync.Mutex
	subs   []func(remote.Change)
}

var _ Watched = (*watchedFake)(nil)

func newWatchedFake(src *fakeSource) *watchedFake {
	return &watchedFake{fakeSource: src}
}

// Subscribe adds fn to the functions publish calls.
func (w *watchedFake) Subscribe(fn func(remote.Change)) {
	w.subsMu.Lock()
	defer w.subsMu.Unlock()
	w.subs = append(w.subs, fn)
}

// publish syncs the cached listing of ch.Mailbox with the "server", then
// calls the subscribers with ch, holding no lock.
func (w *watchedFake) publish(t *testing.T, ch remote.Change) {
	t.Helper()
	if _, err := w.List(context.Background(), ch.Mailbox, 0); err != nil {
		t.Fatalf("publish: %v", err)
	}
	w.subsMu.Lock()
	subs := slices.Clone(w.subs)
	w.subsMu.Unlock()
	for _, fn := range subs {
		fn(ch)
	}
	// Now the bodies of removed messages go, as the cache deletes them
	// once its subscribers have returned.
	w.fakeSource.mu.Lock()
	w.fakeSource.vanishing = nil
	w.fakeSource.mu.Unlock()
}

// expunge deletes message uid from the "server" and its body file, which
// Open still serves until the next publish has told the subscribers (as
// the cache deletes the body of a vanished message after that), and
// returns it as it was listed.
func (w *watchedFake) expunge(t *testing.T, mailbox string, uid uint32) remote.MessageInfo {
	t.Helper()
	f := w.fakeSource
	f.mu.Lock()
	defer f.mu.Unlock()
	msgs := f.server[mailbox]
	i := slices.IndexFunc(msgs, func(m fakeMessage) bool { return m.info.UID == uid })
	if i < 0 {
		t.Fatalf("expunge %s/%d: no such message", mailbox, uid)
	}
	info := msgs[i].info
	if f.vanishing == nil {
		f.vanishing = map[string][]fakeMessage{}
	}
	f.vanishing[mailbox] = append(f.vanishing[mailbox], msgs[i])
	f.server[mailbox] = slices.Delete(slices.Clone(msgs), i, i+1)
	// The name fakeSource.Open writes the body under.
	if err := os.Remove(filepath.Join(f.dir, fmt.Sprintf("%x-%d", mailbox, uid))); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return info
}

// setServerFlags replaces the flags of message uid on the "server" and
// returns the message as it is now.
func (w *watchedFake) setServerFlags(t *testing.T, mailbox string, uid uint32, flags ...string) remote.MessageInfo {
	t.Helper()
	f := w.fakeSource
	f.mu.Lock()
	defer f.mu.Unlock()
	msgs := slices.Clone(f.server[mailbox])
	i := slices.IndexFunc(msgs, func(m fakeMessage) bool { return m.info.UID == uid })
	if i < 0 {
		t.Fatalf("set flags %s/%d: no such message", mailbox, uid)
	}
	msgs[i].info.Flags = flags
	f.server[mailbox] = msgs
	return msgs[i].info
}
