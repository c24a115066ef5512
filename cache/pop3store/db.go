package pop3store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Database layout (meta.db):
//
//	folders/                  bucket
//	  <mailbox name>/         bucket
//	    info                  folderInfo (JSON): UIDVALIDITY, next number
//	    msgs/                 bucket: number (4 bytes, big-endian) -> record (JSON)
//	seen/                     bucket: key -> seenEntry (JSON); every UIDL ever
//	                          stored, kept after rm (the tombstones)
//	dele/                     bucket: key -> UIDL; removed locally, DELE due
//	meta/                     bucket: "uidvalidity" -> last UIDVALIDITY given
//
// A key is fileKey(UIDL): the message file of a downloaded message is
// msgs/<key>.eml, so a file name alone says which UIDL it holds.
var (
	bucketFolders = []byte("folders")
	bucketMsgs    = []byte("msgs")
	bucketSeen    = []byte("seen")
	bucketDele    = []byte("dele")
	bucketMeta    = []byte("meta")
	keyInfo       = []byte("info")
	keyValidity   = []byte("uidvalidity")
)

// folderInfo is a mailbox's fixed identity and counter.
type folderInfo struct {
	// UIDValidity is given at creation and never changes.
	UIDValidity uint32 `json:"uidvalidity"`
	// Next is the number the next message gets; numbers are never reused.
	Next uint32 `json:"next"`
	// Created is when the mailbox was created.
	Created time.Time `json:"created"`
}

// record is one stored message.
type record struct {
	// File is the message file's name in msgs/.
	File string `json:"file"`
	// Key is the seen-table key of a downloaded message; "" for one
	// appended locally.
	Key string `json:"key,omitempty"`
	// UIDL is the server's unique id, "" when appended or unknown.
	UIDL string `json:"uidl,omitempty"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Date is the Date: header, or Stored when it has none usable.
	Date time.Time `json:"date"`
	// Stored is when the message entered the store.
	Stored time.Time `json:"stored"`
	// Flags are the message's flags, sorted.
	Flags []string `json:"flags,omitempty"`
	// Subject is the decoded subject, valid UTF-8.
	Subject string `json:"subject,omitempty"`
	// MessageID is the Message-ID without angle brackets.
	MessageID string `json:"message_id,omitempty"`
}

// seenEntry records that a UIDL was downloaded.
type seenEntry struct {
	UIDL string    `json:"uidl,omitempty"`
	At   time.Time `json:"at"`
}

func numKey(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

// initBuckets creates the top-level buckets and INBOX.
func initBuckets(tx *bolt.Tx, now time.Time) error {
	for _, b := range [][]byte{bucketFolders, bucketSeen, bucketDele, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketFolders).Bucket([]byte(Inbox)) == nil {
		if _, err := createFolder(tx, Inbox, now); err != nil {
			return err
		}
	}
	return nil
}

// createFolder creates a mailbox's bucket with a fresh UIDVALIDITY: the
// creation time in seconds, or one more than the last given, so that a
// mailbox deleted and created again never reuses one.
func createFolder(tx *bolt.Tx, name string, now time.Time) (folderInfo, error) {
	meta := tx.Bucket(bucketMeta)
	v := uint32(max(now.Unix(), 1))
	if last := meta.Get(keyValidity); len(last) == 4 {
		if l := binary.BigEndian.Uint32(last); v <= l {
			v = l + 1
		}
	}
	if err := meta.Put(keyValidity, numKey(v)); err != nil {
		return folderInfo{}, err
	}
	b, err := tx.Bucket(bucketFolders).CreateBucket([]byte(name))
	if err != nil {
		return folderInfo{}, err
	}
	if _, err := b.CreateBucket(bucketMsgs); err != nil {
		return folderInfo{}, err
	}
	info := folderInfo{UIDValidity: v, Next: 1, Created: now}
	return info, putJSON(b, keyInfo, info)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// folderBucket returns the mailbox's bucket or an error when it is gone
// (the database disagrees with memory: a bug).
func folderBucket(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketFolders).Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("mailbox %q missing from the database", name)
	}
	return b, nil
}

// putMessage stores rec as number n of the mailbox and its new counter.
func putMessage(tx *bolt.Tx, mailbox string, info folderInfo, n uint32, rec *record) error {
	b, err := folderBucket(tx, mailbox)
	if err != nil {
		return err
	}
	if err := putJSON(b.Bucket(bucketMsgs), numKey(n), rec); err != nil {
		return err
	}
	return putJSON(b, keyInfo, info)
}

// deleteMessage removes number n from the mailbox.
func deleteMessage(tx *bolt.Tx, mailbox string, n uint32) error {
	b, err := folderBucket(tx, mailbox)
	if err != nil {
		return err
	}
	return b.Bucket(bucketMsgs).Delete(numKey(n))
}

// loadedFolder is a mailbox as read from the database.
type loadedFolder struct {
	info folderInfo
	msgs map[uint32]*record
}

// loadAll reads every mailbox.
func loadAll(tx *bolt.Tx) (map[string]*loadedFolder, error) {
	out := map[string]*loadedFolder{}
	err := tx.Bucket(bucketFolders).ForEachBucket(func(name []byte) error {
		b := tx.Bucket(bucketFolders).Bucket(name)
		lf := &loadedFolder{msgs: map[uint32]*record{}}
		if err := json.Unmarshal(b.Get(keyInfo), &lf.info); err != nil {
			return fmt.Errorf("mailbox %q: %w", name, err)
		}
		err := b.Bucket(bucketMsgs).ForEach(func(k, v []byte) error {
			if len(k) != 4 {
				return fmt.Errorf("mailbox %q: bad message key %x", name, k)
			}
			rec := new(record)
			if err := json.Unmarshal(v, rec); err != nil {
				return fmt.Errorf("mailbox %q message %d: %w", name, binary.BigEndian.Uint32(k), err)
			}
			lf.msgs[binary.BigEndian.Uint32(k)] = rec
			return nil
		})
		if err != nil {
			return err
		}
		out[string(name)] = lf
		return nil
	})
	return out, err
}

// keySet returns the keys of a top-level bucket.
func keySet(tx *bolt.Tx, bucket []byte) map[string]bool {
	set := map[string]bool{}
	tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
		set[string(k)] = true
		return nil
	})
	return set
}

func jsonGet(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return fmt.Errorf("record %q missing", key)
	}
	return json.Unmarshal(data, v)
}

// newRecord returns the record of a message file: its listing date is the
// Date: field, or stored (the download time, in UTC so that names never
// change with TZ) when that is missing or unparseable.
func newRecord(file, key, uidl string, size int64, meta headerMeta, stored time.Time) *record {
	date := meta.Date
	if date.IsZero() {
		date = stored.UTC().Truncate(time.Second)
	}
	return &record{
		File:      file,
		Key:       key,
		UIDL:      uidl,
		Size:      size,
		Date:      date,
		Stored:    stored,
		Subject:   meta.Subject,
		MessageID: meta.MessageID,
	}
}
