// Package pop3store is the durable local store of a POP3 account: the
// messages downloaded from the server (shown as INBOX) and local mailboxes
// the user makes with mkdir, mv and cp. It is the user's mail, not a cache:
// nothing is ever evicted, and once the server deletes a message the store
// holds the only copy. A *Store implements fs.Source.
//
// # Layout
//
// The store owns one directory (0700), normally
// $XDG_DATA_HOME/mailfs/pop3/<account>:
//
//	meta.db            bbolt: mailboxes, message records, seen and dele tables
//	msgs/<key>.eml     a downloaded message; key = fileKey(UIDL): "u" + hex of
//	                   the UIDL, or "s" + hex SHA-256 of a UIDL over 100 bytes
//	msgs/a<rand>.eml   a message appended locally (cp into a folder)
//	msgs/.tmp-*        a download or append in progress
//
// Files never move: a message moved between mailboxes changes only its
// record. Each mailbox has a UIDVALIDITY fixed at creation (its creation
// time, or one more than the last given) and a counter of local numbers,
// never reused; the number is the UID the file name shows. A record holds
// the file name, size, date (Date: field, else the download time in UTC),
// flags, decoded subject, Message-ID and the UIDL. The seen table holds the
// key of every UIDL ever downloaded and keeps it after rm (a tombstone), so
// nothing is downloaded twice, even when the server keeps messages. The
// dele table holds the keys of messages removed locally whose DELE is due.
//
// # Crash safety
//
// A download goes: RETR streamed into msgs/.tmp-*, fsync, rename to
// msgs/<key>.eml, fsync msgs/, then one bbolt transaction (fsynced on
// commit) adds the record to INBOX and the key to seen; only then, when
// LeaveOnServer is false, is DELE sent, in the same session, and QUIT
// commits it. The rename is the commit point. A crash (SIGKILL or power
// loss) leaves one of these states, which Open repairs:
//
//   - a .tmp-* file: the download did not finish. It is deleted; the
//     message is still on the server (no DELE was sent) and is downloaded
//     by the next poll.
//   - msgs/<key>.eml without a record and without its key in seen: the
//     crash hit between rename and record. The file is complete (it was
//     synced before the rename) and its name says which UIDL it holds, so
//     Open records it in INBOX and adds the key to seen: it is never
//     downloaded again. A poll that finds such a file does the same.
//   - msgs/<key>.eml without a record but with its key in seen: a removal
//     whose unlink did not happen (Remove deletes the record first). The
//     file is deleted.
//   - msgs/a*.eml without a record: an Append that never returned; the
//     copy failed as far as the user knows. The file is deleted.
//   - a DELE sent but no QUIT: the server did not commit it; the key is in
//     seen, so the next session deletes the message without downloading it.
//
// A message is therefore never half-written under its name, never recorded
// twice (one key, one file), and never deleted on the server before it is
// on disk with its record.
//
// # Concurrency
//
// Store.mu guards the in-memory mailboxes and serializes every metadata
// change together with its database transaction; listings handed out are
// immutable snapshots. Store.poll.mu guards the poll in progress: one
// poll runs at a time and concurrent List and Poll calls join it. The poll
// streams downloads without holding Store.mu and takes it only to record
// each message. The database's file lock keeps a second process out.
package pop3store
