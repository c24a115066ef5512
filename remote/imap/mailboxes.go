package imap

import (
	"context"
	"strconv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/remote"
)

// Mailboxes lists every mailbox of the account with LIST "" "*", asking for
// special-use attributes when the server supports them.
func (s *Store) Mailboxes(ctx context.Context) ([]remote.Mailbox, error) {
	var out []remote.Mailbox
	err := s.do(ctx, `LIST "" "*"`, "", func(cn *conn, _ *bool) error {
		out = out[:0]
		var opts *imap.ListOptions
		if cn.caps.Has(imap.CapSpecialUse) && (cn.caps.Has(imap.CapListExtended) || cn.caps.Has(imap.CapIMAP4rev2)) {
			opts = &imap.ListOptions{ReturnSpecialUse: true}
		}
		cmd := cn.client.List("", "*", opts)
		for data := cmd.Next(); data != nil; data = cmd.Next() {
			out = append(out, toMailbox(data))
		}
		return cmd.Close()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// toMailbox translates one LIST response.
func toMailbox(data *imap.ListData) remote.Mailbox {
	attrs := make([]string, len(data.Attrs))
	for i, a := range data.Attrs {
		attrs[i] = string(a)
	}
	return remote.Mailbox{Name: data.Mailbox, Delim: data.Delim, Attrs: attrs}
}

// Status returns the mailbox's counters with STATUS, or with EXAMINE on a
// connection that has the mailbox selected (RFC 9051 advises against STATUS
// on the selected mailbox).
func (s *Store) Status(ctx context.Context, mailbox string) (remote.MailboxStatus, error) {
	var st remote.MailboxStatus
	err := s.do(ctx, "STATUS", mailbox, func(cn *conn, _ *bool) error {
		condstore := cn.caps.Has(imap.CapCondStore)
		if cn.selected == mailbox {
			data, err := cn.waitExamine(cn.examine(mailbox, condstore), mailbox)
			if err != nil {
				return err
			}
			st = examineStatus(data)
			return nil
		}
		data, err := cn.client.Status(mailbox, &imap.StatusOptions{
			NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: condstore,
		}).Wait()
		if err != nil {
			return err
		}
		st = remote.MailboxStatus{
			UIDValidity:   data.UIDValidity,
			UIDNext:       uint32(data.UIDNext),
			HighestModSeq: data.HighestModSeq,
		}
		if data.NumMessages != nil {
			st.Messages = *data.NumMessages
		}
		return nil
	})
	return st, err
}

// waitExamine waits for the answer to EXAMINE mailbox and records what the
// connection has selected.
func (cn *conn) waitExamine(ex *imapclient.SelectCommand, mailbox string) (*imap.SelectData, error) {
	data, err := ex.Wait()
	if err != nil {
		cn.selected = ""
		return nil, err
	}
	cn.selected = mailbox
	return data, nil
}

// examineStatus is the status an EXAMINE reported (HIGHESTMODSEQ only when
// it was asked for with CONDSTORE).
func examineStatus(data *imap.SelectData) remote.MailboxStatus {
	return remote.MailboxStatus{
		UIDValidity:   data.UIDValidity,
		UIDNext:       uint32(data.UIDNext),
		Messages:      data.NumMessages,
		HighestModSeq: data.HighestModSeq,
	}
}

// examine sends EXAMINE: the mailbox is opened read-only, so nothing the
// package does can change \Recent or \Seen. The command is not waited for,
// so it can be pipelined with the FETCH that follows.
func (cn *conn) examine(mailbox string, condstore bool) *imapclient.SelectCommand {
	return cn.client.Select(mailbox, &imap.SelectOptions{ReadOnly: true, CondStore: condstore})
}

// examined waits for the EXAMINE pipelined before a command and checks the
// mailbox's UIDVALIDITY against the caller's.
//
// EXAMINE is sent before every command, even when the connection has the
// mailbox selected already: pipelined, it costs no round trip, and it is the
// only way to notice a mailbox that was deleted and recreated under a
// selected connection.
func (s *Store) examined(cn *conn, ex *imapclient.SelectCommand, mailbox string, uidValidity uint32) error {
	data, err := cn.waitExamine(ex, mailbox)
	if err != nil {
		return err
	}
	if data.UIDValidity != uidValidity {
		return s.newErr(opName("EXAMINE", mailbox), remote.ErrUIDValidity,
			"UIDVALIDITY is "+strconv.FormatUint(uint64(data.UIDValidity), 10)+", not "+strconv.FormatUint(uint64(uidValidity), 10),
			"the mailbox was recreated: list it again", nil)
	}
	return nil
}
