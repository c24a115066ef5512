package pop3store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"mailfs/internal/ctxio"
	"mailfs/internal/query"
	"mailfs/remote"
)

var _ remote.Searcher = (*Store)(nil)

// Search returns, ascending, the UIDs of the messages of mailbox that match
// q, evaluated locally with query.Match over the stored messages (no
// server is asked: the POP3 store's mail is all here). Flags, dates and
// sizes come from the records; a message file is opened only when the
// query needs it: for its header alone with from:, to: or subject:, whole
// with body: or text:, and not at all when the record decides. The date
// since: and before: compare is the listing's (the Date: field, else the
// time of download, in UTC).
//
// It fails with an error wrapping remote.ErrUIDValidity when uidValidity
// is not the mailbox's, remote.ErrNotFound when there is no such mailbox,
// remote.ErrInvalid for a query query.Check refuses, and with ctx's error
// when ctx ends first. A message removed while the search runs is left
// out.
func (s *Store) Search(ctx context.Context, mailbox string, uidValidity uint32, q remote.Query) ([]uint32, error) {
	if err := query.Check(q); err != nil {
		return nil, fmt.Errorf("search %s/%s: %w", s.account, mailbox, err)
	}
	type entry struct {
		uid uint32
		rec *record // records are replaced, never changed: safe to read unlocked
	}
	s.mu.RLock()
	f, err := s.folderLocked(mailbox)
	if err != nil {
		s.mu.RUnlock()
		return nil, fmt.Errorf("search %w", err)
	}
	if f.info.UIDValidity != uidValidity {
		s.mu.RUnlock()
		return nil, fmt.Errorf("search %s/%s: UIDVALIDITY %d is not %d: %w", s.account, mailbox, uidValidity, f.info.UIDValidity, remote.ErrUIDValidity)
	}
	entries := make([]entry, 0, len(f.msgs))
	for uid, r := range f.msgs {
		entries = append(entries, entry{uid, r})
	}
	s.mu.RUnlock()
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.uid, b.uid) })

	var out []uint32
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("search %s/%s: %w", s.account, mailbox, err)
		}
		path := s.path(e.rec.File)
		m := query.NewMessage(e.rec.info(e.uid), func() (io.ReadCloser, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			return readCloser{ctxio.Reader(ctx, f), f}, nil
		})
		ok, err := query.Match(q, m)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing was taken
		}
		if err != nil {
			return nil, fmt.Errorf("search %s/%s/%d: %w", s.account, mailbox, e.uid, err)
		}
		if ok {
			out = append(out, e.uid)
		}
	}
	return out, nil
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
