package remotetest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// TLSMode says how a test server offers TLS.
type TLSMode int

const (
	// TLSNone serves plain text only.
	TLSNone TLSMode = iota
	// TLSStartTLS serves plain text and offers STARTTLS.
	TLSStartTLS
	// TLSImplicit serves TLS from the first byte.
	TLSImplicit
)

// IMAPOptions configures an in-process IMAP server. The zero value (or nil)
// is a plain-text IMAP4rev2 server with user "user", password "pass" and an
// empty INBOX.
type IMAPOptions struct {
	// Username and Password of the one account; default "user" / "pass".
	Username, Password string
	// Rev1 limits the server to IMAP4rev1: no MOVE, no UIDPLUS.
	Rev1 bool
	// TLS selects plain, STARTTLS or implicit TLS (certificate from CA).
	TLS TLSMode
	// CA signs the server certificate; a new one is made when nil and TLS
	// is not TLSNone.
	CA *CA
	// Logger receives the server's error messages; nil discards them.
	Logger *log.Logger
}

// IMAP is an in-process IMAP server on loopback backed by go-imap's
// imapmemserver.
type IMAP struct {
	// Addr is the listening address, "127.0.0.1:PORT".
	Addr string
	// Username and Password are the account's credentials.
	Username, Password string
	// CA is the authority that signed the server certificate (nil without TLS).
	CA *CA

	user     *imapmemserver.User
	server   *imapserver.Server
	lb       *loopback
	implicit bool // TLS from the first byte

	fetches atomic.Int64 // FETCH commands served
}

// NewIMAP starts an IMAP server for the test and stops it in t.Cleanup.
func NewIMAP(t testing.TB, opts *IMAPOptions) *IMAP {
	t.Helper()
	return startForTest(t, "IMAP", func() (*IMAP, error) { return StartIMAP(opts) })
}

// StartIMAP starts an IMAP server on 127.0.0.1 at a free port. Close stops it.
func StartIMAP(opts *IMAPOptions) (*IMAP, error) {
	var o IMAPOptions
	if opts != nil {
		o = *opts
	}
	if o.Username == "" {
		o.Username, o.Password = "user", "pass"
	}
	if o.Logger == nil {
		o.Logger = log.New(io.Discard, "", 0)
	}
	s := &IMAP{Username: o.Username, Password: o.Password, implicit: o.TLS == TLSImplicit}
	ca, tlsConfig, err := serverTLS(o.TLS, o.CA)
	if err != nil {
		return nil, err
	}
	s.CA = ca

	mem := imapmemserver.New()
	s.user = imapmemserver.NewUser(o.Username, o.Password)
	mem.AddUser(s.user)
	if err := s.user.Create("INBOX", nil); err != nil {
		return nil, err
	}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	if o.Rev1 {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}}
	}
	srvOpts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess := mem.NewSession().(imapserver.SessionIMAP4rev2)
			return &countingSession{SessionIMAP4rev2: sess, fetches: &s.fetches}, nil, nil
		},
		Caps:         caps,
		Logger:       o.Logger,
		InsecureAuth: true,
	}
	if o.TLS == TLSStartTLS {
		srvOpts.TLSConfig = tlsConfig
	}
	s.server = imapserver.New(srvOpts)

	if s.lb, err = listenLoopback(); err != nil {
		return nil, err
	}
	s.Addr = s.lb.addr
	var ln net.Listener = s.lb
	if s.implicit {
		ln = tls.NewListener(ln, tlsConfig)
	}
	go s.server.Serve(ln)
	return s, nil
}

// Host returns the server's IP address.
func (s *IMAP) Host() string { return s.lb.host() }

// Port returns the server's TCP port.
func (s *IMAP) Port() int { return s.lb.port() }

// Close stops the server and drops every connection.
func (s *IMAP) Close() error {
	err := s.server.Close()
	// The server closes only the listeners its Serve goroutine has
	// registered: close ours too, in case Serve has not started yet.
	s.lb.Close()
	s.lb.dropAll()
	return err
}

// SetDown makes the server unreachable (true): every open connection is
// dropped and new ones are closed at once, as if the host were gone. False
// serves again.
func (s *IMAP) SetDown(down bool) { s.lb.setDown(down) }

// Fetches returns the number of FETCH commands (UID FETCH included) served.
func (s *IMAP) Fetches() int64 { return s.fetches.Load() }

// CreateMailbox creates a mailbox (parents are not implied).
func (s *IMAP) CreateMailbox(name string) error { return s.user.Create(name, nil) }

// DeleteMailbox deletes a mailbox and its messages.
func (s *IMAP) DeleteMailbox(name string) error { return s.user.Delete(name) }

// Append adds a message to a mailbox with the given flags and INTERNALDATE
// and returns its UID.
func (s *IMAP) Append(mailbox string, msg []byte, flags []string, date time.Time) (uint32, error) {
	opts := &imap.AppendOptions{Time: date}
	for _, f := range flags {
		opts.Flags = append(opts.Flags, imap.Flag(f))
	}
	data, err := s.user.Append(mailbox, &literal{Reader: bytes.NewReader(msg), size: int64(len(msg))}, opts)
	if err != nil {
		return 0, fmt.Errorf("append to %s: %w", mailbox, err)
	}
	return uint32(data.UID), nil
}

// Flags reads the flags of every message in mailbox through a separate
// client connection that fetches nothing but FLAGS, so it changes nothing.
func (s *IMAP) Flags(mailbox string) (map[uint32][]string, error) {
	c, err := s.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, fmt.Errorf("select %s: %w", mailbox, err)
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

func (s *IMAP) dial() (*imapclient.Client, error) {
	var c *imapclient.Client
	var err error
	switch {
	case s.CA != nil && s.implicit:
		c, err = imapclient.DialTLS(s.Addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: s.CA.Pool}})
	default:
		c, err = imapclient.DialInsecure(s.Addr, nil)
	}
	if err != nil {
		return nil, err
	}
	if err := c.Login(s.Username, s.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// countingSession counts FETCH commands on top of imapmemserver's session.
type countingSession struct {
	imapserver.SessionIMAP4rev2
	fetches *atomic.Int64
}

func (s *countingSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	s.fetches.Add(1)
	return s.SessionIMAP4rev2.Fetch(w, numSet, options)
}

type literal struct {
	io.Reader
	size int64
}

func (l *literal) Size() int64 { return l.size }

var _ imap.LiteralReader = (*literal)(nil)
