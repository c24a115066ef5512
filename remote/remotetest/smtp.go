package remotetest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
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
	// smtpd_discard_ehlo_keywords = 8bitmime.
	No8BitMIME bool
	// NoSMTPUTF8 makes a server that does not advertise SMTPUTF8 and
	// refuses non-ASCII addresses.
	NoSMTPUTF8 bool
	// Deliver, when set, is called with each accepted message, for
	// example to put it into the demo IMAP server's INBOX. An error makes
	// the server answer 451 to the end of DATA.
	Deliver func(from string, to []string, data []byte) error
}

// SMTP is an in-process SMTP server on loopback.
//
// It is a small hand-written line-based server rather than go-smtp's: that
// one always advertises 8BITMIME, and filtering its EHLO reply in a
// net.Conn wrapper cannot work under STARTTLS, where the reply is
// encrypted above the wrapper. Writing the protocol here also puts every
// fault (a refused MAIL, a dropped DATA, a silent server) exactly where a
// test wants it. It speaks RFC 5321 with ENHANCEDSTATUSCODES, 8BITMIME,
// SMTPUTF8, STARTTLS and AUTH PLAIN/LOGIN; no pipelining.
type SMTP struct {
	// Addr is the listening address, "127.0.0.1:PORT".
	Addr string
	// CA is the authority that signed the server certificate (nil without
	// TLS).
	CA *CA

	opts      SMTPOptions
	tlsConfig *tls.Config
	ln        net.Listener
	wg        sync.WaitGroup

	mu          sync.Mutex
	msgs        []Received            // guarded by mu
	conns       map[net.Conn]struct{} // open connections; guarded by mu
	accepted    int                   // connections accepted; guarded by mu
	down        bool                  // guarded by mu
	closed      bool                  // guarded by mu
	failData    smtpFault             // guarded by mu
	failMail    smtpFault             // guarded by mu
	dropData    int                   // guarded by mu
	stallData   int                   // guarded by mu
	stalled     int                   // guarded by mu: DATA transfers left unanswered
	refuseRcpts map[string]string     // lower-cased address -> reply line; guarded by mu
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
	reply string
	n     int
}

func (f *smtpFault) take() (string, bool) {
	if f.n <= 0 {
		return "", false
	}
	f.n--
	return f.reply, true
}

// NewSMTP starts an SMTP server for the test and stops it in t.Cleanup.
func NewSMTP(t testing.TB, opts *SMTPOptions) *SMTP {
	t.Helper()
	s, err := StartSMTP(opts)
	if err != nil {
		t.Fatalf("start SMTP test server: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// StartSMTP starts an SMTP server on 127.0.0.1 at a free port. Close stops
// it.
func StartSMTP(opts *SMTPOptions) (*SMTP, error) {
	s := &SMTP{conns: map[net.Conn]struct{}{}, refuseRcpts: map[string]string{}}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.TLS != TLSNone {
		s.CA = s.opts.CA
		if s.CA == nil {
			ca, err := NewCA()
			if err != nil {
				return nil, err
			}
			s.CA = ca
		}
		s.tlsConfig = s.CA.ServerConfig()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Host returns the server's IP address.
func (s *SMTP) Host() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

// Port returns the server's TCP port.
func (s *SMTP) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Close stops the server, drops every connection and waits for their
// goroutines.
func (s *SMTP) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.ln.Close()
	s.dropAll()
	s.wg.Wait()
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
	s.failData = smtpFault{reply: smtpReplyLine(code, enhanced, msg), n: n}
}

// FailNextMail makes the next n transactions fail with this reply to MAIL
// FROM.
func (s *SMTP) FailNextMail(code int, enhanced [3]int, msg string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failMail = smtpFault{reply: smtpReplyLine(code, enhanced, msg), n: n}
}

// RefuseRecipient makes RCPT TO:<addr> fail with this reply until the
// server stops.
func (s *SMTP) RefuseRecipient(addr string, code int, enhanced [3]int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseRcpts[strings.ToLower(addr)] = smtpReplyLine(code, enhanced, msg)
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
func (s *SMTP) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
	if down {
		s.dropAll()
	}
}

// Connections returns the number of connections accepted (and not refused
// by SetDown) so far.
func (s *SMTP) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

func smtpReplyLine(code int, enhanced [3]int, msg string) string {
	if enhanced[0] > 0 {
		return fmt.Sprintf("%03d %d.%d.%d %s", code, enhanced[0], enhanced[1], enhanced[2], msg)
	}
	return fmt.Sprintf("%03d %s", code, msg)
}

func (s *SMTP) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.down || s.closed {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.accepted++
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			var conn net.Conn = c
			if s.opts.TLS == TLSImplicit {
				conn = tls.Server(c, s.tlsConfig)
			}
			sess := &smtpSession{s: s, conn: conn, isTLS: s.opts.TLS == TLSImplicit}
			sess.serve()
		}()
	}
}

func (s *SMTP) dropAll() {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// smtpSession is the state of one connection.
type smtpSession struct {
	s     *SMTP
	conn  net.Conn
	text  *textproto.Conn
	isTLS bool

	authed  bool
	hello   bool
	from    string
	inMail  bool
	to      []string
	body8   bool
	utf8    bool
	helloed string
}

func (ss *smtpSession) reply(lines ...string) error {
	for _, l := range lines {
		if err := ss.text.PrintfLine("%s", l); err != nil {
			return err
		}
	}
	return nil
}

func (ss *smtpSession) reset() {
	ss.from, ss.inMail, ss.to, ss.body8, ss.utf8 = "", false, nil, false, false
}

func (ss *smtpSession) serve() {
	ss.text = textproto.NewConn(ss.conn)
	if ss.reply("220 127.0.0.1 remotetest ESMTP ready") != nil {
		return
	}
	for {
		line, err := ss.text.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		var rerr error
		switch verb {
		case "EHLO":
			rerr = ss.ehlo(arg)
		case "HELO":
			ss.hello = true
			ss.reset()
			rerr = ss.reply("250 127.0.0.1")
		case "STARTTLS":
			if ss.s.opts.TLS != TLSStartTLS || ss.isTLS {
				rerr = ss.reply("502 5.5.1 STARTTLS not offered")
				break
			}
			if err := ss.reply("220 2.0.0 Ready to start TLS"); err != nil {
				return
			}
			tc := tls.Server(ss.conn, ss.s.tlsConfig)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.isTLS, ss.hello = tc, true, false
			ss.reset()
			ss.text = textproto.NewConn(tc)
		case "AUTH":
			rerr = ss.auth(arg)
		case "MAIL":
			rerr = ss.mail(arg)
		case "RCPT":
			rerr = ss.rcpt(arg)
		case "DATA":
			var stop bool
			stop, rerr = ss.data()
			if stop {
				return
			}
		case "RSET":
			ss.reset()
			rerr = ss.reply("250 2.0.0 OK")
		case "NOOP":
			rerr = ss.reply("250 2.0.0 OK")
		case "VRFY":
			rerr = ss.reply("252 2.5.0 Cannot VRFY")
		case "QUIT":
			ss.reply("221 2.0.0 Bye")
			return
		default:
			rerr = ss.reply("502 5.5.2 Command not recognized")
		}
		if rerr != nil {
			return
		}
	}
}

// authOffered reports whether AUTH is offered now: only with credentials
// configured, and under STARTTLS only after the upgrade.
func (ss *smtpSession) authOffered() bool {
	return ss.s.opts.Username != "" && (ss.isTLS || ss.s.opts.TLS == TLSNone)
}

func (ss *smtpSession) ehlo(arg string) error {
	ss.hello = true
	ss.helloed = arg
	ss.reset()
	lines := []string{"127.0.0.1 greets " + arg, "ENHANCEDSTATUSCODES", "SIZE 52428800"}
	if !ss.s.opts.No8BitMIME {
		lines = append(lines, "8BITMIME")
	}
	if !ss.s.opts.NoSMTPUTF8 {
		lines = append(lines, "SMTPUTF8")
	}
	if ss.s.opts.TLS == TLSStartTLS && !ss.isTLS {
		lines = append(lines, "STARTTLS")
	}
	if ss.authOffered() {
		lines = append(lines, "AUTH PLAIN LOGIN")
	}
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if err := ss.reply("250" + sep + l); err != nil {
			return err
		}
	}
	return nil
}

func (ss *smtpSession) auth(arg string) error {
	if !ss.authOffered() {
		return ss.reply("502 5.5.1 AUTH not offered")
	}
	if ss.authed {
		return ss.reply("503 5.5.1 Already authenticated")
	}
	mech, ir, _ := strings.Cut(arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if ir == "" {
			if err := ss.reply("334 "); err != nil {
				return err
			}
			l, err := ss.text.ReadLine()
			if err != nil {
				return err
			}
			ir = l
		}
		if ir == "*" {
			return ss.reply("501 5.0.0 AUTH aborted")
		}
		b, err := base64.StdEncoding.DecodeString(ir)
		if err != nil {
			return ss.reply("501 5.5.2 Malformed base64")
		}
		parts := bytes.Split(b, []byte{0})
		if len(parts) != 3 {
			return ss.reply("501 5.5.2 Malformed PLAIN response")
		}
		user, pass = string(parts[1]), string(parts[2])
	case "LOGIN":
		// The user name may come as an initial response, as go-sasl
		// sends it, or after the "Username:" prompt.
		var vals []string
		if ir != "" {
			b, err := base64.StdEncoding.DecodeString(ir)
			if err != nil {
				return ss.reply("501 5.5.2 Malformed base64")
			}
			vals = append(vals, string(b))
		}
		for _, prompt := range []string{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}[len(vals):] {
			if err := ss.reply("334 " + prompt); err != nil {
				return err
			}
			l, err := ss.text.ReadLine()
			if err != nil {
				return err
			}
			b, err := base64.StdEncoding.DecodeString(l)
			if err != nil {
				return ss.reply("501 5.5.2 Malformed base64")
			}
			vals = append(vals, string(b))
		}
		user, pass = vals[0], vals[1]
	default:
		return ss.reply("504 5.5.4 Unrecognized authentication type")
	}
	if user != ss.s.opts.Username || pass != ss.s.opts.Password {
		return ss.reply("535 5.7.8 Authentication credentials invalid")
	}
	ss.authed = true
	return ss.reply("235 2.7.0 Authentication successful")
}

// smtpParsePath parses "FROM:<addr> PARAMS" (or TO:) into the address and its
// parameters.
func smtpParsePath(arg, prefix string) (addr string, params []string, ok bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", nil, false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, false
	}
	return rest[1:end], strings.Fields(rest[end+1:]), true
}

func smtpASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (ss *smtpSession) mail(arg string) error {
	switch {
	case !ss.hello:
		return ss.reply("503 5.5.1 Say EHLO first")
	case ss.s.opts.TLS == TLSStartTLS && !ss.isTLS:
		return ss.reply("530 5.7.0 Must issue a STARTTLS command first")
	case ss.s.opts.Username != "" && !ss.authed:
		return ss.reply("530 5.7.0 Authentication required")
	case ss.inMail:
		return ss.reply("503 5.5.1 Nested MAIL command")
	}
	from, params, ok := smtpParsePath(arg, "FROM:")
	if !ok {
		return ss.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
	}
	body8, utf8 := false, false
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToUpper(k) {
		case "BODY":
			switch strings.ToUpper(v) {
			case "8BITMIME":
				if ss.s.opts.No8BitMIME {
					return ss.reply("555 5.5.4 BODY=8BITMIME not supported")
				}
				body8 = true
			case "7BIT":
			default:
				return ss.reply("501 5.5.4 Unknown BODY type")
			}
		case "SMTPUTF8":
			if ss.s.opts.NoSMTPUTF8 {
				return ss.reply("555 5.5.4 SMTPUTF8 not supported")
			}
			utf8 = true
		case "SIZE":
		default:
			return ss.reply("555 5.5.4 Unsupported parameter " + k)
		}
	}
	if !utf8 && !smtpASCII(from) {
		return ss.reply("553 5.6.7 Non-ASCII address needs SMTPUTF8")
	}
	ss.s.mu.Lock()
	r, fail := ss.s.failMail.take()
	ss.s.mu.Unlock()
	if fail {
		return ss.reply(r)
	}
	ss.from, ss.inMail, ss.body8, ss.utf8, ss.to = from, true, body8, utf8, nil
	return ss.reply("250 2.1.0 OK")
}

func (ss *smtpSession) rcpt(arg string) error {
	if !ss.inMail {
		return ss.reply("503 5.5.1 Need MAIL first")
	}
	to, _, ok := smtpParsePath(arg, "TO:")
	if !ok || to == "" {
		return ss.reply("501 5.5.4 Syntax: RCPT TO:<address>")
	}
	if !ss.utf8 && !smtpASCII(to) {
		return ss.reply("553 5.6.7 Non-ASCII address needs SMTPUTF8")
	}
	ss.s.mu.Lock()
	r, refused := ss.s.refuseRcpts[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if refused {
		return ss.reply(r)
	}
	ss.to = append(ss.to, to)
	return ss.reply("250 2.1.5 OK")
}

// data runs DATA; stop means the connection is to be closed.
func (ss *smtpSession) data() (stop bool, err error) {
	if len(ss.to) == 0 {
		return false, ss.reply("503 5.5.1 Need RCPT first")
	}
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
	if err := ss.reply("354 Start mail input; end with <CRLF>.<CRLF>"); err != nil {
		return true, err
	}
	if drop {
		ss.text.R.ReadSlice('\n') // part of the message, then hang up
		return true, nil
	}
	data, err := readDotData(ss.text.R)
	if err != nil {
		return true, err
	}
	if stall {
		ss.s.mu.Lock()
		ss.s.stalled++
		ss.s.mu.Unlock()
		io.Copy(io.Discard, ss.conn) // until the client hangs up
		return true, nil
	}
	defer ss.reset()
	ss.s.mu.Lock()
	r, fail := ss.s.failData.take()
	ss.s.mu.Unlock()
	if fail {
		return false, ss.reply(r)
	}
	if deliver := ss.s.opts.Deliver; deliver != nil {
		if err := deliver(ss.from, append([]string(nil), ss.to...), data); err != nil {
			return false, ss.reply("451 4.3.0 Delivery failed: " + smtpOneLine(err.Error()))
		}
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, Received{
		From: ss.from, To: append([]string(nil), ss.to...), Data: data,
		Body8BitMIME: ss.body8, UTF8: ss.utf8,
	})
	ss.s.mu.Unlock()
	return false, ss.reply("250 2.0.0 OK queued")
}

func smtpOneLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}

// readDotData reads DATA up to the line ".", undoing dot-stuffing and
// keeping the line ends as sent (net/textproto's DotReader would turn
// CRLF into LF).
func readDotData(r *bufio.Reader) ([]byte, error) {
	var data []byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			data = append(data, line...) // a long line: its end comes next
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				data = append(data, line...)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if string(line) == ".\r\n" || string(line) == ".\n" {
			return data, nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		data = append(data, line...)
	}
}
