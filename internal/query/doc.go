// Package query is the language of search folders: the text of a
// directory made in MOUNT/<account>/.search/ is parsed here (Parse) into a
// remote.Query, which a server runs (IMAP SEARCH) or Match evaluates
// locally (the POP3 store). Format writes a query back in the language.
//
// # The language
//
// A query is a sequence of terms:
//
//	from:X       the From field contains X
//	to:X         the To field contains X
//	subject:X    the Subject field contains X
//	body:X       the body (the text after the header) contains X
//	text:X       the header or the body contains X
//	W            a bare word: text:W
//	"W W"        a bare quoted string: text:"W W"
//	since:DATE   received (INTERNALDATE) on DATE or later
//	before:DATE  received before DATE
//	larger:SIZE  larger than SIZE bytes
//	unseen       not read (no \Seen flag); also unread
//	seen         read: NOT unseen
//	flagged      with the \Flagged flag
//	unflagged    NOT flagged
//	all          every message
//
// X is a word or a "double-quoted string", in which \" stands for a quote
// and \\ for a backslash (no other escape exists). A word runs up to white
// space, a parenthesis or the end; it cannot contain a double quote.
// Matching is by substring and ignores case. Keys (from:, since:…) and
// the flag words are case-insensitive. A word with a colon that is not a
// key ("re:x", "12:30") is an error: quote it to search for it.
//
// DATE is YYYY-MM-DD, today, yesterday or Nd (N days before today), all
// computed from the time given to Parse in that time's location. SIZE is a
// number of bytes with an optional suffix k, m or g (upper or lower case),
// each a factor of 1024: larger:10k is larger than 10240 bytes.
//
// Terms side by side, or joined by AND, must all match; OR between terms
// means either. NOT before a term, or a minus sign stuck to its front
// (-from:x, -"a b", -(…)), negates it; parentheses group. NOT binds
// tighter than AND, AND tighter than OR:
//
//	from:alice OR from:bob unseen    from:alice OR (from:bob AND unseen)
//	(from:alice OR from:bob) unseen  either of them, and unread
//	-subject:"re:" since:7d          no "re:" in the subject, last 7 days
//
// The operators AND, OR and NOT are upper case only: "or" is a word.
//
// A query is a directory name, so it never contains '/': a slash is an
// error. Control characters and bytes that are not UTF-8 are errors too.
// Errors are *Error values that say what is wrong and where, as a byte
// offset counted from 0: `query "from:": from: needs a value (at 5)`.
//
// # Canonical form
//
// Format writes a query in a canonical form that Parse reads back into the
// same query, structure included: juxtaposed terms for AND, " OR " between
// alternatives, parentheses only where precedence needs them, seen and
// unflagged for the negated flags, -x for any other negation, dates as
// YYYY-MM-DD (Format writes dates, so "since:today" comes back as the day
// it was parsed on), sizes with the largest exact suffix. Parse flattens
// nested groups of the same operator ("(a b) c" is one AND of three
// terms), which is the only structure Format writes.
//
// # Matching locally
//
// Match evaluates a query on one message as Dovecot's IMAP SEARCH does
// (Dovecot 2.3 without full-text search: the server mailfs is tested
// against); see Match for the rules and the differences that remain.
package query
