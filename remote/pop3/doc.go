// Package pop3 downloads mail from a POP3 server (RFC 1939): it implements
// remote.Downloader for mailfs's durable POP3 store.
//
// # Session: go-pop3 and what we add
//
// The session is github.com/knadh/go-pop3 v1.0.0: pop3.New and NewConn own
// the connection and read the greeting; USER and PASS (User, Pass), DELE
// (Dele), QUIT (Quit), NOOP (Noop) and RSET (Rset) are its methods; STAT,
// LIST n, the AUTH lines of SASL and their responses go through its generic
// single-line Cmd; and the multi-line commands (CAPA, LIST, UIDL, TOP,
// RETR) are sent with its Send.
//
// The library is not trusted further, for reasons a mail store cannot
// accept:
//
//   - its RETR and TOP do not dot-unstuff, insert a CRLF into lines longer
//     than 4096 bytes and buffer the whole message in memory;
//   - Stat, List and Uidl index the fields of the reply without checking
//     their number: a reply such as "+OK" to STAT panics the process;
//   - its reply parser treats an empty line as +OK, and a reply line longer
//     than its 4096-byte buffer is silently split, the rest then read as
//     the next reply;
//   - it has no deadlines, no context, no STLS and no CAPA, and its
//     TLSEnabled takes no tls.Config (no RootCAs) and joins host and port
//     with "%s:%d", wrong for IPv6 literals.
//
// So our code does the rest:
//
//   - The connection. go-pop3 dials through our gopop3.Dialer (TLSEnabled
//     stays false): it connects to host:port itself, does implicit TLS
//     with our tls.Config, or reads the greeting, sends STLS, checks the
//     reply and that nothing follows it, shakes hands, and replays the
//     greeting for NewConn to read. What it returns is our wire, a
//     net.Conn that renews a deadline before every read and write
//     (CommandTimeout bounds how long the server may stay silent, not how
//     long a transfer may take), is closed by a context watcher when ctx
//     is done, and counts the bytes each way (logged at disconnect).
//   - Judging replies. The wire records the reply line it hands to go-pop3,
//     and our parser, not go-pop3's, decides: +OK and its text, -ERR (a
//     refusal, the session still in step), or anything else (a protocol
//     error that ends the session). STAT and LIST n are parsed by us
//     with their fields checked; go-pop3's Stat, List, Uidl, Retr, RetrRaw
//     and Top are never called.
//   - Multi-line answers. After Send, the status line and the
//     dot-terminated body are read by us, straight from the wire's
//     buffered reader, never with go-pop3's ReadAll.
//
// # The lock-step invariant
//
// Two readers on one stream are safe only because POP3 is strictly
// lock-step: the client sends a command and the server answers it, and
// sends nothing else. So once go-pop3 has read a whole single-line reply,
// nothing more is due, and its private bufio.Reader must be empty — else
// the next multi-line answer, read by us, would start with bytes hidden
// in go-pop3's buffer, or go-pop3 would take stray bytes for its next
// reply.
//
// The wire makes that hold by construction and checks the server keeps to
// it. Every byte from the server goes through one buffered reader of ours;
// go-pop3's reader is filled from it by the wire's Read, which never hands
// over more than the rest of the current line. go-pop3 reads with
// bufio.Reader.ReadLine, which stops filling at the first LF, so its
// buffer is empty after each reply and whatever the server sent beyond it
// stays in our reader. Around every go-pop3 call the wire checks that
// exactly one whole line was consumed (a line longer than go-pop3's buffer
// ends the session rather than being split); before every command and
// after every reply or answer it checks that our reader holds nothing: data
// there is the server speaking out of turn, and the session fails with
// remote.ErrUnavailable ("server sent unexpected data") instead of taking
// it for the next reply, which for a RETR would put it into the message.
// A stray line that arrives only after the next command was sent cannot be
// told from that command's reply, by this client or any other; it lands in
// our reader, never in go-pop3's, and is parsed as that reply.
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
// remote.TLSImplicit (port 995) speaks TLS from the first byte;
// remote.TLSStartTLS (port 110) upgrades with STLS (RFC 2595) before
// anything else is sent and never falls back to plain text; remote.TLSNone
// never encrypts (the config layer allows it for loopback hosts only). Both are done by our dialer, not go-pop3.
// Certificates are always verified (InsecureSkipVerify in
// Options.TLSConfig is ignored); ServerName defaults to Host.
//
// Auth "plain" logs in with SASL PLAIN (RFC 5034 AUTH) when CAPA offers
// "SASL PLAIN", and with USER/PASS otherwise; "xoauth2" and "oauthbearer"
// use SASL with the token. An -ERR during login is remote.ErrAuth, except the
// RFC 2449/3206 codes [IN-USE], [LOGIN-DELAY], [SYS/TEMP] and [SYS/PERM],
// which put the failure on the server (remote.ErrUnavailable). Secrets
// never reach an error or a log line.
//
// # Errors
//
// Every error is a *remote.OpError naming the account, the server and the
// command. Network, timeout, TLS and protocol failures (unexpected data from the
// server included) wrap remote.ErrUnavailable and close the connection; an
// -ERR to any other command keeps the session and wraps, with the server's
// text, the sentinel of its response code (errors.go: [IN-USE],
// [LOGIN-DELAY], [SYS/TEMP], [SYS/PERM] remote.ErrUnavailable; [AUTH]
// remote.ErrAuth) or, without one, remote.ErrRefused; a cancelled ctx returns its error and closes the connection. Deletions take effect only at Quit (the RFC 1939 UPDATE
// state); Close drops the connection without committing them.
package pop3
