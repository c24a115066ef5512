package remotetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPOptions configures an in-process SMTP submission server. The zero
// value (or nil) is a plain-text server that needs no authentication and
// offers 8BITMIME and SMTPUTF8.
type SMTPOptions struct {
	// Username and Password, when set, make AUTH PLAIN or LOGIN required
	// before MAIL. Empty means no authentication.
	Username, Password string
	// TLS selects plain, STARTTLS or implicit TLS (certificate from CA).
	// With STARTTLS, AUTH is offered only after the upgrade.
	TLS TLSMode
	// CA signs the server certificate; a new one is made when nil and TLS
	// is not TLSNone.
	CA *CA
	// No8BitMIME makes a server that does not advertise 8BITMIME and
	// refuses BODY=8BITMIME, like Postfix with
	// smtpd_discard_ehlo_keywords = 8bitmime. It cannot be combined with
	// TLSStartTLS (see SMTP).
	No8BitMIME bool
	// NoSMTPUTF8 makes a server that does not advertise SMTPUTF8 and
	// refuses non-ASCII addresses.
	NoSMTPUTF8 bool
	// Deliver, when set, is called with each accepted message, for
	// example to put it into the demo IMAP server's INBOX. An error makes
	// the server answer 451 to the end of DATA.
	Deliver func(from string, to []string, data []byte) error
	// MaxRecipients, when positive, limits the recipients of one
	// transaction as Postfix's smtpd_recipient_limit does: a RCPT beyond
	// it is answered "452 4.5.3 Error: too many recipients". Zero means no
	// limit. (go-smtp's own limit would also advertise LIMITS RCPTMAX,
	// which Postfix does not.)
	MaxRecipients int
	// HardErrorLimit, when positive, ends a session the way Postfix's
	// smtpd_hard_error_limit does: once that many MAIL, RCPT or DATA
	// commands were refused without a message delivered in between, the
	// next MAIL, RCPT or DATA is answered "421 4.7.0 Error: too many
	// errors" and the connection is closed. Zero means no limit.
	HardErrorLimit int
}

// smtpMaxMessageBytes is the SIZE the server advertises and enforces.
const smtpMaxMessageBytes = 50 << 20

// SMTP is an in-process SMTP server on loopback: go-smtp's server
// (github.com/emersion/go-smtp) with a Backend of ours that records the
// messages and injects the faults a test asks for (a refused MAIL, RCPT or
// end of DATA, a connection dropped during DATA, a server gone silent
// after DATA, a host that is down).
//
// go-smtp speaks the protocol: ESMTP with PIPELINING, 8BITMIME,
// ENHANCEDSTATUSCODES, CHUNKING, SIZE, SMTPUTF8 (unless NoSMTPUTF8),
// STARTTLS (Server.TLSConfig) and AUTH, for which the session offers PLAIN
// (go-sasl's server) and LOGIN (a small sasl.Server here: go-sasl has no
// LOGIN server). Implicit TLS is a tls.NewListener under go-smtp. Our
// Session checks what go-smtp leaves to the backend: STARTTLS before MAIL
// when TLS is TLSStartTLS (530), AUTH before MAIL when Username is set
// (530), no nested MAIL (503), ASCII addresses without SMTPUTF8 (553).
// Message data is go-smtp's DATA reader: dot-unstuffed with line ends kept
// as sent (CRLF from any RFC 5321 client; a bare LF does not end a line
// for dot-unstuffing or the final ".").
//
// go-smtp always advertises 8BITMIME and has no hook to change its EHLO
// keywords. No8BitMIME therefore puts a net.Conn wrapper between the
// listener and go-smtp that deletes the 8BITMIME line from the EHLO reply
// it writes, and the Session refuses BODY=8BITMIME with 555. Under
// STARTTLS the EHLO reply that matters is encrypted by a tls.Conn go-smtp
// makes above any wrapper, so StartSMTP refuses No8BitMIME together with
// TLSStartTLS; with implicit TLS the wrapper sits above the TLS listener,
// where the reply is still plain text.
type SMTP struct {
	// Addr is the listening address, "127.0.0.1:PORT".
	Addr string
	// CA is the authority that signed the server certificate (nil without
	// TLS).
	CA *CA

	opts      SMTPOptions
	server    *smtp.Server
	lb        *loopback     // the TCP listener
	serveDone chan struct{} // closed when server.Serve has returned

	mu          sync.Mutex
	msgs        []Received                 // guarded by mu
	failData    smtpFault                  // guarded by mu
	failMail    smtpFault                  // guarded by mu
	dropData    int                        // guarded by mu
	stallData   int                        // guarded by mu
	stalled     int                        // guarded by mu: DATA transfers left unanswered
	refuseRcpts map[string]*smtp.SMTPError // lower-cased address -> reply; guarded by mu
}

// Received is a message the server accepted.
type Received struct {
	// From is the MAIL FROM address.
	From string
	// To are the RCPT TO addresses.
	To []string
	// Data is the message as transmitted, dot-unstuffed, CRLF line ends.
	Data []byte
	// Body8BitMIME is true when MAIL FROM carried BODY=8BITMIME.
	Body8BitMIME bool
	// UTF8 is true when MAIL FROM carried SMTPUTF8.
	UTF8 bool
}

// smtpFault is a reply to give instead of success, n more times.
type smtpFault struct {
	reply *smtp.SMTPError
	n     int
}

func (f *smtpFault) take() (*smtp.SMTPError, bool) {
	if f.n <= 0 {
		return nil, false
	}
	f.n--
	return f.reply, true
}

// NewSMTP starts an SMTP server for the test and stops it in t.Cleanup.
func NewSMTP(t testing.TB, opts *SMTPOptions) *SMTP {
	t.Helper()
	return startForTest(t, "SMTP", func() (*SMTP, error) { return StartSMTP(opts) })
}

// StartSMTP starts an SMTP server on 127.0.0.1 at a free port. Close stops
// it. No8BitMIME with TLSStartTLS is an error (see SMTP).
func StartSMTP(opts *SMTPOptions) (*SMTP, error) {
	s := &SMTP{
		refuseRcpts: map[string]*smtp.SMTPError{},
		serveDone:   make(chan struct{}),
	}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.No8BitMIME && s.opts.TLS == TLSStartTLS {
		return nil, errors.New("SMTP test server: No8BitMIME cannot be combined with STARTTLS " +
			"(go-smtp always offers 8BITMIME and its EHLO reply after STARTTLS is encrypted " +
			"where our filter would see it); use TLSImplicit or TLSNone")
	}
	ca, tlsConfig, err := serverTLS(s.opts.TLS, s.opts.CA)
	if err != nil {
		return nil, err
	}
	s.CA = ca

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "127.0.0.1"
	srv.MaxMessageBytes = smtpMaxMessageBytes
	srv.MaxLineLength = 0 // no limit on line length
	srv.EnableSMTPUTF8 = !s.opts.NoSMTPUTF8
	// AUTH is offered without TLS on a plain server; under STARTTLS only
	// after the upgrade. With implicit TLS it is always over TLS, but
	// go-smtp may not see the *tls.Conn below the No8BitMIME wrapper.
	srv.AllowInsecureAuth = s.opts.TLS != TLSStartTLS
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if s.opts.TLS == TLSStartTLS {
		srv.TLSConfig = tlsConfig
	}
	s.server = srv

	if s.lb, err = listenLoopback(); err != nil {
		return nil, err
	}
	s.Addr = s.lb.addr
	var l net.Listener = s.lb
	if s.opts.TLS == TLSImplicit {
		l = tls.NewListener(l, tlsConfig)
	}
	if s.opts.No8BitMIME {
		l = &no8BitMIMEListener{Listener: l}
	}
	go func() {
		defer close(s.serveDone)
		srv.Serve(l)
	}()
	return s, nil
}

// Host returns the server's IP address.
func (s *SMTP) Host() string { return s.lb.host() }

// Port returns the server's TCP port.
func (s *SMTP) Port() int { return s.lb.port() }

// Close stops the server, drops every connection and waits for their
// goroutines.
func (s *SMTP) Close() error {
	err := s.lb.Close()
	<-s.serveDone // go-smtp starts no connection goroutine after this
	s.lb.dropAll()
	// Every connection is closed: Shutdown closes the (closed) listener
	// again and waits for go-smtp's connection goroutines to return.
	s.server.Shutdown(context.Background())
	return err
}

// Messages returns a copy of the messages accepted so far, in order.
func (s *SMTP) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	copy(out, s.msgs)
	return out
}

// FailNext makes the next n transactions fail with this reply at the end
// of DATA, after the whole message was received (where a real server
// rejects content). code is 4xx or 5xx.
func (s *SMTP) FailNext(code int, enhanced [3]int, msg string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failData = smtpFault{reply: smtpReply(code, enhanced, msg), n: n}
}

// FailNextMail makes the next n transactions fail with this reply to MAIL
// FROM.
func (s *SMTP) FailNextMail(code int, enhanced [3]int, msg string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failMail = smtpFault{reply: smtpReply(code, enhanced, msg), n: n}
}

// RefuseRecipient makes RCPT TO:<addr> fail with this reply until the
// server stops.
func (s *SMTP) RefuseRecipient(addr string, code int, enhanced [3]int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseRcpts[strings.ToLower(addr)] = smtpReply(code, enhanced, msg)
}

// DropNextDuringData makes the server close the connection in the middle
// of the next n DATA transfers, after reading part of the message.
func (s *SMTP) DropNextDuringData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropData = n
}

// StallNextData makes the server go silent after the next n DATA transfers:
// it reads the whole message and never answers, until the client hangs up.
func (s *SMTP) StallNextData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallData = n
}

// Stalled returns how many DATA transfers StallNextData has left
// unanswered so far: the client had sent a whole message and waited.
func (s *SMTP) Stalled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

// SetDown makes the server unreachable (true): every open connection is
// dropped and new ones are closed at once. False serves again.
func (s *SMTP) SetDown(down bool) { s.lb.setDown(down) }

// Connections returns the number of connections accepted (and not refused
// by SetDown) so far.
func (s *SMTP) Connections() int { return s.lb.connections() }

// smtpReply is the error our Session returns for a reply; go-smtp writes
// it as is. Without an enhanced code (enhanced[0] == 0) the reply has
// none.
func smtpReply(code int, enhanced [3]int, msg string) *smtp.SMTPError {
	ec := smtp.NoEnhancedCode
	if enhanced[0] > 0 {
		ec = smtp.EnhancedCode(enhanced)
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
}

// no8BitMIMEListener hands go-smtp connections whose EHLO replies lack
// 8BITMIME.
type no8BitMIMEListener struct {
	net.Listener
}

func (l *no8BitMIMEListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &no8BitMIMEConn{Conn: c}, nil
}

// no8BitMIMEConn deletes the 8BITMIME keyword line from the multi-line
// replies written through it (only an EHLO reply has one). It holds the
// "250-" lines of a reply until its last line: when 8BITMIME is that last
// line ("250 8BITMIME"), the line before it becomes the last ("250-" turns
// into "250 "). go-smtp writes from one goroutine per connection, so
// Write is not safe for concurrent use, and needs no lock.
type no8BitMIMEConn struct {
	net.Conn
	partial []byte // the start of a line not yet ended by LF
	held    []byte // the lines of a multi-line reply so far
	lastAt  int    // offset in held of its last line
}

func (c *no8BitMIMEConn) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	var out []byte
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := c.partial[:i+1]
		switch {
		case len(c.held) > 0 && is8BitMIMELine(line):
			if line[3] == ' ' { // the reply's last line: the held one ends it
				c.held[c.lastAt+3] = ' '
				out = append(out, c.held...)
				c.held = c.held[:0]
			}
		case len(line) > 3 && line[3] == '-':
			c.lastAt = len(c.held)
			c.held = append(c.held, line...)
		default:
			out = append(out, c.held...)
			out = append(out, line...)
			c.held = c.held[:0]
		}
		c.partial = c.partial[i+1:]
	}
	if len(out) > 0 {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// is8BitMIMELine reports whether line is "250-8BITMIME" or "250 8BITMIME"
// with its line end.
func is8BitMIMELine(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	return len(line) > 4 && string(line[:3]) == "250" && (line[3] == '-' || line[3] == ' ') &&
		strings.EqualFold(string(line[4:]), "8BITMIME")
}

// newSession is the Backend: go-smtp calls it at each HELO or EHLO that
// starts a session (again after STARTTLS).
func (s *SMTP) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &smtpSession{
		s:     s,
		c:     c,
		isTLS: isTLS || s.opts.TLS == TLSImplicit,
	}, nil
}

// smtpSession is our go-smtp Session: the state of one transaction and
// where the faults are injected.
type smtpSession struct {
	s     *SMTP
	c     *smtp.Conn
	isTLS bool

	authed bool
	errors int // refused commands since the last delivered message
	inMail bool
	from   string
	to     []string
	body8  bool
	utf8   bool
}

var _ smtp.AuthSession = (*smtpSession)(nil)

var (
	errSMTPDropped = errors.New("remotetest: connection dropped during DATA")
	errSMTPStalled = errors.New("remotetest: client hung up during a stalled DATA")
)

func (ss *smtpSession) Reset() {
	ss.from, ss.inMail, ss.to, ss.body8, ss.utf8 = "", false, nil, false, false
}

func (ss *smtpSession) Logout() error { return nil }

// AuthMechanisms offers PLAIN and LOGIN when credentials are configured.
// go-smtp advertises them only where AUTH is allowed (see StartSMTP).
func (ss *smtpSession) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	if ss.s.opts.Username == "" {
		return nil, &smtp.SMTPError{Code: 502, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "AUTH not offered"}
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, username, password string) error {
			return ss.login(username, password)
		}), nil
	case sasl.Login:
		return &saslLoginServer{login: ss.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *smtpSession) login(username, password string) error {
	if username != ss.s.opts.Username || password != ss.s.opts.Password {
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	}
	ss.authed = true
	return nil
}

func (ss *smtpSession) Mail(from string, opts *smtp.MailOptions) error {
	if err := ss.tooManyErrors(); err != nil {
		return err
	}
	return ss.count(ss.mail(from, opts))
}

func (ss *smtpSession) mail(from string, opts *smtp.MailOptions) error {
	switch {
	case ss.s.opts.TLS == TLSStartTLS && !ss.isTLS:
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	case ss.s.opts.Username != "" && !ss.authed:
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	case ss.inMail:
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Nested MAIL command"}
	case ss.s.opts.No8BitMIME && opts.Body == smtp.Body8BitMIME:
		return &smtp.SMTPError{Code: 555, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: "BODY=8BITMIME not supported"}
	case !opts.UTF8 && !smtpASCII(from):
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "Non-ASCII address needs SMTPUTF8"}
	}
	ss.s.mu.Lock()
	r, fail := ss.s.failMail.take()
	ss.s.mu.Unlock()
	if fail {
		return r
	}
	ss.from, ss.inMail, ss.to = from, true, nil
	ss.body8, ss.utf8 = opts.Body == smtp.Body8BitMIME, opts.UTF8
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.tooManyErrors(); err != nil {
		return err
	}
	return ss.count(ss.rcpt(to))
}

func (ss *smtpSession) rcpt(to string) error {
	if max := ss.s.opts.MaxRecipients; max > 0 && len(ss.to) >= max {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: "Error: too many recipients"}
	}
	if !ss.utf8 && !smtpASCII(to) {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7}, Message: "Non-ASCII address needs SMTPUTF8"}
	}
	ss.s.mu.Lock()
	r, refused := ss.s.refuseRcpts[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if refused {
		return r
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	if err := ss.tooManyErrors(); err != nil {
		return err
	}
	err := ss.data(r)
	if err == nil {
		ss.errors = 0 // as Postfix: errors count "without delivering mail"
	}
	return ss.count(err)
}

// errSMTPTooManyErrors is returned after the 421 of HardErrorLimit was
// written and the connection closed; go-smtp's own reply to it goes
// nowhere.
var errSMTPTooManyErrors = errors.New("remotetest: too many errors, connection closed")

// tooManyErrors answers 421 and closes the connection once HardErrorLimit
// refusals were counted, as Postfix's smtpd does before reading the next
// command.
func (ss *smtpSession) tooManyErrors() error {
	if limit := ss.s.opts.HardErrorLimit; limit <= 0 || ss.errors < limit {
		return nil
	}
	c := ss.c.Conn()
	c.Write([]byte("421 4.7.0 " + ss.s.server.Domain + " Error: too many errors\r\n"))
	smtpTCPConn(c).Close()
	return errSMTPTooManyErrors
}

// count counts a refused command for HardErrorLimit. Like Postfix, it
// does not count the 452 of MaxRecipients.
func (ss *smtpSession) count(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && !(se.Code == 452 && se.EnhancedCode == smtp.EnhancedCode{4, 5, 3}) {
		ss.errors++
	}
	return err
}

func (ss *smtpSession) data(r io.Reader) error {
	ss.s.mu.Lock()
	drop := ss.s.dropData > 0
	if drop {
		ss.s.dropData--
	}
	stall := !drop && ss.s.stallData > 0
	if stall {
		ss.s.stallData--
	}
	ss.s.mu.Unlock()
	if drop {
		r.Read(make([]byte, 4096)) // part of the message, then hang up
		smtpTCPConn(ss.c.Conn()).Close()
		return errSMTPDropped
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err // go-smtp answers ErrDataTooLarge; a read error ends the connection
	}
	if stall {
		ss.s.mu.Lock()
		ss.s.stalled++
		ss.s.mu.Unlock()
		// Until the client hangs up (or Close, SetDown). The client waits
		// for our reply, so go-smtp has nothing buffered beyond the ".".
		io.Copy(io.Discard, ss.c.Conn())
		smtpTCPConn(ss.c.Conn()).Close()
		return errSMTPStalled
	}
	ss.s.mu.Lock()
	rep, fail := ss.s.failData.take()
	ss.s.mu.Unlock()
	if fail {
		return rep
	}
	to := append([]string(nil), ss.to...)
	if deliver := ss.s.opts.Deliver; deliver != nil {
		if err := deliver(ss.from, to, data); err != nil {
			msg, _, _ := strings.Cut(err.Error(), "\n")
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
				Message: "Delivery failed: " + strings.TrimRight(msg, "\r")}
		}
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, Received{
		From: ss.from, To: append([]string(nil), ss.to...), Data: data,
		Body8BitMIME: ss.body8, UTF8: ss.utf8,
	})
	ss.s.mu.Unlock()
	return nil
}

// smtpTCPConn returns the TCP connection under the TLS and No8BitMIME
// layers of a connection go-smtp serves, to close it without a TLS
// close_notify, as a crashed server would.
func smtpTCPConn(c net.Conn) net.Conn {
	for {
		switch v := c.(type) {
		case *no8BitMIMEConn:
			c = v.Conn
		case *tls.Conn:
			c = v.NetConn()
		default:
			return c
		}
	}
}

func smtpASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// saslLoginServer is the server side of the LOGIN mechanism, which go-sasl
// has only as a client: the user name (as an initial response, as go-sasl's
// client sends it, or after a "Username:" challenge), then the password
// after "Password:".
type saslLoginServer struct {
	login    func(username, password string) error
	username string
	step     int // 0: start, 1: user name asked for, 2: password asked for
}

func (a *saslLoginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch a.step {
	case 0:
		if response == nil {
			a.step = 1
			return []byte("Username:"), false, nil
		}
		a.username, a.step = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		a.username, a.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		a.step = 3
		return nil, true, a.login(a.username, string(response))
	}
	return nil, true, errors.New("sasl: LOGIN exchange already finished")
}
