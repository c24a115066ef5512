// Package mimeparts reads the MIME structure of a message and the parts
// in it, with no network: what the filesystem shows in a message's parts
// directory (NAME.eml.d/) when the message's body is at hand.
//
// It owns the rules that make a part description (remote.Part) the same
// whichever way it was learnt: Parse reads a whole message with
// go-message and numbers its parts as IMAP does (RFC 3501 §6.4.5), and
// the IMAP Store converts a server's BODYSTRUCTURE through the same Fields
// type, so that a cached message and the server agree on every part
// (checked against Dovecot by the Store's tests). Extract cuts one part
// out of a message as a server's BODY[section] gives it; Decode undoes a
// part's transfer encoding and charset; Files picks the files of a parts
// directory (text, html, attachments, attached messages); Headers renders
// a header block for reading.
//
// Section numbers: a single-part message's body is "1"; a multipart
// message's root has Section "" and its parts are "1", "2", …; the parts
// of a nested multipart "1" are "1.1", "1.2", …. A message/rfc822 part
// "2" has one child describing the enclosed message's body: section "2.1"
// when that message is single-part, or, when it is multipart, a multipart
// part with Section "2.TEXT" (what BODY[2.TEXT] fetches) whose parts are
// "2.1", "2.2", ….
//
// Parsing is lenient, as a reader of whatever servers send must be, and
// follows Dovecot where the RFCs leave room: a text part without a
// charset gets charset=us-ascii, a multipart with no part gets one empty
// text/plain part, the parts of a multipart/digest default to
// message/rfc822, and message/global is a leaf. Where go-message's
// multipart reader is stricter than Dovecot (a boundary line with text
// after it, a part header without its blank line, a multipart without its
// closing boundary), Parse sees what go-message sees.
package mimeparts
