// Package smtp sends mail through an SMTP submission server: it implements
// remote.Sender on top of go-smtp. It owns the connection (TLS, EHLO,
// authentication, reuse for a burst), the choice between sending a message
// as it is and re-encoding it to 7-bit, and the translation of SMTP replies
// into the errors of the remote contract. No go-smtp type leaves it.
//
// Decisions:
//
//   - One connection, one message at a time. It is kept IdleTimeout after
//     the last message; before reuse a NOOP proves it alive (a dead one is
//     redialed, so a server's idle disconnect costs nothing). After a
//     refused command the transaction is RSET; after a network error, a
//     cancelled context or a half-sent DATA the connection is dropped.
//   - Timeouts: every reply wait and every write during DATA is bounded by
//     CommandTimeout and by ctx (a cancelled ctx interrupts a blocked read
//     or write at once); the reply to the final dot may take up to
//     max(CommandTimeout, 10m). Connection setup is bounded by
//     DialTimeout + CommandTimeout.
//   - TLS: STARTTLS is mandatory in remote.TLSStartTLS mode; the EHLO after it
//     forces the handshake, so a bad certificate fails there, before AUTH,
//     with the x509 error in the chain. The EHLO before STARTTLS says
//     "localhost" (go-smtp's), the one after it LocalName.
//   - Errors: a server reply is a *ReplyError whose text is the server's
//     ("MAIL FROM:<a@b>: server said: 550 5.7.1 ..."); 5xx is
//     remote.ErrPermanent, 4xx temporary. A 5xx to AUTH (535) is permanent
//     and remote.ErrAuth; 454 is temporary. Network and TLS failures wrap
//     remote.ErrUnavailable; an ended ctx wraps its error. Secrets appear
//     in no error and no log record.
//   - Recipients: when some RCPT get 5xx and others are accepted, the
//     transaction is reset before DATA and the error, permanent, lists
//     every refused recipient with its reply: nothing is half-sent, and
//     the user fixes the list and retries. A 4xx to any RCPT makes the
//     whole message temporary.
//   - 8-bit: with 8BITMIME offered the message goes byte for byte, streamed
//     (go-smtp adds BODY=8BITMIME). Without it the message is scanned (a
//     seekable reader is rewound, any other spooled to an unlinked temp
//     file) and, if it has 8-bit bytes or lines over 998 bytes, re-encoded
//     at the MIME level with go-message's textproto before MAIL FROM:
//     8-bit text parts become quoted-printable (charset kept; utf-8 added
//     when missing), other parts base64, multiparts keep their boundaries
//     (their preamble and epilogue are dropped), message/rfc822 parts are
//     re-encoded inside, header fields get RFC 2047 encoded words (names
//     in address lists, unstructured text) or RFC 2231 parameters.
//   - SMTPUTF8 is used only when an address needs it: a non-ASCII envelope
//     address or addr-spec in an address header. Without SMTPUTF8 that is
//     a permanent error ("server lacks SMTPUTF8, cannot send to non-ASCII
//     address X"). Raw UTF-8 in other header fields goes as it is to an
//     8BITMIME server (as mail clients do), and is encoded for a 7-bit one.
package smtp
