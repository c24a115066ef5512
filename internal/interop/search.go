package interop

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Search returns, ascending, the UIDs of the messages in mailbox of user
// that match criteria, as Dovecot finds them on the server side (doveadm
// search), without IMAP and without the code under test.
//
// criteria is a doveadm search query, one word or string per argument: the
// IMAP SEARCH keys and their values ("FROM", "alice", "SINCE",
// "2-Nov-2026", "UNSEEN", "NOT", …), with "(" and ")" as arguments of
// their own around a list. Unlike IMAP, doveadm's OR is infix and a list
// is either all AND or all OR: ( FROM a OR ( FROM b UNSEEN ) ). The
// criteria are put in a list of their own after "mailbox MAILBOX"; none
// means ALL.
func (d *Dovecot) Search(t testing.TB, user, mailbox string, criteria ...string) []uint32 {
	t.Helper()
	if len(criteria) == 0 {
		criteria = []string{"ALL"}
	}
	args := append([]string{"search", "-u", user, "mailbox", mailbox, "("}, criteria...)
	args = append(args, ")")
	out, err := d.doveadm(nil, args...)
	if err != nil {
		t.Fatalf("dovecot: search %s/%s: %v", user, mailbox, err)
	}
	var uids []uint32
	for line := range strings.Lines(string(out)) {
		// "<mailbox GUID> <UID>"
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("dovecot: search %s/%s %q: unexpected line %q", user, mailbox, criteria, line)
		}
		uid, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil {
			t.Fatalf("dovecot: search %s/%s %q: bad UID in %q", user, mailbox, criteria, line)
		}
		uids = append(uids, uint32(uid))
	}
	slices.Sort(uids)
	return slices.Compact(uids)
}

// AddFlags adds flags (\Seen, \Flagged, keywords) to message uid in
// mailbox of user on the server side (doveadm flags add).
func (d *Dovecot) AddFlags(t testing.TB, user, mailbox string, uid uint32, flags ...string) {
	t.Helper()
	if _, err := d.doveadm(nil, "flags", "add", "-u", user, strings.Join(flags, " "),
		"mailbox", mailbox, "uid", strconv.FormatUint(uint64(uid), 10)); err != nil {
		t.Fatalf("dovecot: add flags %q to %s/%s/%d: %v", flags, user, mailbox, uid, err)
	}
}
