package imap

import (
	"errors"
	"slices"
	"testing"

	"mailfs/remote"
	"mailfs/remote/remotetest"
)

// TestDovecotChangedFlags: ChangedFlags (CHANGEDSINCE) against Dovecot
// answers only the message whose flags changed after the mod-sequence
// STATUS reported; the in-process server, without CONDSTORE, is refused
// before anything is sent.
func TestDovecotChangedFlags(t *testing.T) {
	_, _, s := dovecotStore(t, "", 4)
	ctx := t.Context()
	st, err := s.Status(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.HighestModSeq == 0 {
		t.Fatalf("Dovecot STATUS without HIGHESTMODSEQ: %+v", st)
	}
	all, err := s.Flags(ctx, "INBOX", st.UIDValidity)
	if err != nil || len(all) != 4 {
		t.Fatalf("Flags: %v, %v", all, err)
	}
	uid := all[2].UID
	if err := s.SetFlags(ctx, "INBOX", st.UIDValidity, uid, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChangedFlags(ctx, "INBOX", st.UIDValidity, st.HighestModSeq)
	if err != nil {
		t.Fatalf("ChangedFlags: %v", err)
	}
	if len(got) != 1 || got[0].UID != uid || !slices.Contains(got[0].Flags, `\Flagged`) {
		t.Errorf("ChangedFlags: got %+v, want only UID %d with \\Flagged", got, uid)
	}
}

func TestChangedFlagsWithoutCondstore(t *testing.T) {
	srv := remotetest.NewIMAP(t, nil)
	s := testStore(t, srv, nil)
	_, err := s.ChangedFlags(t.Context(), "INBOX", 1, 5)
	if !errors.Is(err, remote.ErrUnsupported) {
		t.Errorf("ChangedFlags without CONDSTORE: got %v, want ErrUnsupported", err)
	}
}
