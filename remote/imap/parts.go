package imap

import (
	"context"
	"fmt"
	"io"

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
		deliver := func(got uint32, body io.Reader) error {
			if found || got != uid {
				return nil // the server sent the section twice, or another message's
			}
			*called = true
			found = true
			cn.clock.pause()
			defer cn.clock.resume()
			m, err := io.Copy(w, &watchedReader{r: body, p: &cn.clock})
			n += m
			if err != nil {
				return &callbackError{err}
			}
			return nil
		}
		return readBodies(cn, st, want, true, deliver)
	})
	if err != nil {
		return n, err
	}
	if !found {
		return 0, s.newErr(opName(op, mailbox), remote.ErrNotFound, fmt.Sprintf("no message with UID %d", uid), "", nil)
	}
	return n, nil
}
