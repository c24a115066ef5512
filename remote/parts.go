package remote

import (
	"context"
	"io"
)

// Part is one MIME part of a message, as IMAP's BODYSTRUCTURE describes
// it. The root is the message itself: for a single-part message its
// Section is "1" (what BODY[1] fetches), for a multipart one it is ""
// and its Parts are sections "1", "2", ….
type Part struct {
	// Section is the IMAP section number of the part ("1", "2.1");
	// empty for a multipart message's root.
	Section string
	// Type and Subtype are the media type, lower case: "text", "plain".
	Type, Subtype string
	// Params are the Content-Type parameters, keys lower case, values
	// decoded (RFC 2231): "charset", "name". A text part always has a
	// charset ("us-ascii" when it names none).
	Params map[string]string
	// Encoding is the Content-Transfer-Encoding, lower case ("7bit" when
	// the part has none); empty for a multipart.
	Encoding string
	// Size is the part's body size in bytes, as transferred (encoded),
	// a bare LF counted as CRLF; 0 for a multipart.
	Size int64
	// Disposition is the Content-Disposition type, lower case
	// ("attachment", "inline"; empty when the part has none).
	Disposition string
	// Filename is the file name the part gives (the disposition's
	// filename parameter, else the type's name), decoded (RFC 2231,
	// RFC 2047) but not made safe: it may hold anything.
	Filename string
	// Parts are the parts of a multipart, or the one part that is the
	// body of a message/rfc822 part: for a single-part enclosed message
	// its Section is this Section + ".1"; for a multipart one it is this
	// Section + ".TEXT" and its Parts are this Section + ".1", ".2", ….
	Parts []Part
}

// PartFetcher is a Store that fetches a message's structure and single
// parts (IMAP BODYSTRUCTURE and BODY.PEEK[section]), so that reading the
// text of a large message costs the text, not the message.
type PartFetcher interface {
	// Structure returns the MIME structure of message uid of mailbox.
	Structure(ctx context.Context, mailbox string, uidValidity, uid uint32) (Part, error)
	// FetchPart writes the body of part section of message uid, as
	// transferred (still in its Content-Transfer-Encoding), to w, and
	// returns its size. Section "HEADER" is the message's header.
	FetchPart(ctx context.Context, mailbox string, uidValidity, uid uint32, section string, w io.Writer) (int64, error)
}
