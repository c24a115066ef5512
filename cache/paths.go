package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
)

// Body files live at bodies/ACCOUNT/MAILBOX/UIDVALIDITY/UID.eml where
// ACCOUNT and MAILBOX are hex hashes of the names: any name (slashes,
// non-ASCII, "..") becomes a safe, fixed-length file name.

const (
	bodiesDir  = "bodies"
	tempPrefix = ".tmp-"
	bodySuffix = ".eml"
)

func nameHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// mailboxDir is the directory holding every body of one mailbox.
func (c *Cache) mailboxDir(account, mailbox string) string {
	return filepath.Join(c.dir, bodiesDir, nameHash(account), nameHash(mailbox))
}

// validityDir is the directory holding the bodies of one UIDVALIDITY.
func (c *Cache) validityDir(account, mailbox string, uidValidity uint32) string {
	return filepath.Join(c.mailboxDir(account, mailbox), strconv.FormatUint(uint64(uidValidity), 10))
}

// bodyPath is the file holding one message body.
func (c *Cache) bodyPath(account, mailbox string, uidValidity, uid uint32) string {
	return filepath.Join(c.validityDir(account, mailbox, uidValidity), strconv.FormatUint(uint64(uid), 10)+bodySuffix)
}
