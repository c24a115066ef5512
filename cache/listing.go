package cache

import (
	"sort"

	"mailfs/remote"
)

// Listing is an immutable snapshot of one mailbox's messages. A new sync
// publishes a new Listing; one already handed out never changes, so readers
// share it without locks.
type Listing struct {
	// UIDValidity is the mailbox's UIDVALIDITY the UIDs belong to.
	UIDValidity uint32
	// Messages are sorted by ascending UID.
	Messages []remote.MessageInfo
}

// Find returns the message with the given UID.
func (l *Listing) Find(uid uint32) (remote.MessageInfo, bool) {
	if i, ok := l.index(uid); ok {
		return l.Messages[i], true
	}
	return remote.MessageInfo{}, false
}

// index returns the position of the message with the given UID.
func (l *Listing) index(uid uint32) (int, bool) {
	if l == nil {
		return 0, false
	}
	i := sort.Search(len(l.Messages), func(i int) bool { return l.Messages[i].UID >= uid })
	return i, i < len(l.Messages) && l.Messages[i].UID == uid
}
