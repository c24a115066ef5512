package pop3store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"mailfs/remote"
)

// Mailboxes returns INBOX and the local mailboxes, INBOX first and the
// others sorted by name, with Delim as delimiter. They are all local:
// maxAge is ignored and ctx is not needed.
func (s *Store) Mailboxes(ctx context.Context, maxAge time.Duration) ([]remote.Mailbox, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]remote.Mailbox, 0, len(s.folders))
	for name := range s.folders {
		out = append(out, remote.Mailbox{Name: name, Delim: Delim})
	}
	slices.SortFunc(out, func(a, b remote.Mailbox) int {
		return cmp.Or(-cmp.Compare(boolInt(a.Name == Inbox), boolInt(b.Name == Inbox)), cmp.Compare(a.Name, b.Name))
	})
	for i := range out {
		if s.hasChildrenLocked(out[i].Name) {
			out[i].Attrs = []string{`\HasChildren`}
		} else {
			out[i].Attrs = []string{`\HasNoChildren`}
		}
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// List returns the mailbox's listing. For INBOX, when the last poll ended
// longer ago than both maxAge and Options.StaleAfter, it first polls the
// server (or joins the poll in progress) and waits for it at most
// Options.PollWait or until ctx is done; then it returns what the store
// holds, with whatever the poll stored so far. A server that cannot be
// reached is logged by the poll and the store is served. Other mailboxes
// are local and returned at once.
func (s *Store) List(ctx context.Context, mailbox string, maxAge time.Duration) (*remote.Listing, error) {
	if mailbox == Inbox && s.now().Sub(s.lastPoll()) >= max(maxAge, s.opts.StaleAfter) {
		if run, err := s.startPoll(); err == nil {
			t := time.NewTimer(s.opts.PollWait)
			select {
			case <-run.done:
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		return nil, fmt.Errorf("list %w", err)
	}
	return f.listing, nil
}

// Open returns message uid of the mailbox as a read-only file. It fails
// with an error wrapping remote.ErrUIDValidity when uidValidity is not the
// mailbox's, and with one wrapping remote.ErrNotFound when there is no such
// message.
func (s *Store) Open(ctx context.Context, mailbox string, uidValidity, uid uint32) (*os.File, error) {
	s.mu.RLock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("open %w", err)
	}
	if f.info.UIDValidity != uidValidity {
		s.mu.RUnlock()
		return nil, fmt.Errorf("open %s/%s/%d: UIDVALIDITY %d is not %d: %w", s.account, mailbox, uid, uidValidity, f.info.UIDValidity, remote.ErrUIDValidity)
	}
	r, ok := f.msgs[uid]
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("open %s/%s/%d: %w", s.account, mailbox, uid, remote.ErrNotFound)
	}
	file, err := os.Open(s.path(r.File))
	if errors.Is(err, fs.ErrNotExist) {
		// Removed since the lookup.
		return nil, fmt.Errorf("open %s/%s/%d: %w", s.account, mailbox, uid, remote.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s/%s/%d: %w", s.account, mailbox, uid, err)
	}
	return file, nil
}
