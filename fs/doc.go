// Package fs owns the filesystem that mailfs mounts: the go-fuse nodes for the
// mount root, the account and mailbox directories, the message files and
// outbox/, the names and attributes the user sees, the kernel caching policy,
// and the one function (Errno) that turns errors into errno values.
//
// It knows nothing about protocols or the on-disk cache: each account is
// served by a Source (implemented by the cache for IMAP and by the POP3
// store), and every user-visible rule (file names, sizes, mtimes, modes) is
// decided here, as described in DESIGN.md.
//
// # Tree
//
//	MOUNT/<account>/<mailbox>/<sub-mailbox>/.../<message>.eml
//	MOUNT/outbox/<queued message>       (with Options.Outbox)
//	MOUNT/outbox/failed/<name>, <name>.error
//
// The root lists one directory per Account and never touches the network. An
// account directory shows the mailbox hierarchy reported by
// Source.Mailboxes, split at the mailbox delimiter into nested directories. A
// mailbox that cannot hold messages (\Noselect) and a parent that is only
// implied by its children (a/b listed without a) are directories holding
// only sub-directories; a selectable mailbox lists its messages as well.
//
// # Names
//
// Message files are named by FileName and recognised by ParseUID.
//
// A mailbox name is split at the delimiter into levels, and each level is
// shown as a directory whose name is a function of the level as the server
// spells it (componentName): UTF-8 is kept, and what a file name cannot hold
// or a terminal would not show is replaced by a look-alike: "/" (possible
// when the delimiter is not "/") becomes U+2215 DIVISION SLASH '∕', the
// control characters U+0000–U+001F and U+007F become their pictures in the
// Unicode Control Pictures block (NUL '␀' U+2400, tab '␉' U+2409, newline
// '␊' U+240A, ESC '␛' U+241B, DEL '␡' U+2421), each run of bytes that is
// not UTF-8 becomes U+FFFD '�', and the levels "." and ".." become U+FF0E
// FULLWIDTH FULL STOP ('．', '．．'). A name longer than 255 bytes is cut at a
// character and ends in "~" and 8 hex digits of the SHA-256 of the server's
// spelling. Mailboxes with an empty level (such as "a//b") are not shown.
//
// Every operation on a directory uses the levels exactly as the server
// listed them, kept in the node (folderNode's path) and looked up by shown
// name (describe, level.subdir); a shown name is never converted back.
//
// When two levels of one directory would show under the same name ("a\tb"
// and a level spelled "a␉b", or two spellings with different invalid bytes),
// the level spelled exactly as shown keeps the name and every other one gets
// "~" and 8 hex digits of the SHA-256 of its own spelling ("a␉b~1f2e3d4c"),
// so each stays reachable under a name that does not depend on the order of
// the list or on which other folders exist, only on whether a collision
// does. A level spelled as shown always has its name; a changed level whose
// hashed name is taken too (by a level spelled so, or a hash collision) is
// not shown, and of two such the first listed wins.
//
// Today no Source gives a level that is not UTF-8, but the rule holds for
// any: go-imap decodes modified UTF-7 and rejects a name that is not valid
// mUTF-7 or UTF-8 (the whole LIST fails with remote.ErrUnavailable),
// Dovecot leaves a folder whose name is not UTF-8 out of LIST, and the POP3
// store refuses such names (and control characters) in mkdir. Control
// characters do arrive over IMAP: Dovecot refuses them in new names but
// lists a Maildir folder that has them (".a&AAk-b" as "a&AAk-b", which
// go-imap decodes to "a\tb").
//
// # Changing mail
//
// Changes go through optional interfaces of the Source (Remover, Mover,
// FolderEditor, Flagger, Appender); both Sources (the IMAP cache and the
// POP3 store) implement all of them. An account whose Source implements
// one of Remover, Mover, FolderEditor and Appender shows its directories
// 0700, others 0500; message files are always 0444. What a change means
// on the server (Trash, UID EXPUNGE, the mass-deletion guard) is the
// Source's business: see cache.Account.
//
//   - rm FILE: Remover.Remove.
//   - mv FILE DIR/: Mover.Move into DIR's mailbox. The message takes the
//     name its new UID gives it; the name mv used is forgotten (the
//     kernel is told), so "ls DIR" shows the real name.
//   - mkdir, rmdir, mv DIR: FolderEditor. A nested name joins the levels
//     with the account's delimiter. rmdir answers ENOTEMPTY for a
//     directory with sub-directories or messages (the listing is synced
//     first) before asking the Source. A renamed directory keeps working
//     under its new name at once.
//   - cp FILE.eml DIR/: the file is buffered in an unlinked temporary file
//     (Options.TempDir) and appended by Appender.Append when it is closed;
//     the close fails with EINVAL when it is not a message, and nothing is
//     stored. Mode, owner and time changes (cp -p) are accepted and
//     ignored. An empty file is not appended (touch leaves nothing).
//   - setfattr -n user.mail.flags -v '\Seen \Flagged' FILE: Flagger.SetFlags
//     (flags separated by white space; removing the attribute clears
//     them). getfattr -d FILE shows user.mail.flags, user.mail.uid and
//     user.mail.message-id; flags come from the listing (synced when older
//     than StaleAfter). The kernel does not cache extended attributes.
//
// # The Maildir view
//
// MOUNT/.maildir/<account>/ shows each account again as nested Maildirs
// (maildir.go): a selectable mailbox's directory holds cur/, new/ and tmp/
// beside its child mailboxes. The root does not list .maildir (Readdir),
// so grep -r and find over the mount read each message once. A message is
// the same inode as its .eml file (messageInode: one node per stable inode
// number, linked from both directories), named by maildirName; new/ holds
// the messages without \Seen, but for those a client renamed into cur/
// (maildirState's old marks, kept in memory). Lookups find a name only in
// the directory that lists it: rename(2) between two names of one inode
// does nothing, so new/X → cur/X:2, must not find cur/X:2,. The changes
// (maildiredit.go):
//
//   - rename within a mailbox to other flag letters: Flagger.SetFlags;
//     into another mailbox's cur/ or new/: Mover.Move, then SetFlags;
//   - unlink in cur/ or new/: Remover.Remove;
//   - a file of tmp/ (a scratch file, in memory and Options.TempDir, never
//     on the server) renamed or linked into cur/ or new/:
//     Appender.Append with the new name's flags; a file created in cur/
//     or new/: appended on close, as cp into a folder.
//
// A change made through one view is told to the kernel for the other
// (account.own → watcher), as changes found on the server are: the
// names that are no longer a message's are invalidated (NotifyEntry; not
// NotifyDelete while the message exists, which would make the kernel take
// the shared inode for deleted).
//
// # Search folders and message parts
//
// An account directory also answers two names it does not list: .search
// (search.go) holds the built-in searches (unread, flagged, today) and the
// saved ones (Options.Searches keeps them), each a directory named by its
// query (internal/query) whose entries are the matching messages' inodes
// under their file names, found by the Source's Searcher over every
// selectable mailbox but Trash (TrashFinder, \Trash) and Junk, and found again when listed after StaleAfter or after
// any change the watcher saw (account.gen). NAME.eml.d (parts.go) holds a
// message's parts from the Source's Parter: headers, text, html and the
// attachments (internal/mimeparts.Files), named by componentName's rules
// and numbered when taken; a part is decoded into a scratch file when
// first opened, and read with direct I/O (its size until then is an
// estimate).
//
// Errno choices:
//
//   - EACCES: the account's Source cannot make that change (no such
//     interface), writing to an existing message, and what the server
//     refuses (remote.ErrRefused: NOPERM, CANNOT, a read-only mailbox).
//   - ENOTSUP: a change the server cannot make safely
//     (remote.ErrUnsupported: removing one message without UIDPLUS, moving
//     one without MOVE and UIDPLUS), setting flags on an account without
//     Flagger, setting
//     extended attributes other than user.mail.* (so cp -p finds no ACLs
//     to copy), and reading any outside the user namespace
//     (security.selinux, system.posix_acl_access: GNU ls then stops
//     asking for the rest of the mount, so a warm ls -l costs no
//     GETXATTR per file); a user.* name a file does not have answers
//     ENODATA.
//   - EPERM: what no account can do: renaming a message within its
//     mailbox (names are derived from the message), moving one into a
//     directory that cannot hold messages or to the root, creating a file
//     where no mailbox is, changing user.mail.uid or user.mail.message-id,
//     anything that changes the root (rm, rmdir or mv of an account,
//     mkdir, create). From the Source: a removal the mass-deletion guard
//     refuses (remote.ErrTooManyDeletes, logged by the cache once a minute,
//     so only at debug level here), rm without a Trash folder, renaming or
//     deleting INBOX. In the Maildir view: a rename that changes a
//     message's unique part within its mailbox, a rename into tmp/, of a
//     folder or of cur/, new/ or tmp/, mkdir in cur/, new/ or tmp/.
//   - EXDEV: mv to another account or between an account and outbox/, so
//     that mv copies and removes (an Append, or a new outbox message,
//     then a Remove).
//   - EINVAL: a name holding the account's delimiter, a flag that is not
//     an IMAP flag, a Maildir flag letter other than DFPRST in a rename,
//     and a copied or delivered file that is not a message
//     (remote.ErrInvalid); EEXIST, ENOTEMPTY and other errnos a Source
//     wraps in its errors pass through Errno.
//
// Errors of servers and networks (the protocol clients classify, Errno
// maps; the first row that matches wins):
//
//	class                                          sentinel               errno
//	no such mailbox or message: IMAP NONEXISTENT,  remote.ErrNotFound     ENOENT
//	  TRYCREATE, EXPUNGEISSUED (a FETCH with it is
//	  complete without the expunged messages);
//	  a UIDVALIDITY that is gone
//	UIDVALIDITY changed under the caller           remote.ErrUIDValidity  ESTALE
//	over quota: IMAP OVERQUOTA                     remote.ErrQuota        EDQUOT
//	message too big: IMAP TOOBIG                   remote.ErrTooBig       EFBIG
//	mailbox exists: IMAP ALREADYEXISTS             remote.ErrExists       EEXIST
//	mailbox has children: IMAP HASCHILDREN         remote.ErrNotEmpty     ENOTEMPTY
//	login refused: wrong credentials, IMAP         remote.ErrAuth         EACCES
//	  AUTHENTICATIONFAILED, AUTHORIZATIONFAILED,
//	  EXPIRED, PRIVACYREQUIRED, CONTACTADMIN; POP3
//	  [AUTH] or an -ERR without a code at login
//	permission-like refusal: IMAP NOPERM, CANNOT,  remote.ErrRefused      EACCES
//	  NOPRIVATE, a NO saying "permission denied";
//	  a POP3 -ERR without a code
//	server trouble: IMAP SERVERBUG, UNAVAILABLE,   remote.ErrUnavailable  EIO
//	  INUSE, LIMIT, CORRUPTION, CLIENTBUG, PARSE,
//	  any BAD, a NO without a code or words to
//	  classify it, a reply that breaks the
//	  protocol; POP3 [SYS/TEMP], [SYS/PERM],
//	  [IN-USE], [LOGIN-DELAY] (also at login)
//	connection: refused, unreachable, DNS, reset   remote.ErrUnavailable  EIO
//	  or closed mid-command (a body cut short
//	  included), silent past the watchdog, TLS
//	  handshake and certificate failures (at each
//	  reconnect, with a warning that says why)
//	the same, reaching Errno without a sentinel    (none)                 EIO
//	  (a callback's error wrapping a read that
//	  met the reset)
//	cancelled or timed out work                    context errors         EIO
//
// A socket's errno never reaches a caller: Errno answers EIO for any error
// whose chain holds a network, TLS or certificate error, before it looks
// for an errno, so cat never prints "Connection reset by peer" (ECONNRESET),
// "Broken pipe" (EPIPE), "Connection timed out" (ETIMEDOUT), "Connection
// refused" or "No route to host". An errno passes through only when it
// describes a file: those a Source returns on purpose (pop3store's
// ENOTEMPTY, EEXIST, EINVAL) and those of the local disk under the cache,
// the POP3 store and the spool (ENOSPC, EDQUOT, EFBIG, EROFS, EACCES,
// EPERM, ENOENT, EEXIST, ENOTEMPTY, ENOTDIR, EISDIR, ENAMETOOLONG, EXDEV,
// EMFILE, ENFILE, EBADF, ENOTSUP); any other (EINTR, EAGAIN, a disk's
// EIO) is EIO. POP3 errors reach no file operation (a listing shows the
// store); they decide what mailfs check prints and what a poll logs.
//
// # Outbox
//
// With Options.Outbox, MOUNT/outbox/ lists the queued messages
// (outbox.Queued) and failed/, which lists each failed message with
// NAME.error beside it (the one-line reason and a newline).
//
//   - Creating a file starts an outbox.Draft: WRITE is Draft.WriteAt, so
//     the write that completes an invalid header fails with EINVAL (cp
//     reports it there); FLUSH is Draft.Commit, so close() fails with
//     EINVAL for an invalid message (now in failed/) or with the I/O error
//     that kept it from the queue; a dup'd descriptor flushes again and
//     gets the same answer, and a write after the commit fails with EBADF.
//     RELEASE is Draft.Abort, which only drops a draft nothing was
//     committed from (touch outbox/x leaves nothing). A file nothing was
//     written to is not committed by a flush, so "cmd > outbox/x" works.
//     Truncation goes to Draft.Truncate; mode, owner and times are
//     accepted and ignored (cp -p). A draft is not listed; its size shows
//     through the writer's descriptor and name while it is written.
//   - The message is committed at the first close with content: write it
//     through one descriptor (or dup'd ones closed last), not from two
//     processes one after the other ("(cat a; cat b) > outbox/x" queues
//     only a).
//   - Opening a queued message for writing (cp onto a name still queued)
//     starts a new message of that name, which the outbox gives a suffix
//     (msg-2.eml); appending to it and writing to a failed message are
//     refused with EACCES.
//   - Queued and failed messages are read-only files (0444) with the
//     stored size and the commit time; cat reads them (OpenQueued,
//     OpenFailed). getfattr -d shows user.mail.state, user.mail.account,
//     user.mail.attempts and, queued, user.mail.next-attempt (RFC 3339)
//     and user.mail.last-error (when set), failed, user.mail.error;
//     changing them fails with EPERM.
//   - rm outbox/NAME cancels (outbox.Remove; EBUSY while it is being
//     sent). rm outbox/failed/NAME deletes the message and its NAME.error
//     (outbox.RemoveFailed); rm of NAME.error alone fails with EPERM.
//   - mv outbox/failed/NAME outbox/ (under any name) is outbox.Retry: the
//     message keeps its name, and EINVAL means it is still invalid (it
//     stays in failed/ with the new reason). Any other rename within the
//     outbox fails with EPERM, one out of it with EXDEV; mkdir in the
//     outbox, and creating files in failed/, with EPERM.
//   - Errors map through Errno: outbox.ErrInvalid and outbox.ErrBadName
//     to EINVAL, outbox.ErrBusy to EBUSY, fs.ErrNotExist to ENOENT.
//
// The outbox does not report changes (a message sent, failed or retried
// by its queue), so outbox entries and attributes are kept by the kernel
// for one second only, without FOPEN_KEEP_CACHE, and outbox/ is listed
// afresh on every readdir. After changes made through the mount (a commit
// that renamed or failed a message, a retry, rm of a failed message, mv of
// a message, an append) the kernel is told to forget the names involved
// (NotifyEntry, sent from a goroutine, since the kernel holds the
// directory's lock until the request that made the change is answered).
//
// # Changes on the server
//
// A Source that finds changes on the server by itself (Watched: the IMAP
// cache, with IDLE and polling) reports each mailbox's new, vanished and
// re-flagged messages (remote.Change), after it published the new listing.
// Mount subscribes to it; the callback only queues the change, and one
// goroutine per account applies the queue in order, holding no lock:
//
//   - It finds the directories of the mailbox that the kernel knows (the
//     inodes under the account directory whose levels, joined by the
//     delimiter, give the mailbox's name); a mailbox never looked up has
//     none, and nothing is told.
//   - A new message: NotifyEntry of its name, so that a negative entry an
//     earlier lookup left goes and stat and ls see it at once.
//   - A vanished message: NotifyDelete when the kernel has its inode, else
//     NotifyEntry, so that stat answers ENOENT at once although message
//     entries are kept for an hour. A process holding the file open reads
//     it to the end: before the Source's callback returns (and so before
//     the Source deletes the body file), every open handle of the message
//     that has no body file yet gets one (messageNode.pin; see Caching).
//   - A new UIDVALIDITY: both, for every name of the old and the new
//     listing.
//   - Changed flags: nothing; user.mail.flags is read from the listing,
//     and the kernel does not cache extended attributes.
//
// Then Options.OnNewMail, when set, is called from that goroutine with the
// paths of the new messages (not after a new UIDVALIDITY) under the names
// the mount shows, computed from the mailbox list as readdir does, whether
// or not the kernel looked the directories up; never after the mount is
// gone.
//
// # Signals
//
// The kernel sends INTERRUPT for a request whenever the calling thread gets
// a signal (SIGCHLD, SIGWINCH, timers, SIGURG in Go programs). No request
// is ever cancelled by it: Mount serves the go-fuse bridge through a
// wrapper that hands every request a never-cancelled context, so the work
// runs to its end, bounded by the Source's own timeouts (the IMAP
// watchdog), and the caller gets its answer or EIO, never EINTR, which
// programs do not retry. Errno maps a cancelled context to EIO.
//
// # Caching
//
// Message names, attributes and bodies are immutable, so the kernel keeps
// their entries and attributes for an hour and their pages across opens
// (FOPEN_KEEP_CACHE). Directories are revalidated every second and listed
// afresh (synced with the server when older than Options.StaleAfter) on each
// readdir, so new mail shows up in ls.
//
// A warm read (the pages are in the kernel) costs one OPEN, answered from
// memory, and one RELEASE, which close does not wait for: a message asks
// for no FLUSH (FOPEN_NOFLUSH), and a message whose body was opened before
// is opened again without the Source (its size is known; the body file is
// opened at the first READ, if the kernel needs one, or when the message
// vanishes while the handle is open: pin). The first open of a message
// opens its body, fetching it when needed, and corrects the size before
// the first read. So the Source (and the cache's least-recently-read
// order) sees a message when the daemon reads it: at its first open in a
// mount, and whenever the kernel lacks its pages.
//
// The kernel's connection-wide no-open and no-flush modes (an OPEN or a
// FLUSH answered with ENOSYS) would save the OPEN but are not used, since
// this connection also takes created files (outbox/, cp into a folder): in
// no-open mode a created file gets FLUSH but no RELEASE (a touched file is
// never dropped) and no OPEN reaches a message before its first read (no
// size correction); in no-flush mode a created file gets no FLUSH, so its
// close can neither fail (EINVAL) nor send or append it.
// BenchmarkWarmGrepModes measures each mode; TestOpenFlushModes shows the
// requests.
package fs
