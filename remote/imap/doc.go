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
// Nothing this package does changes server state: bodies are fetched with
// BODY.PEEK[] and mailboxes are only ever EXAMINEd. Library types never leave
// the package.
package imap
