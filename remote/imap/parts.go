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

	"mailfs/internal/mimeparts"
	"mailfs/remote"
)

var _ remote.PartFetcher = (*Store)(nil)

// structureItems asks for the extended BODYSTRUCTURE (dispositions and
// the parameters of multiparts).
var structureItems = &imap.FetchOptions{
	UID:           true,
	BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
}

// Structure returns the MIME structure of message uid with one UID FETCH
// (BODYSTRUCTURE) after EXAMINE, converted by the rules of
// mimeparts.Parse (mimeparts.Fields), so that it equals what Parse makes
// of the message's bytes. A UID that is not there fails with
// remote.ErrNotFound, a changed UIDVALIDITY with remote.ErrUIDValidity.
func (s *Store) Structure(ctx context.Context, mailbox string, uidValidity, uid uint32) (remote.Part, error) {
	const op = "UID FETCH BODYSTRUCTURE"
	var (
		root  remote.Part
		found bool
	)
	err := s.do(ctx, op, mailbox, func(cn *conn, _ *bool) error {
		found = false
		ex, st := cn.examineAndFetch(mailbox, false, imap.UIDSetNum(imap.UID(uid)), structureItems)
		if err := s.examined(cn, ex, mailbox, uidValidity); err != nil {
			st.close()
			return err
		}
		for msg := st.next(); msg != nil; msg = st.next() {
			var (
				got uint32
				bs  imap.BodyStructure
			)
			for item := msg.Next(); item != nil; item = msg.Next() {
				switch it := item.(type) {
				case imapclient.FetchItemDataUID:
					got = uint32(it.UID)
				case imapclient.FetchItemDataBodyStructure:
					bs = it.BodyStructure
				}
			}
			if got == uid && bs != nil {
				root, found = messagePart(bs, ""), true
			}
		}
		return st.close()
	})
	if err != nil {
		return remote.Part{}, err
	}
	if !found {
		return remote.Part{}, s.newErr(opName(op, mailbox), remote.ErrNotFound, fmt.Sprintf("no message with UID %d", uid), "", nil)
	}
	return root, nil
}

// messagePart converts the body structure of a message (the root, msg
// "", or the message enclosed in the message/rfc822 part msg), numbering
// its body as mimeparts does: "1" or "2.1" when single-part, "" or
// "2.TEXT" when multipart, with parts numbered under msg.
func messagePart(bs imap.BodyStructure, msg string) remote.Part {
	if mp, ok := bs.(*imap.BodyStructureMultiPart); ok {
		sec := ""
		if msg != "" {
			sec = msg + ".TEXT"
		}
		return multiPart(mp, sec, msg)
	}
	sec := "1"
	if msg != "" {
		sec = msg + ".1"
	}
	return bodyPart(bs, sec)
}

// bodyPart converts the body structure of the part at section.
func bodyPart(bs imap.BodyStructure, section string) remote.Part {
	switch b := bs.(type) {
	case *imap.BodyStructureMultiPart:
		return multiPart(b, section, section)
	case *imap.BodyStructureSinglePart:
		f := mimeparts.Fields{Type: b.Type, Subtype: b.Subtype, Params: b.Params, Encoding: b.Encoding}
		if d := b.Disposition(); d != nil {
			f.Disposition, f.DispositionParams = d.Value, d.Params
		}
		p := f.Part(section, int64(b.Size))
		if p.Type == "message" && p.Subtype == "rfc822" && b.MessageRFC822 != nil && b.MessageRFC822.BodyStructure != nil {
			p.Parts = []remote.Part{messagePart(b.MessageRFC822.BodyStructure, section)}
		}
		return p
	}
	return remote.Part{Section: section}
}

// multiPart converts a multipart at section whose parts are numbered
// under prefix.
func multiPart(b *imap.BodyStructureMultiPart, section, prefix string) remote.Part {
	f := mimeparts.Fields{Type: "multipart", Subtype: b.Subtype}
	if b.Extended != nil {
		f.Params = b.Extended.Params
		if d := b.Extended.Disposition; d != nil {
			f.Disposition, f.DispositionParams = d.Value, d.Params
		}
	}
	p := f.Part(section, 0)
	for i, c := range b.Children {
		sec := fmt.Sprint(i + 1)
		if prefix != "" {
			sec = prefix + "." + sec
		}
		p.Parts = append(p.Parts, bodyPart(c, sec))
	}
	return p
}

// FetchPart writes the body of part section of message uid, as
// transferred, to w with one UID FETCH (BODY.PEEK[section]) after
// EXAMINE: \Seen is never set. Sections are those of remote.Part
// ("1.2", "2.TEXT", "" for the whole message) and "HEADER" for the
// message's header (mimeparts.ParseSection; another fails with
// remote.ErrInvalid before anything is sent). A UID that is not there
// fails with remote.ErrNotFound, a changed UIDVALIDITY with
// remote.ErrUIDValidity; a part the message does not have is empty, as
// the server answers. An error of w is returned as it is. The body is
// streamed from the connection as it comes, or through a temporary file
// when the server sends the UID after it.
func (s *Store) FetchPart(ctx context.Context, mailbox string, uidValidity, uid uint32, section string, w io.Writer) (int64, error) {
	op := "UID FETCH BODY.PEEK[" + section + "]"
	parts, spec, err := mimeparts.ParseSection(section)
	if err != nil {
		return 0, s.newErr(opName(op, mailbox), remote.ErrInvalid, err.Error(), "", nil)
	}
	want := &imap.FetchItemBodySection{Peek: true, Part: parts, Specifier: imap.PartSpecifier(spec)}
	items := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{want}}
	var (
		n     int64
		found bool
	)
	err = s.do(ctx, op, mailbox, func(cn *conn, called *bool) error {
		n, found = 0, false
		ex, st := cn.examineAndFetch(mailbox, false, imap.UIDSetNum(imap.UID(uid)), items)
		if err := s.examined(cn, ex, mailbox, uidValidity); err != nil {
			st.close()
			return err
		}
		deliver := func(body io.Reader) error {
			if found {
				return nil // the server sent the section twice
			}
			*called = true
			found = true
			cn.clock.pause()
			defer cn.clock.resume()
			m, err := io.Copy(w, &watchedReader{r: body, p: &cn.clock})
			n += m
			return err
		}
		var fnErr error
		truncated := false
		for fnErr == nil {
			msg := st.next()
			if msg == nil {
				break
			}
			fnErr = s.fetchPartOne(msg, uid, want, deliver, &truncated)
		}
		if fnErr != nil {
			cn.kill()
			if truncated {
				<-cn.client.Closed() // see fetchChunk
			}
		}
		err := st.close()
		if fnErr != nil {
			return fnErr
		}
		return err
	})
	if err != nil {
		return n, err
	}
	if !found {
		return 0, s.newErr(opName(op, mailbox), remote.ErrNotFound, fmt.Sprintf("no message with UID %d", uid), "", nil)
	}
	return n, nil
}

// fetchPartOne handles one FETCH response of FetchPart: the body section
// asked for goes to deliver if the response is message uid's, straight
// from the connection when the UID came first, through a temporary file
// when it came after. truncated is set when the literal ended before its
// announced size.
func (s *Store) fetchPartOne(msg *imapclient.FetchMessageData, uid uint32, want *imap.FetchItemBodySection, deliver func(io.Reader) error, truncated *bool) error {
	var (
		got   uint32
		spool *os.File
	)
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	// copyOut delivers a body; a failure of the connection while w
	// writes it is the connection's (remote.ErrUnavailable, retried by
	// the caller), any other the writer's, passed through.
	copyOut := func(body io.Reader, lit *literalReader) error {
		err := deliver(body)
		if err == nil {
			return nil
		}
		if lit != nil && lit.broken() {
			return fmt.Errorf("read part of UID %d: %w", uid, lit.err)
		}
		return &callbackError{err}
	}
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			got = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			if !sameSection(it.Section, want) {
				continue
			}
			if it.Literal == nil {
				// NIL: a part the message does not have, as empty.
				it.Literal = emptyLiteral{}
			}
			lit := &literalReader{r: it.Literal, left: it.Literal.Size(), truncated: truncated}
			if got != 0 {
				if got != uid {
					continue // not ours; drained with the response
				}
				if err := copyOut(lit, lit); err != nil {
					return err
				}
				if _, err := io.Copy(io.Discard, lit); err != nil {
					return fmt.Errorf("drain part of UID %d: %w", uid, err)
				}
				continue
			}
			f, err := os.CreateTemp("", "mailfs-imap-part-*")
			if err != nil {
				return &callbackError{fmt.Errorf("spool a message part: %w", err)}
			}
			spool = f
			if _, err := io.Copy(f, lit); err != nil {
				return fmt.Errorf("spool a message part: %w", err)
			}
		}
	}
	if spool != nil && got == uid {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return &callbackError{fmt.Errorf("spool a message part: %w", err)}
		}
		return copyOut(spool, nil)
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
