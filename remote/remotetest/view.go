package remotetest

import (
	"crypto/tls"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// View reads and changes an IMAP account over connections of its own, as
// another mail client would: the truth a test checks mailfs against, on
// any server (the in-process one through IMAP.View, Dovecot). Each call
// dials, logs in, does its work and logs out; reads EXAMINE and PEEK, so
// they change nothing.
type View struct {
	// Addr is the server's host:port.
	Addr string
	// Username and Password log in.
	Username, Password string
	// TLS, when set, secures the connection from the first byte
	// (implicit TLS); nil speaks plain text.
	TLS *tls.Config
}

// Flags reads the flags of every message in mailbox through a separate
// client connection that fetches nothing but FLAGS, so it changes nothing.
func (v *View) Flags(mailbox string) (map[uint32][]string, error) {
	c, n, err := v.examineCount(mailbox)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if n == 0 {
		return map[uint32][]string{}, nil // 1:* names no message: servers answer BAD
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch flags in %s: %w", mailbox, err)
	}
	out := make(map[uint32][]string, len(msgs))
	for _, m := range msgs {
		fl := []string{}
		for _, f := range m.Flags {
			fl = append(fl, string(f))
		}
		out[uint32(m.UID)] = fl
	}
	return out, nil
}

// Mailboxes lists the names of every mailbox (LIST "" "*"), sorted, through
// a separate client connection.
func (v *View) Mailboxes() ([]string, error) {
	c, err := v.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list mailboxes: %w", err)
	}
	names := make([]string, len(list))
	for i, l := range list {
		names[i] = l.Mailbox
	}
	slices.Sort(names)
	return names, nil
}

// UIDs returns the UIDs of the messages in mailbox, ascending, read through
// a separate client connection with EXAMINE and UID SEARCH.
func (v *View) UIDs(mailbox string) ([]uint32, error) {
	c, err := v.examine(mailbox)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", mailbox, err)
	}
	var out []uint32
	for _, uid := range data.AllUIDs() {
		out = append(out, uint32(uid))
	}
	slices.Sort(out)
	return out, nil
}

// Body returns the bytes of message uid in mailbox, read through a separate
// client connection with EXAMINE and BODY.PEEK[], so that \Seen stays as it
// was. A message that is not there is an error.
func (v *View) Body(mailbox string, uid uint32) ([]byte, error) {
	c, err := v.examine(mailbox)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	section := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(imap.UID(uid)), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch %s/%d: %w", mailbox, uid, err)
	}
	for _, m := range msgs {
		if uint32(m.UID) == uid {
			return m.FindBodySection(section), nil
		}
	}
	return nil, fmt.Errorf("fetch %s/%d: no such message", mailbox, uid)
}

// SetFlags replaces the flags of message uid in mailbox with flags, as
// another mail client would: SELECT and UID STORE FLAGS.SILENT on a
// separate connection.
func (v *View) SetFlags(mailbox string, uid uint32, flags []string) error {
	c, err := v.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		return fmt.Errorf("select %s: %w", mailbox, err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: []imap.Flag{}}
	for _, f := range flags {
		store.Flags = append(store.Flags, imap.Flag(f))
	}
	if err := c.Store(imap.UIDSetNum(imap.UID(uid)), store, nil).Close(); err != nil {
		return fmt.Errorf("store flags of %s/%d: %w", mailbox, uid, err)
	}
	return nil
}

// Expunge removes message uid from mailbox, as another mail client would:
// SELECT, UID STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE of that UID
// on a separate connection. The server must have UIDPLUS (IMAP4rev2).
func (v *View) Expunge(mailbox string, uid uint32) error {
	c, err := v.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		return fmt.Errorf("select %s: %w", mailbox, err)
	}
	set := imap.UIDSetNum(imap.UID(uid))
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := c.Store(set, deleted, nil).Close(); err != nil {
		return fmt.Errorf("mark %s/%d deleted: %w", mailbox, uid, err)
	}
	if err := c.UIDExpunge(set).Close(); err != nil {
		return fmt.Errorf("expunge %s/%d: %w", mailbox, uid, err)
	}
	return nil
}

// examine dials a helper connection with mailbox opened read-only.
func (v *View) examine(mailbox string) (*imapclient.Client, error) {
	c, _, err := v.examineCount(mailbox)
	return c, err
}

// examineCount is examine that also returns how many messages the mailbox
// holds.
func (v *View) examineCount(mailbox string) (*imapclient.Client, uint32, error) {
	c, err := v.dial()
	if err != nil {
		return nil, 0, err
	}
	data, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("examine %s: %w", mailbox, err)
	}
	return c, data.NumMessages, nil
}

// dial connects and logs in.
func (v *View) dial() (*imapclient.Client, error) {
	var c *imapclient.Client
	var err error
	if v.TLS != nil {
		c, err = imapclient.DialTLS(v.Addr, &imapclient.Options{TLSConfig: v.TLS})
	} else {
		c, err = imapclient.DialInsecure(v.Addr, nil)
	}
	if err != nil {
		return nil, err
	}
	if err := c.Login(v.Username, v.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
