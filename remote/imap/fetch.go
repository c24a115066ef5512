package imap

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"

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
	ex, st := cn.examineAndFetch(mailbox, set, bodyItems)
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
	var fnErr error
	for msg := st.next(); msg != nil && fnErr == nil; msg = st.next() {
		fnErr = s.fetchOne(msg, deliver)
	}
	if fnErr != nil {
		cn.kill() // stop the rest of the bodies
	}
	err := st.close()
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return err
	}
	for _, u := range uids {
		if wanted[u] && !delivered[u] {
			cn.log.Debug("imap message not found", "mailbox", mailbox, "uid", u)
		}
	}
	return nil
}

// fetchOne handles one FETCH response: the body goes to deliver, straight
// from the connection when the UID came first, through a temporary file when
// the server sent the UID after the body.
func (s *Store) fetchOne(msg *imapclient.FetchMessageData, deliver func(uint32, io.Reader) error) error {
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
			if it.Literal == nil || !isWholeBody(it.Section) {
				continue
			}
			if uid != 0 {
				if err := deliver(uid, it.Literal); err != nil {
					return err
				}
				if _, err := io.Copy(io.Discard, it.Literal); err != nil {
					return fmt.Errorf("drain body of UID %d: %w", uid, err)
				}
				continue
			}
			f, err := os.CreateTemp("", "mailfs-imap-*.eml")
			if err != nil {
				return &callbackError{fmt.Errorf("spool a message body: %w", err)}
			}
			spool = f
			if _, err := io.Copy(f, it.Literal); err != nil {
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

func isWholeBody(sec *imap.FetchItemBodySection) bool {
	return sec != nil && sec.Specifier == imap.PartSpecifierNone && len(sec.Part) == 0 && sec.Partial == nil
}

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
