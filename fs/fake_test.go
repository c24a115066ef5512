package fs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// fakeSource is a Source for tests: an in-memory "server" and a cached
// listing per mailbox that List refreshes from it when older than maxAge.
type fakeSource struct {
	dir string // body files

	mu     sync.Mutex
	mboxes []remote.Mailbox
	server map[string][]fakeMessage // mailbox -> messages in UID order
	// vanishing are messages gone from the server whose bodies Open still
	// serves, as the cache does until its subscribers have heard of the
	// removal (watchedFake.expunge, publish).
	vanishing map[string][]fakeMessage
	cached    map[string]*remote.Listing
	synced    map[string]time.Time
	// openErr, when set, makes Open fail with it.
	openErr error
	// delay, when set, is how long Mailboxes, List and Open take, as a
	// server behind a slow link would; they honour ctx meanwhile, as the
	// real Sources do, and fail with its error when it is done first.
	delay time.Duration
	// syncs counts List calls that refreshed from the "server"; opens
	// counts Open calls per UID.
	syncs map[string]int
	opens map[uint32]int
}

type fakeMessage struct {
	info remote.MessageInfo
	body []byte
}

const fakeUIDValidity = 77

func newFakeSource(t *testing.T, mboxes ...remote.Mailbox) *fakeSource {
	t.Helper()
	return &fakeSource{
		dir:    t.TempDir(),
		mboxes: mboxes,
		server: make(map[string][]fakeMessage),
		cached: make(map[string]*remote.Listing),
		synced: make(map[string]time.Time),
		syncs:  make(map[string]int),
		opens:  make(map[uint32]int),
	}
}

// add puts a message on the "server"; size is the listed size, -1 for the
// body's true size.
func (f *fakeSource) add(mailbox string, uid uint32, subject string, date time.Time, body string, size int64) remote.MessageInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	if size < 0 {
		size = int64(len(body))
	}
	info := remote.MessageInfo{UID: uid, Size: size, InternalDate: date, Subject: subject}
	msgs := append(f.server[mailbox], fakeMessage{info: info, body: []byte(body)})
	slices.SortFunc(msgs, func(a, b fakeMessage) int { return int(a.info.UID) - int(b.info.UID) })
	f.server[mailbox] = msgs
	return info
}

// setBody replaces a message's body on the "server" (a server never does;
// tests use it to tell where read bytes come from).
func (f *fakeSource) setBody(mailbox string, uid uint32, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.server[mailbox] {
		if f.server[mailbox][i].info.UID == uid {
			f.server[mailbox][i].body = []byte(body)
		}
	}
}

func (f *fakeSource) setOpenErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.openErr = err
}

func (f *fakeSource) syncCount(mailbox string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs[mailbox]
}

func (f *fakeSource) openCount(uid uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opens[uid]
}

func (f *fakeSource) setDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

// wait takes the "server's" time (delay) for op, or fails when ctx is done
// first.
func (f *fakeSource) wait(ctx context.Context, op string) error {
	f.mu.Lock()
	d := f.delay
	f.mu.Unlock()
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
}

func (f *fakeSource) Mailboxes(ctx context.Context, maxAge time.Duration) ([]remote.Mailbox, error) {
	if err := f.wait(ctx, "list mailboxes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.mboxes), nil
}

func (f *fakeSource) List(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, error) {
	if err := f.wait(ctx, "list "+mailbox); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.ContainsFunc(f.mboxes, func(m remote.Mailbox) bool { return m.Name == mailbox }) {
		return nil, fmt.Errorf("list %s: %w", mailbox, remote.ErrNotFound)
	}
	if l, ok := f.cached[mailbox]; ok && time.Since(f.synced[mailbox]) <= maxAge {
		return l, nil
	}
	l := &remote.Listing{UIDValidity: fakeUIDValidity}
	for _, m := range f.server[mailbox] {
		l.Messages = append(l.Messages, m.info)
	}
	f.cached[mailbox] = l
	f.synced[mailbox] = time.Now()
	f.syncs[mailbox]++
	return l, nil
}

func (f *fakeSource) Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error) {
	if err := f.wait(ctx, fmt.Sprintf("fetch %s/%d", mailbox, uid)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens[uid]++
	if f.openErr != nil {
		return nil, f.openErr
	}
	if uidValidity != fakeUIDValidity {
		return nil, fmt.Errorf("open %s/%d: %w", mailbox, uid, remote.ErrUIDValidity)
	}
	msgs := f.server[mailbox]
	i := slices.IndexFunc(msgs, func(m fakeMessage) bool { return m.info.UID == uid })
	if i < 0 {
		msgs = f.vanishing[mailbox]
		if i = slices.IndexFunc(msgs, func(m fakeMessage) bool { return m.info.UID == uid }); i < 0 {
			return nil, fmt.Errorf("open %s/%d: %w", mailbox, uid, remote.ErrNotFound)
		}
	}
	name := filepath.Join(f.dir, fmt.Sprintf("%x-%d", mailbox, uid))
	if err := os.WriteFile(name, msgs[i].body, 0o600); err != nil {
		return nil, err
	}
	return os.Open(name)
}
