package remote

import "sort"

// Listing is an immutable snapshot of one mailbox's messages, as a store
// that keeps listings (the IMAP cache, the POP3 store) hands them to the
// filesystem. A newer state is a new Listing; one already handed out never
// changes, so readers share it without locks.
type Listing struct {
	// UIDValidity is the mailbox's UIDVALIDITY the UIDs belong to.
	UIDValidity uint32
	// Messages are sorted by ascending UID.
	Messages []MessageInfo
}

// Find returns the message with the given UID.
func (l *Listing) Find(uid uint32) (MessageInfo, bool) {
	if i, ok := l.Index(uid); ok {
		return l.Messages[i], true
	}
	return MessageInfo{}, false
}

// Index returns the position of the message with the given UID, or where
// it would be inserted and false. A nil Listing has no messages.
func (l *Listing) Index(uid uint32) (int, bool) {
	if l == nil {
		return 0, false
	}
	i := sort.Search(len(l.Messages), func(i int) bool { return l.Messages[i].UID >= uid })
	return i, i < len(l.Messages) && l.Messages[i].UID == uid
}

// Change is what a sync found changed in one mailbox's listing, beyond
// the changes made through the filesystem itself: mail delivered, expunged
// or re-flagged by the server or other clients.
type Change struct {
	// Mailbox is the mailbox's full name.
	Mailbox string
	// UIDValidity is that of the new listing.
	UIDValidity uint32
	// Reset says the UIDVALIDITY changed: every message of the old listing
	// is gone (Removed) and every one of the new is Added.
	Reset bool
	// Added are the new messages, Removed the vanished ones (as they were
	// listed) and Flagged those whose flags changed (as they are now); each
	// in ascending UID order.
	Added, Removed, Flagged []MessageInfo
}

// Empty reports whether c changes nothing.
func (c *Change) Empty() bool {
	return !c.Reset && len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Flagged) == 0
}
