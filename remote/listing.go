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
