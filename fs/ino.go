package fs

import (
	"encoding/binary"
	"hash/fnv"
)

// Stable inode numbers are FNV-64a hashes of what identifies a node, with bit
// 63 cleared so that they stay below go-fuse's automatic range (from 2^63)
// and never 0 or 1 (reserved, and the root).

// dirIno returns the inode number of the directory of an account's mailbox
// path (nil for the account directory).
func dirIno(account string, path []string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("dir\x00"))
	h.Write([]byte(account))
	for _, c := range path {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	return fixIno(h.Sum64())
}

// messageIno returns the inode number of a message file.
func messageIno(account, mailbox string, uidValidity, uid uint32) uint64 {
	h := fnv.New64a()
	h.Write([]byte("msg\x00"))
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(mailbox))
	h.Write([]byte{0})
	var b [8]byte
	binary.BigEndian.PutUint32(b[:4], uidValidity)
	binary.BigEndian.PutUint32(b[4:], uid)
	h.Write(b[:])
	return fixIno(h.Sum64())
}

func fixIno(n uint64) uint64 {
	n &^= 1 << 63
	if n < 2 {
		n += 2
	}
	return n
}

// Kinds of outbox inodes, for outboxIno.
const (
	outboxKindDir       = "dir"
	outboxKindFailedDir = "failed"
	outboxKindMessage   = "msg"
	outboxKindError     = "error"
	outboxKindDraft     = "draft"
	outboxKindDraftsDir = "drafts"
)

// outboxIno returns the inode number of an outbox node: a directory (name
// empty), a message called name (queued or failed: names are unique across
// both, so a message keeps its inode when it moves between them) or the
// NAME.error file of one. Drafts take automatic numbers.
func outboxIno(kind, name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("outbox\x00"))
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return fixIno(h.Sum64())
}
