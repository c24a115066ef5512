package cache

import (
	"context"
	"fmt"

	"mailfs/remote"
)

// Search returns, ascending, the UIDs of the messages of mailbox that match
// q, as the server finds them (remote.Searcher: IMAP SEARCH, one round
// trip, no body read). While the server is unreachable it fails (the
// filesystem then shows a search's last results); a store that cannot
// search gives an error wrapping remote.ErrUnsupported.
func (a *Account) Search(ctx context.Context, mailbox string, uidValidity uint32, q remote.Query) ([]uint32, error) {
	op := fmt.Sprintf("search %s/%s", a.name, mailbox)
	s, ok := a.store.(remote.Searcher)
	if !ok {
		return nil, fmt.Errorf("%s: %w", op, remote.ErrUnsupported)
	}
	if down, cause := a.down(); down {
		return nil, fmt.Errorf("%s: %w", op, cause)
	}
	uids, err := s.Search(ctx, mailbox, uidValidity, q)
	a.served(mailbox, err)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return uids, nil
}
