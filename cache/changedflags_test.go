package cache

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"mailfs/remote"
)

// condstoreStore is fakeStore with CONDSTORE's CHANGEDSINCE: ChangedFlags
// answers the flags of the UIDs a test says changed.
type condstoreStore struct {
	*fakeStore
	mu      sync.Mutex
	changed []uint32 // what ChangedFlags reports
	calls   []uint64 // the since of each call
}

func (s *condstoreStore) ChangedFlags(ctx context.Context, mbox string, uidValidity uint32, since uint64) ([]remote.FlagState, error) {
	all, err := s.fakeStore.Flags(ctx, mbox, uidValidity)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, since)
	return slices.DeleteFunc(all, func(f remote.FlagState) bool { return !slices.Contains(s.changed, f.UID) }), nil
}

// A sync after a flag change on a server with CONDSTORE reads only the
// flags that changed (CHANGEDSINCE the last sync's HIGHESTMODSEQ), not the
// whole mailbox; after an expunge it reads them all, to learn what
// vanished.
func TestSyncReadsOnlyChangedFlags(t *testing.T) {
	e := newEnv(t)
	st := &condstoreStore{fakeStore: e.store}
	a := e.c.Account("condstore", st, nil)
	var uids []uint32
	for i := range 5 {
		uids = append(uids, e.store.add("INBOX", "m"+string(rune('a'+i))))
	}
	ctx := t.Context()
	if _, err := a.List(ctx, "INBOX", 0); err != nil {
		t.Fatal(err)
	}
	e.store.resetCounts()

	e.store.setFlags("INBOX", uids[2], `\Flagged`)
	st.changed = []uint32{uids[2]}
	l, err := a.List(ctx, "INBOX", 0)
	if err != nil {
		t.Fatal(err)
	}
	if mi, _ := l.Find(uids[2]); !slices.Equal(mi.Flags, []string{`\Flagged`}) {
		t.Errorf("flags of UID %d after the sync: got %q, want [\\Flagged]", uids[2], mi.Flags)
	}
	if len(l.Messages) != 5 {
		t.Errorf("listing after a partial flag read: %d messages, want 5 (none vanished)", len(l.Messages))
	}
	wantCalls(t, e.store, "Flags", 1) // the one ChangedFlags made of the fake
	if len(st.calls) != 1 || st.calls[0] == 0 {
		t.Errorf("ChangedFlags calls: got %v, want one with the last HIGHESTMODSEQ", st.calls)
	}

	e.clock.Advance(time.Second)
	e.store.expunge("INBOX", uids[0])
	l, err = a.List(ctx, "INBOX", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Find(uids[0]); ok {
		t.Errorf("UID %d still listed after an expunge", uids[0])
	}
	wantCalls(t, e.store, "Flags", 2) // and now a full read
	if len(st.calls) != 1 {
		t.Errorf("ChangedFlags calls after an expunge: got %v, want none more", st.calls)
	}
}
