package imap

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// maxFetchUIDs bounds the UIDs of one UID FETCH command, so that a command
// line stays well below the 8 KB that servers accept.
const maxFetchUIDs = 500

// bodyItems asks for the whole message without setting \Seen.
var bodyItems = &imap.FetchOptions{
	UID:         true,
	BodySection: []*imap.FetchItemBodySection{{Peek: true}},
}

// Fetch streams the full bodies of uids with UID FETCH (BODY.PEEK[]),
// calling fn once per message found; missing UIDs are skipped. Each body is
// streamed from the connection as fn reads it; what fn leaves unread is
// drained.
func (s *Store) Fetch(ctx context.Context, mailbox string, uidValidity uint32, uids []uint32, fn func(uid uint32, body io.Reader) error) error {
	if len(uids) == 0 {
		return nil
	}
	want := slices.Clone(uids)
	slices.Sort(want)
	want = slices.Compact(want)
	delivered := make(map[uint32]bool, len(want))
	for len(want) > 0 {
		chunk := want[:min(len(want), maxFetchUIDs)]
		want = want[len(chunk):]
		err := s.do(ctx, "UID FETCH BODY.PEEK[]", mailbox, func(cn *conn, called *bool) error {
			return s.fetchChunk(cn, mailbox, uidValidity, chunk, delivered, called, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchChunk runs one UID FETCH for uids. delivered records the UIDs given
// to fn, so that a retried command does not repeat them.
func (s *Store) fetchChunk(cn *conn, mailbox string, uidValidity uint32, uids []uint32, delivered map[uint32]bool, called *bool, fn func(uint32, io.Reader) error) error {
	var set imap.UIDSet
	wanted := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		if !delivered[u] {
			set.AddNum(imap.UID(u))
			wanted[u] = true
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	ex, st := cn.examineAndFetch(mailbox, false, set, bodyItems)
	if err := s.examined(cn, ex, mailbox, uidValidity); err != nil {
		st.close()
		return err
	}
	deliver := func(uid uint32, body io.Reader) error {
		if !wanted[uid] || delivered[uid] {
			return nil
		}
		delivered[uid] = true
		*called = true
		cn.clock.pause()
		err := fn(uid, &watchedReader{r: body, p: &cn.clock})
		cn.clock.resume()
		if err != nil {
			return &callbackError{err}
		}
		return nil
	}
	if err := readBodies(cn, st, bodyItems.BodySection[0], false, deliver); err != nil {
		return err
	}
	for _, u := range uids {
		if wanted[u] && !delivered[u] {
			cn.log.Debug("imap message not found", "mailbox", mailbox, "uid", u)
		}
	}
	return nil
}

// readBodies reads the FETCH responses of st and gives deliver the body
// section want of each with the response's UID: straight from the
// connection when the UID came first, through a temporary file when the
// server sent it after the body. A section the server answers NIL (one
// the message does not have) is delivered empty when nilEmpty, else not at
// all. An error of deliver stops the command (the connection is killed)
// and is returned as it is, unless the connection broke under it: then the
// connection's error is, so that the caller sees remote.ErrUnavailable and
// may try again. A body literal that ends before its announced size is
// such an error.
func readBodies(cn *conn, st *fetchStream, want *imap.FetchItemBodySection, nilEmpty bool, deliver func(uid uint32, body io.Reader) error) error {
	var fnErr error
	truncated := false
	for fnErr == nil {
		msg := st.next()
		if msg == nil {
			break
		}
		fnErr = readBody(msg, want, nilEmpty, deliver, &truncated)
	}
	if fnErr != nil {
		cn.kill() // stop the rest of the bodies
		if truncated {
			// go-imap's reader goroutine went on after the short
			// literal, and draining reads that literal again: let the
			// reader finish with the dead connection first (it waits
			// for nothing once the literal has ended).
			<-cn.client.Closed()
		}
	}
	err := st.close()
	if fnErr != nil {
		return fnErr
	}
	return err
}

// readBody handles one FETCH response for readBodies. truncated is set
// when a body literal ended before its announced size.
func readBody(msg *imapclient.FetchMessageData, want *imap.FetchItemBodySection, nilEmpty bool, deliver func(uint32, io.Reader) error, truncated *bool) error {
	var uid uint32
	var spool *os.File
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			if !sameSection(it.Section, want) || (it.Literal == nil && !nilEmpty) {
				continue
			}
			if it.Literal == nil {
				it.Literal = emptyLiteral{}
			}
			lit := &literalReader{r: it.Literal, left: it.Literal.Size(), truncated: truncated}
			if uid != 0 {
				if err := deliver(uid, lit); err != nil {
					if lit.broken() {
						return fmt.Errorf("read body of UID %d: %w", uid, lit.err)
					}
					return err
				}
				if _, err := io.Copy(io.Discard, lit); err != nil {
					return fmt.Errorf("drain body of UID %d: %w", uid, err)
				}
				continue
			}
			f, err := os.CreateTemp("", "mailfs-imap-*")
			if err != nil {
				return &callbackError{fmt.Errorf("spool a message body: %w", err)}
			}
			spool = f
			if _, err := io.Copy(f, lit); err != nil {
				return fmt.Errorf("spool a message body: %w", err)
			}
		}
	}
	if spool != nil && uid != 0 {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return &callbackError{fmt.Errorf("spool a message body: %w", err)}
		}
		return deliver(uid, spool)
	}
	return nil
}

// sameSection reports whether a FETCH response's body section is the one
// asked for (the server names it without PEEK).
func sameSection(got, want *imap.FetchItemBodySection) bool {
	return got != nil && slices.Equal(got.Part, want.Part) &&
		strings.EqualFold(string(got.Specifier), string(want.Specifier)) && got.Partial == nil
}

// emptyLiteral is the body of a section the server answered NIL.
type emptyLiteral struct{}

func (emptyLiteral) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyLiteral) Size() int64              { return 0 }

// watchedReader runs the watchdog's clock while fn reads a body from the
// connection (the clock is paused during the rest of fn).
type watchedReader struct {
	r io.Reader
	p *progress
}

func (w *watchedReader) Read(b []byte) (int, error) {
	w.p.resume()
	defer w.p.pause()
	return w.r.Read(b)
}

// literalReader reads a body literal and fails with io.ErrUnexpectedEOF
// when it ends before its announced size: go-imap's literal reader is an
// io.LimitReader over the connection, so a server closing the connection
// mid-body would otherwise end it with a clean io.EOF and a truncated body
// would look complete. Once the literal has ended (or failed) it is not
// read again.
type literalReader struct {
	r         io.Reader
	left      int64 // bytes announced and not yet read
	err       error // the error that ended the literal
	truncated *bool // set when the literal ended short
}

// broken reports whether the literal ended with an error other than its
// normal end: cut short, or the connection failed.
func (l *literalReader) broken() bool {
	return l.err != nil && l.err != io.EOF
}

func (l *literalReader) Read(b []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(b)
	l.left -= int64(n)
	if err == io.EOF && l.left > 0 {
		err = fmt.Errorf("body literal ended %d bytes short: %w", l.left, io.ErrUnexpectedEOF)
		*l.truncated = true
	}
	l.err = err
	return n, err
}
