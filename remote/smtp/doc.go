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
//   - Recipients: a message is sent only when every recipient was
//     accepted in some transaction. A 5xx to a RCPT refuses that recipient
//     for good, so the message can never be sent: no transaction holding
//     or following a refused recipient gets DATA (it is reset), the other
//     recipients are still tried so that the error lists every refusal,
//     and the error is a permanent *RecipientsError. It stays permanent
//     when the server then ends the session (Postfix answers 421 to the
//     21st command after 20 refusals): the recipients not tried are
//     counted. A 4xx to a RCPT with no refusal before it (421 included) is
//     a temporary failure of the recipients not yet delivered.
//   - Recipient limits: a 452 (or 552 5.5.3) to a RCPT after others were
//     accepted means the transaction is full (RFC 5321 4.5.3.1.10): the
//     accepted ones get the message, then a new transaction on the same
//     connection goes on from the recipient that got the 452. The message
//     is read once per transaction: a seekable reader is rewound, any
//     other spooled (unlinked temp file) before the first DATA.
//     SendProgress reports each delivered transaction before the next
//     one starts, so the outbox can record it durably; ReplyError's
//     Permanent, TooManyRecipients and Closing are the one place replies
//     are classified.
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
