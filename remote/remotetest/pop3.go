package remotetest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// POP3Options configures an in-process POP3 server. The zero value (or
// nil) is a plain-text server with user "user", password "pass", an empty
// maildrop and CAPA offering TOP, UIDL, USER and SASL PLAIN.
type POP3Options struct {
	// Username and Password of the one account; default "user" / "pass".
	Username, Password string
	// TLS selects plain, STLS or implicit TLS (certificate from CA). With
	// TLSStartTLS the server refuses to log in before STLS.
	TLS TLSMode
	// CA signs the server certificate; a new one is made when nil and TLS
	// is not TLSNone.
	CA *CA
	// NoUIDL makes UIDL answer -ERR, as on servers without it.
	NoUIDL bool
	// NoTop makes TOP answer -ERR.
	NoTop bool
	// NoSASL leaves SASL PLAIN out of CAPA and refuses AUTH: clients must
	// use USER/PASS.
	NoSASL bool
	// Logger receives the server's error messages; nil discards them.
	Logger *log.Logger
}

// POP3 is an in-process POP3 server (RFC 1939, with CAPA, STLS and SASL
// PLAIN) on loopback, holding one maildrop in memory. Sessions see the
// maildrop as it was when they logged in; deletions take effect at QUIT.
// One session at a time holds the maildrop lock.
type POP3 struct {
	// Addr is the listening address, "127.0.0.1:PORT".
	Addr string
	// Username and Password are the account's credentials.
	Username, Password string
	// CA is the authority that signed the server certificate (nil without TLS).
	CA *CA

	opts      POP3Options
	tlsConfig *tls.Config
	lb        *loopback
	wg        sync.WaitGroup

	retrs    atomic.Int64 // RETR commands served
	dropRetr atomic.Int64 // RETR answers still to cut halfway

	mu     sync.Mutex
	msgs   []*pop3Message // the maildrop in order; guarded by mu
	nextID int            // guarded by mu
	locked bool           // a session holds the maildrop; guarded by mu
}

// pop3Message is one message in the maildrop. data is never modified.
type pop3Message struct {
	uid  string
	data []byte
}

// NewPOP3 starts a POP3 server for the test and stops it in t.Cleanup.
func NewPOP3(t testing.TB, opts *POP3Options) *POP3 {
	t.Helper()
	return startForTest(t, "POP3", func() (*POP3, error) { return StartPOP3(opts) })
}

// StartPOP3 starts a POP3 server on 127.0.0.1 at a free port. Close stops it.
func StartPOP3(opts *POP3Options) (*POP3, error) {
	var o POP3Options
	if opts != nil {
		o = *opts
	}
	if o.Username == "" {
		o.Username, o.Password = "user", "pass"
	}
	if o.Logger == nil {
		o.Logger = log.New(io.Discard, "", 0)
	}
	s := &POP3{Username: o.Username, Password: o.Password, opts: o, nextID: 1}
	var err error
	if s.CA, s.tlsConfig, err = serverTLS(o.TLS, o.CA); err != nil {
		return nil, err
	}
	if s.lb, err = listenLoopback(); err != nil {
		return nil, err
	}
	s.Addr = s.lb.addr
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Host returns the server's IP address.
func (s *POP3) Host() string { return s.lb.host() }

// Port returns the server's TCP port.
func (s *POP3) Port() int { return s.lb.port() }

// Close stops the server, drops every connection and waits for the
// session goroutines to end. Deletions of unfinished sessions are lost.
func (s *POP3) Close() error {
	err := s.lb.Close()
	s.lb.dropAll()
	s.wg.Wait()
	return err
}

// Add appends a message to the maildrop and returns its UIDL, a string
// unique for the server's lifetime.
func (s *POP3) Add(msg []byte) (uid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid = fmt.Sprintf("m%06d.%s", s.nextID, strconv.FormatInt(int64(len(msg)), 36))
	s.nextID++
	s.msgs = append(s.msgs, &pop3Message{uid: uid, data: bytes.Clone(msg)})
	return uid
}

// Messages returns what the server holds, by UIDL (copies).
func (s *POP3) Messages() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]byte, len(s.msgs))
	for _, m := range s.msgs {
		out[m.uid] = bytes.Clone(m.data)
	}
	return out
}

// DropDuringRetr makes the server close the connection halfway through
// each of the next n RETR answers.
func (s *POP3) DropDuringRetr(n int) { s.dropRetr.Store(int64(n)) }

// SetDown makes the server unreachable (true): every open connection is
// dropped and new ones are closed at once, as if the host were gone. False
// serves again.
func (s *POP3) SetDown(down bool) { s.lb.setDown(down) }

// Retrs returns the number of RETR commands served.
func (s *POP3) Retrs() int { return int(s.retrs.Load()) }

// Locked reports whether a session holds the maildrop lock.
func (s *POP3) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked
}

func (s *POP3) serve() {
	defer s.wg.Done()
	for {
		// The listener drops the connections that arrive while the
		// server is down or closed, and Close drops the others.
		c, err := s.lb.Accept()
		if err != nil {
			return
		}
		// This goroutine holds a count until it returns, so Close's Wait
		// sees this Add.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if s.opts.TLS == TLSImplicit {
				tc := tls.Server(c, s.tlsConfig)
				if err := tc.Handshake(); err != nil {
					s.opts.Logger.Printf("pop3: TLS handshake: %v", err)
					return
				}
				s.session(tc, true)
				return
			}
			s.session(c, false)
		}()
	}
}
