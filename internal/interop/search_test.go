package interop

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestDovecotSearchHelper checks Search and AddFlags against messages whose
// UIDs and flags are known: keys, OR inside a list, NOT, dates.
func TestDovecotSearchHelper(t *testing.T) {
	d := StartDovecot(t, nil)
	if _, err := d.Seed("alice", func(yield func(MaildirMessage) bool) {
		for i := range 3 {
			msg := fmt.Sprintf("From: user%d@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n", i+1, i+1, i+1)
			if !yield(MaildirMessage{Text: []byte(msg), Date: time.Date(2026, 11, 1+i, 12, 0, 0, 0, time.UTC)}) {
				return
			}
		}
	}); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	d.AddFlags(t, "alice", "INBOX", 2, `\Seen`, `\Flagged`)
	for _, tc := range []struct {
		criteria []string
		want     []uint32
	}{
		{nil, []uint32{1, 2, 3}},
		{[]string{"UNSEEN"}, []uint32{1, 3}},
		{[]string{"FLAGGED", "SEEN"}, []uint32{2}},
		{[]string{"FROM", "user3"}, []uint32{3}},
		{[]string{"FROM", "user1", "OR", "BODY", "body 3"}, []uint32{1, 3}},
		{[]string{"NOT", "(", "FROM", "user1", "OR", "FLAGGED", ")"}, []uint32{3}},
		{[]string{"SINCE", "2-Nov-2026", "BEFORE", "3-Nov-2026"}, []uint32{2}},
		{[]string{"SUBJECT", "nothing"}, nil},
	} {
		if got := d.Search(t, "alice", "INBOX", tc.criteria...); !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q): got %v, want %v", tc.criteria, got, tc.want)
		}
	}
	if got := d.Flags(t, "alice", "INBOX")[2]; !slices.Equal(got, []string{`\Flagged`, `\Seen`}) && !slices.Equal(got, []string{`\Seen`, `\Flagged`}) {
		t.Errorf("flags of UID 2: got %q, want \\Seen and \\Flagged", got)
	}
}
