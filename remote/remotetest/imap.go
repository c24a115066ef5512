package remotetest

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
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
	// Rev1 limits the server to IMAP4rev1 without MOVE and UIDPLUS (as
	// NoMove and NoUIDPlus together).
	Rev1 bool
	// NoMove takes MOVE away: neither MOVE nor IMAP4rev2 (which includes
	// it) is advertised, and a MOVE or UID MOVE sent anyway is answered
	// BAD, as by a server that does not know the command.
	NoMove bool
	// NoUIDPlus takes UIDPLUS away: neither UIDPLUS nor IMAP4rev2 is
	// advertised, UID EXPUNGE is answered BAD, and COPY, MOVE and APPEND
	// answer without COPYUID or APPENDUID.
	NoUIDPlus bool
	// NoIdle takes IDLE away: neither IDLE nor IMAP4rev2 (which includes
	// it) is advertised, and an IDLE sent anyway is answered BAD. It
	// cannot be combined with TLSStartTLS.
	NoIdle bool
	// TLS selects plain, STARTTLS or implicit TLS (certificate from CA).
	TLS TLSMode
	// CA signs the server certificate; a new one is made when nil and TLS
	// is not TLSNone.
	CA *CA
	// Logger receives the server's error messages; nil discards them.
	Logger *log.Logger
}

// IMAP is an in-process IMAP server on loopback backed by go-imap's
// imapmemserver. It counts the commands clients send (Count), refuses
// those a test names (Refuse), and lets a test read and change its state
// over connections of its own (Flags, Mailboxes, UIDs, Body, SetFlags),
// which are neither counted nor refused.
type IMAP struct {
	// Addr is the listening address, "127.0.0.1:PORT".
	Addr string
	// Username and Password are the account's credentials.
	Username, Password string
	// CA is the authority that signed the server certificate (nil without TLS).
	CA *CA

	user      *imapmemserver.User
	server    *imapserver.Server
	lb        *loopback
	implicit  bool // TLS from the first byte
	noMove    bool // see IMAPOptions.NoMove
	noUIDPlus bool // see IMAPOptions.NoUIDPlus
	noIdle    bool // see IMAPOptions.NoIdle
	// helperPass is the password of the helpers' own connections (Flags,
	// Body…), whose commands are neither counted nor refused.
	helperPass string

	mu       sync.Mutex
	counts   map[string]int64       // commands served by name; guarded by mu
	rwFetch  int64                  // FETCH commands on a read-write selection; guarded by mu
	refusals map[string]*imap.Error // Refuse; guarded by mu

	// boxMu serialises the changes of mailbox names, so that names
	// matches the user's mailboxes.
	boxMu sync.Mutex
	names map[string]bool // every mailbox name; guarded by boxMu
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
	s := &IMAP{
		Username: o.Username, Password: o.Password,
		implicit:   o.TLS == TLSImplicit,
		noMove:     o.Rev1 || o.NoMove,
		noUIDPlus:  o.Rev1 || o.NoUIDPlus,
		noIdle:     o.NoIdle,
		helperPass: "helper-" + rand.Text(),
		counts:     map[string]int64{},
		refusals:   map[string]*imap.Error{},
		names:      map[string]bool{"INBOX": true},
	}
	if o.NoIdle && o.TLS == TLSStartTLS {
		// The capabilities after STARTTLS travel under TLS, out of
		// reach of the connection that takes IDLE out of them.
		return nil, fmt.Errorf("start IMAP test server: NoIdle cannot be combined with TLSStartTLS")
	}
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
	srvOpts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.newSession(mem), nil, nil
		},
		Caps:         s.caps(),
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
	if s.noIdle {
		ln = noIdleListener{ln}
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

// caps returns the capabilities the server advertises: IMAP4rev2 (which
// includes MOVE, UIDPLUS and IDLE) unless one of them is taken away.
// (imapserver adds IDLE to IMAP4rev1 on its own: noIdleConn takes it out.)
func (s *IMAP) caps() imap.CapSet {
	if !s.noMove && !s.noUIDPlus && !s.noIdle {
		return imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}}
	if !s.noMove {
		caps[imap.CapMove] = struct{}{}
	}
	if !s.noUIDPlus {
		caps[imap.CapUIDPlus] = struct{}{}
	}
	return caps
}

// Connections returns the number of client connections open now.
func (s *IMAP) Connections() int { return s.lb.connections() }

// Fetches returns the number of FETCH commands (UID FETCH included) that
// clients sent (see Count).
func (s *IMAP) Fetches() int64 { return s.Count("FETCH") + s.Count("UID FETCH") }

// CreateMailbox creates a mailbox (parents are not implied).
func (s *IMAP) CreateMailbox(name string) error {
	s.boxMu.Lock()
	defer s.boxMu.Unlock()
	return s.createLocked(name, nil)
}

// DeleteMailbox deletes a mailbox and its messages (not the mailboxes
// under it).
func (s *IMAP) DeleteMailbox(name string) error {
	s.boxMu.Lock()
	defer s.boxMu.Unlock()
	return s.deleteLocked(name)
}

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

// View returns a View of the account whose sessions are neither counted
// nor refused (they log in with a password of their own).
func (s *IMAP) View() *View {
	v := &View{Addr: s.Addr, Username: s.Username, Password: s.helperPass}
	if s.CA != nil && s.implicit {
		v.TLS = &tls.Config{RootCAs: s.CA.Pool}
	}
	return v
}

// Flags returns the flags of every message in mailbox (View.Flags).
func (s *IMAP) Flags(mailbox string) (map[uint32][]string, error) { return s.View().Flags(mailbox) }

// Mailboxes lists the names of every mailbox, sorted (View.Mailboxes).
func (s *IMAP) Mailboxes() ([]string, error) { return s.View().Mailboxes() }

// UIDs returns the UIDs of the messages in mailbox, ascending (View.UIDs).
func (s *IMAP) UIDs(mailbox string) ([]uint32, error) { return s.View().UIDs(mailbox) }

// Body returns the bytes of message uid in mailbox (View.Body).
func (s *IMAP) Body(mailbox string, uid uint32) ([]byte, error) { return s.View().Body(mailbox, uid) }

// SetFlags replaces the flags of message uid in mailbox, as another client
// would (View.SetFlags).
func (s *IMAP) SetFlags(mailbox string, uid uint32, flags []string) error {
	return s.View().SetFlags(mailbox, uid, flags)
}

// Expunge removes message uid from mailbox, as another client would
// (View.Expunge).
func (s *IMAP) Expunge(mailbox string, uid uint32) error { return s.View().Expunge(mailbox, uid) }

type literal struct {
	io.Reader
	size int64
}

func (l *literal) Size() int64 { return l.size }

var _ imap.LiteralReader = (*literal)(nil)
