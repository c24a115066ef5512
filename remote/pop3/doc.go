// Package pop3 downloads mail from a POP3 server (RFC 1939): it implements
// remote.Downloader for mailfs's durable POP3 store.
//
// # Command layer
//
// The package speaks POP3 through its own small command layer instead of
// github.com/knadh/go-pop3 v1.0.0. That library was read and found unfit to
// be bent around, for reasons a mail store cannot accept:
//
//   - its RETR and TOP do not dot-unstuff, insert a CRLF into lines longer
//     than 4096 bytes and buffer the whole message in memory;
//   - its reader is private, so a body cannot be streamed off the same
//     connection with a reader of our own without two buffers on one stream;
//   - Stat, List and Uidl index the fields of the reply without checking
//     their number: a reply such as "+OK" to STAT panics the process;
//   - a status line longer than its buffer is silently split, putting the
//     session out of step; an -ERR cannot be told from a garbled reply;
//   - it has no deadlines, no context, no STLS and no CAPA.
//
// The command layer here is a few hundred lines: one buffered reader per
// connection, a read deadline renewed at every read (CommandTimeout bounds
// how long the server may stay silent, not how long a transfer may take),
// and a context watcher that closes the connection when ctx is done.
//
// # Bodies
//
// RETR is read with a streaming dot-unstuffing reader that keeps every byte
// as the server sent it: CRLF stays CRLF, bare LF, bare CR and NUL bytes
// pass through, lines of any length pass unchanged, and a line that starts
// with "." loses exactly one ".". A line starts after every LF. The answer
// ends at ".CRLF" at the start of a line (strictly: ".LF" does not end it).
// Memory use is bounded by the reader's buffer, whatever the message size.
//
// RFC 1939 makes the server end a message that lacks a final CRLF with one
// before the terminator, so "X" and "X\r\n" look alike on the wire. When
// the body ends with CRLF and the LIST size of the message is exactly two
// bytes less than what arrived, that CRLF was added by the server and is
// dropped; otherwise every byte is kept.
//
// A Retrieve that fails part-way returns an error: what was written to w
// is incomplete and must not be stored.
//
// # UIDs
//
// Message identity comes from UIDL. A server that answers UIDL with -ERR
// gets a fallback key per message: "hdr-" followed by the hex SHA-256 of its
// identifying header fields (Message-ID, Date, From, To, Subject, the first
// of each, unfolded, as raw bytes) and its LIST size. The header is read with
// "TOP n 0", or with RETR (the body discarded as it streams) when TOP is
// refused too. Keys are stable across sessions as long as the messages are;
// messages whose keys collide within one listing (true duplicates) get
// "-2", "-3"… appended in maildrop order.
//
// # TLS and authentication
//
// TLSImplicit (port 995) speaks TLS from the first byte; TLSStartTLS (port
// 110) upgrades with STLS (RFC 2595) before anything else is sent and never
// falls back to plain text; TLSNone never encrypts (the config layer allows
// it for loopback hosts only). Certificates are always verified; ServerName
// defaults to Host.
//
// Auth "plain" logs in with SASL PLAIN (RFC 5034 AUTH) when CAPA offers
// "SASL PLAIN", and with USER/PASS otherwise; "xoauth2" and "oauthbearer"
// use SASL with the token. An -ERR during login is remote.ErrAuth, except the
// RFC 2449/3206 codes [IN-USE] and [SYS/TEMP], which mean the maildrop is
// busy (remote.ErrUnavailable). Secrets never reach an error or a log line.
//
// # Errors
//
// Network, timeout, TLS and protocol failures wrap remote.ErrUnavailable and
// close the connection; an -ERR to any other command wraps remote.ErrRefused
// with the server's text; a cancelled ctx returns its error and closes the
// connection. Deletions take effect only at Quit (the RFC 1939 UPDATE
// state); Close drops the connection without committing them.
package pop3
