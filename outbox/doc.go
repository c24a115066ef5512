// Package outbox owns the outgoing mail spool: the files of MOUNT/outbox/
// (messages being written, messages held for the send delay, editors' side
// files), outbox/drafts/, the queue of messages waiting to be sent, the
// send state machine with its retry schedule, and outbox/failed/. It depends only on a
// remote.Sender (and an optional function that stores the Sent copy) and
// knows nothing about FUSE: the fs package puts nodes on top of this API.
//
// # The promise
//
// A message whose Commit returned nil is on disk, fsync'ed, and will be sent
// at least once, even across crashes and power cuts, unless the user
// replaces, renames or removes it while it is held; it leaves the spool
// only when the server accepted it (then it is gone from Queued) or when the
// server refused it for good (then it is in Failed with a one-line reason),
// or when the user removes it. The only duplicate a crash can cause is one
// resend of the transaction that was being transmitted when mailfs died
// (the server may have said 250 before the crash and we could not record
// it): a message the server takes in several transactions (a ProgressSender
// splitting its recipients at the server's limit) has each accepted
// transaction's recipients recorded in state.json (Done) before the next
// transaction begins, and is never sent again to them, so only the
// recipients of that one transaction may get it twice; likewise a crash right after a Sent copy was stored may store it once
// more. A Sent copy that keeps failing is given up after
// Options.MaxCopyAttempts (at once on an error wrapping remote.ErrPermanent)
// with an error log line: the message itself was delivered.
//
// # Spool layout
//
// Every message is a directory named by a random id, holding message.eml
// (the bytes) and state.json (a record: name, state, account, envelope,
// attempts, errors):
//
//	DIR/              0700, locked with flock(DIR/lock) by one Outbox at a time
//	  tmp/ID/draft    a draft being written; anything in tmp/ is deleted by Open
//	  files/NAME      the files of outbox/: held messages and side files
//	  drafts/NAME     the files of outbox/drafts/
//	  queue/ID/       taken messages: queued, sending, sent (copy pending)
//	  failed/ID/      messages that cannot be sent; state.json holds the reason
//
// Files are 0600, directories 0700. Every transition is crash-safe: a new
// state.json is written to state.json.tmp, fsync'ed and renamed over the old
// one, and the directory is fsync'ed; a message moves between tmp/, queue/
// and failed/ by renaming its whole directory (atomic) and fsync'ing both
// parents. Open fsyncs the spool directory and its ancestors, so that a
// spool created just now is durable before the first message enters it.
//
// # State machine
//
// The first half is plain files (hold.go), the second records (queue.go):
//
//	draft (tmp/ID/draft)
//	   │ Commit: validate, fsync, rename tmp/ID/draft -> files/NAME,
//	   │ replacing a held NAME
//	   ├──────────────────────────────────────────► failed  (invalid message)
//	   ▼
//	held (files/NAME) ◄── Commit of NAME again, RenameFile onto NAME
//	   │                  (validated first): the delay starts again
//	   │  ├── RemoveFile ───────────────────────────► gone
//	   │  └── RenameFile to a side name or drafts/ ──► an ordinary file
//	   │ SendDelay over and no editor file (.NAME.swp, .#NAME, #NAME#)
//	   │ take: queue/ID/ with state.json (queued, unprepared), then
//	   │ rename files/NAME -> queue/ID/message.eml (the step that moves it)
//	   ▼
//	queued, unprepared ── prepare: prepared.eml, state.json with the
//	   │                  envelope (the commit point), rename over message.eml
//	   ├──────────────────────────────────────────► failed  (invalid message)
//	   ▼
//	queued ◄────────── retry: Attempts++, NextAttempt = now + backoff
//	   │ due                       ▲ temporary error (4xx, network, ctx,
//	   │                           │ or a refused login: remote.ErrAuth)
//	   ▼                           │
//	sending ───────────────────────┘
//	   │  ├──────────────────────────────────────► failed  (error wrapping
//	   │  │                                                 remote.ErrPermanent,
//	   │  │                                                 e.g. a refused recipient)
//	   │  └── success, no Sent copy ─────────────► done
//	   ▼ success, account has SentCopy
//	sent (copy pending) ── SentCopy ok / given up ► done (directory removed)
//	   ▲   │ SentCopy failed: retried on the backoff schedule, never resent
//	   └───┘
//
//	failed ── Retry ─► queued (Attempts reset, due now; an invalid one is
//	                   prepared again, and goes back to failed if still invalid)
//	queued ── Remove ─► gone (refused with ErrBusy while sending)
//	failed ── RemoveFailed ─► gone (with its NAME.error)
//
// A preparation that fails with an I/O error (disk full) leaves the
// message queued unprepared; it is prepared again after the backoff.
//
// "sending" is recorded before the message is handed to the Sender, "sent"
// after the Sender returned nil and before SentCopy is called. While
// sending, each transaction a ProgressSender reports is added to Done
// (state.json rewritten and fsync'ed) before it goes on; every later
// attempt, a restart and a Retry send only to the recipients not in Done,
// and a message whose recipients are all in Done is sent. An error of a
// message some recipients already have starts "sent to K of N recipients;
// the other M: ". "done" is the
// rename of queue/ID into tmp/ followed by its removal.
//
// Open recovers a spool after a crash:
//
//   - tmp/* is deleted: drafts never committed (the writer never saw Commit
//     succeed) and half-removed messages;
//   - every message in files/ is held again for the send delay;
//   - a queue directory without message.eml (a take cut short before its
//     rename) is deleted: the message is still held in files/;
//   - a prepared.eml the record knows (prepared) replaces message.eml, one
//     it does not know is deleted, and an unprepared queued message is
//     prepared;
//   - sending goes back to queued, due now (at-least-once: this is the single
//     possible duplicate);
//   - a queued message is due at once (a restart retries without waiting
//     for the backoff);
//   - sent (copy pending) only retries the Sent copy, it is never resent;
//   - a state.json that disagrees with its directory (a crash in the middle of
//     a move to failed/ or of a Retry) finishes the move;
//   - a queued message whose account is no longer configured is routed again
//     by its envelope sender (an account owning the address, else the default
//     account) or, if none fits, moved to failed/ with a reason.
//   - a message whose state.json cannot be read or names an unknown state
//     is moved to failed/ with a reason (its bytes are kept; Retry prepares
//     them again), so that one damaged record never stops Open.
//
// # Names
//
// The user's file name is kept for display. Names are unique across held,
// queued and failed messages together (so a message keeps its name from
// outbox/ to failed/ and back), and NAME.error is reserved next to NAME: a
// name already queued or failed gets a numeric suffix before its extension
// ("msg.eml" becomes "msg-2.eml", then "msg-3.eml"); a name only held is
// replaced. The name is settled at Commit; Draft.Name reports it.
//
// IsSideFile tells the names of editors' side files (swap files, backups,
// locks, vim's 4913 probe): in outbox/ they are ordinary files
// (OpenFile, RenameFile, RemoveFile), never sent. Every other name in
// outbox/ is a message. A message that was sent and only waits for its Sent copy no
// longer holds its name and is not listed.
//
// # Routing and preparation
//
// The account is the one whose Addresses contain the From: address (compared
// case-insensitively). With no From: the default account is used and its
// first address is written into a new From: field. A From: that matches no
// account is invalid unless Options.AllowUnknownFrom: then it goes through
// the default account, with the default account's first address as envelope
// sender (bounces reach a mailbox the user reads). A message with a
// Received: field is invalid unless Options.AllowReceived. Recipients are To, Cc and Bcc
// (group syntax allowed), deduplicated; none is invalid.
//
// When it is taken, the message is rewritten once: Date: (RFC 5322, from
// Options.Now) and Message-ID: (<random@domain-of-From>) are added at the top
// when missing, Bcc: fields are removed, and every other byte is kept (header
// field order, folding, line endings and the body are untouched). The
// envelope is stored in state.json.
//
// # Drafts and the fs layer
//
// The fs layer maps CREATE of a message name (and an OPEN for writing of a
// held or queued one) to Create, WRITE to Draft.WriteAt, FLUSH to
// Draft.Commit and RELEASE to Draft.Abort; side files and drafts/ to
// OpenFile, SetFileAttr, RemoveFile and RenameFile; and the errors:
// ErrInvalid and ErrBadName to EINVAL, ErrBusy to EBUSY, fs.ErrNotExist to
// ENOENT.
//
//   - The header is validated on the write that completes it (its blank
//     line); an invalid message fails that write and every later one, and
//     Commit moves what was written to failed/.
//   - A file without a blank line is validated as a whole header at Commit
//     (a message with no body: the blank line is added).
//   - Commit of a draft nothing was written to does nothing and returns nil,
//     and the draft stays open: "cmd > outbox/x" flushes the new file once
//     before cmd writes it. Abort then deletes such a draft, so "touch
//     outbox/x" leaves nothing behind.
//   - Commit is idempotent (dup'd descriptors flush twice): later calls
//     return the first result, and writes after it fail with os.ErrClosed.
//   - A Commit that fails with an I/O error (disk full) returns it, so the
//     close fails, and the draft is dropped; nothing is queued. So does
//     the Commit of a draft one of whose writes failed with an I/O error:
//     it may miss bytes, and is never sent truncated.
//
// mv outbox/failed/NAME outbox/ is Retry, rm outbox/NAME is Remove, rm
// outbox/failed/NAME is RemoveFailed; Queued, Failed, Stat, OpenQueued,
// OpenFailed and FailedError answer ls, stat, cat and getfattr.
//
// # Concurrency
//
// An Outbox is safe for concurrent use. Run starts one worker per account, so
// a slow server delays only its own account's mail; each worker sends its due
// messages one after another in commit order (a burst), then sleeps until the
// next due time or a Kick.
package outbox
