package pop3store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"mailfs/internal/atomicfile"
)

const (
	msgsDir    = "msgs"
	dbName     = "meta.db"
	tempPrefix = ".tmp-"
	emlExt     = ".eml"
	// maxHexUIDL is the longest UIDL kept readable in a file name; longer
	// ones (POP3 allows 70 octets, fallback keys may be longer) are hashed.
	maxHexUIDL = 100
)

// fileKey returns the key of a UIDL: "u" and the UIDL in hex when it is
// short, "s" and its SHA-256 in hex otherwise. Downloaded messages are
// stored as msgs/<key>.eml.
func fileKey(uidl string) string {
	if len(uidl) <= maxHexUIDL {
		return "u" + hex.EncodeToString([]byte(uidl))
	}
	sum := sha256.Sum256([]byte(uidl))
	return "s" + hex.EncodeToString(sum[:])
}

// uidlOfKey returns the UIDL a key was made from, "" when it was hashed.
func uidlOfKey(key string) string {
	if !strings.HasPrefix(key, "u") {
		return ""
	}
	b, err := hex.DecodeString(key[1:])
	if err != nil {
		return ""
	}
	return string(b)
}

// isDownloadKey reports whether name (without .eml) is a key fileKey can
// make.
func isDownloadKey(key string) bool {
	if len(key) < 1 || (key[0] != 'u' && key[0] != 's') {
		return false
	}
	_, err := hex.DecodeString(key[1:])
	return err == nil && (key[0] == 'u' || len(key) == 1+2*sha256.Size)
}

// appendName returns a fresh file name for a locally appended message.
func appendName() string {
	var b [12]byte
	rand.Read(b[:])
	return "a" + hex.EncodeToString(b[:]) + emlExt
}

// path returns the path of the message file name.
func (s *Store) path(name string) string {
	return filepath.Join(s.dir, msgsDir, name)
}

// tempFile creates a temporary file in msgs/; recovery deletes leftovers.
func (s *Store) tempFile() (*os.File, error) {
	return os.CreateTemp(filepath.Join(s.dir, msgsDir), tempPrefix+"*")
}

// commitFile syncs and closes tmp, renames it to msgs/name and syncs the
// directory: once it returns nil the file survives a crash under its name.
// On error tmp is removed.
func (s *Store) commitFile(tmp *os.File, name string) error {
	return atomicfile.Commit(tmp, s.path(name))
}
