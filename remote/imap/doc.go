// Package imap implements remote.Store over IMAP with go-imap v2's client.
//
// It owns everything about talking IMAP for mailfs: a small pool of
// authenticated connections (each used by one caller at a time, mailboxes
// opened read-only with EXAMINE), a watchdog that closes a connection when
// the server goes silent or the caller's context ends, the translation of
// server answers into remote's sentinel errors (each error a
// *remote.OpError), and the streaming of listings and bodies without holding
// whole folders or messages in memory.
//
// Reading never changes server state: bodies are fetched with BODY.PEEK[]
// from mailboxes opened with EXAMINE. Changes (remote.Editor in edit.go and
// folders.go, Append in append.go) SELECT the mailbox, check UIDVALIDITY
// before touching anything, and leave the connection with UNSELECT (or a
// new EXAMINE) so that no later read runs on a read-write mailbox; they
// never send a plain EXPUNGE or CLOSE, only UID EXPUNGE of the messages
// they marked, and refuse (remote.ErrUnsupported) what a server without
// MOVE and UIDPLUS cannot do safely. go-imap's own MOVE fallback is not
// used (it deletes mail when the COPY fails). Library types never leave
// the package.
//
// Watch (remote.Watcher, idle.go) follows a mailbox with IDLE, one
// connection of its own per watched folder, outside the pool; NOTIFY
// (RFC 5465), which could watch many folders on one connection, is not
// used because go-imap's client lacks it.
package imap
