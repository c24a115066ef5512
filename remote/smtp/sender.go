package smtp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"mailfs/internal/clienterr"
	"mailfs/remote"
)

// Options configures a Sender. Host is required; every other field has a
// default:
//
//   - Port: 465 for remote.TLSImplicit, 587 for remote.TLSStartTLS, 25 for
//     remote.TLSNone.
//   - Username: empty means no authentication.
//   - Auth: "plain" (AUTH PLAIN, or LOGIN when the server offers only
//     LOGIN); the others are "login", "xoauth2" and "oauthbearer".
//   - DialTimeout: 30s, for the TCP connect.
//   - CommandTimeout: 2m, for the wait for each reply and for each write
//     while DATA streams. The reply to the final dot of DATA may take up
//     to max(CommandTimeout, 10m), as RFC 5321 4.5.3.2.6 asks.
//
// Account names the account in log records, which carry it as an
// "account" attribute.
type Options struct {
	remote.Server
	// IdleTimeout is how long the connection is kept after a message for
	// the next one of a burst; default 30s, negative closes it after
	// every message.
	IdleTimeout time.Duration
	// LocalName is the name given in EHLO; default "localhost", which
	// reveals nothing about the client.
	LocalName string
	// TempDir is where messages are spooled for re-encoding to 7-bit;
	// default os.TempDir(). Spool files are unlinked at creation.
	TempDir string
}

// Sender sends messages through one SMTP submission server. It keeps one
// connection for a burst of messages and sends one message at a time; it
// is safe for concurrent use.
type Sender struct {
	opts Options
	addr string
	log  *slog.Logger

	// sem is held by the goroutine using the connection. Holding it
	// guards sess, idle and closed.
	sem    chan struct{}
	sess   *session
	idle   *time.Timer
	closed bool
}

var _ remote.Sender = (*Sender)(nil)

// session is one open, greeted and authenticated connection.
type session struct {
	client   *gosmtp.Client
	conn     *deadlineConn
	ext      []string // EHLO keywords with their parameters
	eightBit bool     // 8BITMIME offered
	utf8     bool     // SMTPUTF8 offered
	lastUsed time.Time
}

// New returns a Sender for the server opts describes. It connects lazily,
// on the first Send.
func New(opts *Options) *Sender {
	o := *opts
	o.Server = o.WithDefaults(defaultPort, 30*time.Second, 2*time.Minute)
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.LocalName == "" {
		o.LocalName = "localhost"
	}
	return &Sender{
		opts: o,
		addr: net.JoinHostPort(o.Host, strconv.Itoa(o.Port)),
		log:  o.Logger.With("account", o.Account, "server", net.JoinHostPort(o.Host, strconv.Itoa(o.Port))),
		sem:  make(chan struct{}, 1),
	}
}

// defaultPort is the SMTP port for a TLS mode.
func defaultPort(mode remote.TLSMode) int {
	switch mode {
	case remote.TLSStartTLS:
		return 587
	case remote.TLSNone:
		return 25
	}
	return 465
}

// Send transmits msg to env's recipients. See remote.Sender. It is
// SendProgress without a report: when the server limits the recipients of
// a transaction and a later transaction fails, the error says how many
// recipients already got the message, and a caller that retries sends it
// to them again.
func (s *Sender) Send(ctx context.Context, env remote.Envelope, msg io.Reader) error {
	return s.SendProgress(ctx, env, msg, nil)
}

// SendProgress transmits msg to env's recipients, in as many transactions
// on one connection as the server needs, and calls delivered (when not
// nil) with the recipients of each transaction the server accepted (250
// to the end of DATA), before the next transaction begins. The error, if
// any, is about the recipients not reported.
//
// The message goes out byte for byte when the server offers 8BITMIME (or
// when it is 7-bit clean); otherwise it is re-encoded to 7-bit first.
// Non-ASCII addresses need SMTPUTF8.
//
// Recipients: a 5xx reply to a RCPT refuses that recipient for good, so
// the message can never reach every recipient: nothing more is sent (the
// transaction is reset before DATA), the other recipients are still tried
// so that the error lists every refused one, and the error is a permanent
// *RecipientsError, also when the server then ends the session (421, as
// Postfix does after 20 refusals) before every recipient was tried. A
// reply saying the transaction has as many recipients as the server takes
// (452, see ReplyError.TooManyRecipients) sends the message to those
// accepted so far and goes on with the rest in a new transaction. Any
// other 4xx reply to a RCPT is a temporary failure of the recipients not
// yet delivered.
func (s *Sender) SendProgress(ctx context.Context, env remote.Envelope, msg io.Reader, delivered func(to []string)) error {
	if err := checkEnvelope(env); err != nil {
		return err
	}
	m, err := readMessage(msg)
	if err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	defer s.release()
	if s.closed {
		return fmt.Errorf("send: sender closed: %w", remote.ErrUnavailable)
	}
	sess, err := s.session(ctx)
	if err != nil {
		return err
	}
	n, err := s.transact(ctx, sess, env, m, delivered)
	switch {
	case err == nil:
		s.log.Info("message sent", "from", env.From, "recipients", len(env.To), "transactions", n)
	case isReply(err) || errors.Is(err, remote.ErrPermanent):
		s.log.Warn("message not sent", "err", err)
	default:
		s.log.Warn("message not sent, will retry", "err", err)
	}
	return err
}

// transact runs MAIL, RCPT and DATA on sess until every recipient of env
// has the message or one cannot get it, and leaves the connection in step
// for the next message or drops it. It returns the number of transactions
// that delivered the message.
func (s *Sender) transact(ctx context.Context, sess *session, env remote.Envelope, m *message, delivered func([]string)) (sent int, err error) {
	unbind := sess.conn.bind(ctx)
	const (
		undoNothing = iota
		undoReset   // a command was refused: RSET before the next transaction
		undoDrop    // the connection is out of step or closed by the server
	)
	undo := undoNothing
	defer func() {
		if !unbind() || undo == undoDrop {
			s.drop("connection out of step")
			return
		}
		if undo == undoReset {
			rctx, cancel := context.WithTimeout(context.Background(), s.opts.CommandTimeout)
			defer cancel()
			unbind := sess.conn.bind(rctx)
			rerr := sess.client.Reset()
			if !unbind() || rerr != nil {
				s.drop("RSET failed")
			}
		}
	}()
	// fail classifies a failed command and decides how to undo it.
	fail := func(op string, err error) error {
		err = classify(ctx, op, err)
		var re *ReplyError
		if errors.As(err, &re) && !re.Closing() {
			undo = max(undo, undoReset)
		} else {
			undo = undoDrop
		}
		return err
	}

	utf8 := false
	if role, addr := nonASCIIAddress(env); addr != "" {
		if !sess.utf8 {
			return 0, permanentf("server lacks SMTPUTF8, cannot send %s non-ASCII address %s", role, addr)
		}
		utf8 = true
	}
	if field, addr := nonASCIIHeaderAddress(m.parsed); addr != "" {
		if !sess.utf8 {
			return 0, permanentf("server lacks SMTPUTF8, cannot send a message with non-ASCII address %s in %s", addr, field)
		}
		utf8 = true
	}

	var src *source
	if !sess.eightBit && !utf8 {
		var reencoded bool
		if src, reencoded, err = m.sevenBit(s.opts.TempDir); err != nil {
			return 0, err
		}
		if reencoded {
			s.log.Debug("message re-encoded to 7-bit: server lacks 8BITMIME")
		}
	} else {
		src = m.asIsSource(s.opts.TempDir)
	}
	defer func() { src.close() }()

	c := sess.client
	var (
		done    []string  // recipients delivered by this call
		refused []Refusal // recipients refused for good
	)
	// partial adds to a temporary failure (or a DATA refusal) what the
	// caller cannot know without a report.
	partial := func(err error) error {
		if len(done) > 0 && delivered == nil {
			return fmt.Errorf("%w (%d of %d recipients got the message in an earlier transaction)", err, len(done), len(env.To))
		}
		return err
	}
	// stopped ends the check of the recipients after err, with untried
	// recipients left: a permanent failure once one was refused.
	stopped := func(err error, untried int) error {
		if len(refused) == 0 {
			return partial(err)
		}
		return refusedError(env, done, refused, delivered, err, untried)
	}
	// data sends the message of one transaction: DATA, the message, the
	// final dot.
	data := func() error {
		body, err := src.take()
		if err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return fail("DATA", err)
		}
		r := &readErrorReader{r: body}
		if _, err := io.Copy(w, r); err != nil {
			undo = undoDrop // part of a message went out: never end it with a dot
			if r.err != nil {
				return fmt.Errorf("read message: %w", r.err)
			}
			return classify(ctx, "DATA", err)
		}
		if err := w.Close(); err != nil {
			return fail("end of DATA", err)
		}
		return nil
	}
	rest := env.To
	for len(rest) > 0 {
		if undo == undoReset {
			// The previous transaction was abandoned.
			if err := c.Reset(); err != nil {
				return sent, stopped(fail("RSET", err), len(rest))
			}
			undo = undoNothing
		}
		if err := c.Mail(env.From, &gosmtp.MailOptions{UTF8: utf8}); err != nil {
			return sent, stopped(fail("MAIL FROM:<"+env.From+">", err), len(rest))
		}
		var accepted []string
		i := 0
	rcpts:
		for ; i < len(rest); i++ {
			to := rest[i]
			rerr := c.Rcpt(to, nil)
			if rerr == nil {
				accepted = append(accepted, to)
				continue
			}
			rerr = fail("RCPT TO:<"+to+">", rerr)
			var re *ReplyError
			switch {
			case !errors.As(rerr, &re):
				return sent, stopped(rerr, len(rest)-i)
			case re.TooManyRecipients() && len(accepted) > 0:
				break rcpts // rest[i:] go in the next transaction
			case re.Permanent() && !re.TooManyRecipients():
				refused = append(refused, Refusal{Addr: to, Reply: re})
			default: // 4xx: 421, a deferral, a limit with nothing accepted
				return sent, stopped(rerr, len(rest)-i)
			}
		}
		rest = rest[i:]
		if len(refused) > 0 {
			undo = max(undo, undoReset) // never DATA once one is refused
			continue
		}
		if len(rest) > 0 {
			if err := src.keep(); err != nil {
				return sent, err
			}
		}
		if err := data(); err != nil {
			return sent, partial(err)
		}
		undo = undoNothing // a RCPT may have been refused with 452: the transaction is over
		sent++
		done = append(done, accepted...)
		if delivered != nil {
			delivered(accepted)
		}
	}
	if len(refused) > 0 {
		return sent, refusedError(env, done, refused, delivered, nil, 0)
	}
	return sent, nil
}

// refusedError builds the *RecipientsError of a message with refused
// recipients.
func refusedError(env remote.Envelope, done []string, refused []Refusal, delivered func([]string), stop error, untried int) error {
	e := &RecipientsError{Refused: refused, Total: len(env.To) - len(done), Untried: untried, Stop: stop}
	if delivered == nil {
		e.Delivered = len(done)
	}
	return e
}

// readErrorReader remembers an error of the message reader, to tell it
// from an error of the connection.
type readErrorReader struct {
	r   io.Reader
	err error
}

func (r *readErrorReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// session returns the open connection, after a NOOP proves it alive, or a
// new one.
func (s *Sender) session(ctx context.Context) (*session, error) {
	if s.idle != nil {
		s.idle.Stop()
	}
	if sess := s.sess; sess != nil {
		unbind := sess.conn.bind(ctx)
		err := sess.client.Noop()
		if unbind() && err == nil {
			return sess, nil
		}
		if ctx.Err() != nil {
			s.drop("context ended")
			return nil, classify(ctx, "NOOP", ctx.Err())
		}
		s.drop(fmt.Sprintf("NOOP failed: %v", err))
	}
	sess, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	s.sess = sess
	return sess, nil
}

// dial connects, greets, secures and authenticates a new connection. The
// whole setup is bounded by DialTimeout + CommandTimeout.
func (s *Sender) dial(ctx context.Context) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout+s.opts.CommandTimeout)
	defer cancel()
	d := net.Dialer{Timeout: s.opts.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, classify(ctx, "connect to "+s.addr, err)
	}
	dc := newDeadlineConn(nc, s.opts.CommandTimeout)
	unbind := dc.bind(ctx)
	sess, err := s.setup(ctx, dc)
	if !unbind() && err == nil {
		err = classify(ctx, "connect to "+s.addr, context.Cause(ctx))
	}
	if err != nil {
		if sess != nil {
			sess.client.Close()
		}
		dc.Close()
		return nil, err
	}
	s.log.Debug("connected", "tls", s.opts.TLS.String(), "extensions", sess.ext)
	return sess, nil
}

// setup does everything between the TCP connect and the first MAIL.
func (s *Sender) setup(ctx context.Context, dc *deadlineConn) (*session, error) {
	cfg := s.tlsConfig()
	var c *gosmtp.Client
	switch s.opts.TLS {
	case remote.TLSImplicit:
		tc := tls.Client(dc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, s.setupErr(ctx, "TLS handshake", err)
		}
		c = gosmtp.NewClient(tc)
	default:
		// A plain-text greeting is expected: a server that speaks TLS
		// at once is told apart within seconds, not after
		// CommandTimeout.
		nc, err := clienterr.AwaitGreeting(ctx, dc, s.opts.CommandTimeout,
			&clienterr.GreetingOptions{Addr: s.addr, ServerName: cfg.ServerName})
		if err != nil {
			return nil, s.setupErr(ctx, "greeting", err)
		}
		if s.opts.TLS == remote.TLSStartTLS {
			// Greeting, EHLO localhost and STARTTLS; the handshake
			// itself happens on the next command, the EHLO below, so a
			// bad certificate fails there, before any secret is sent.
			if c, err = gosmtp.NewClientStartTLS(nc, cfg); err != nil {
				return nil, s.setupErr(ctx, "STARTTLS", err)
			}
		} else {
			c = gosmtp.NewClient(nc)
		}
	}
	c.CommandTimeout = s.opts.CommandTimeout
	c.SubmissionTimeout = max(s.opts.CommandTimeout, 10*time.Minute)
	sess := &session{client: c, conn: dc}

	// EHLO, capturing the reply for the extension list (go-smtp keeps it
	// private). Nothing secret passes during EHLO.
	var ehlo bytes.Buffer
	c.DebugWriter = &ehlo
	err := c.Hello(s.opts.LocalName)
	c.DebugWriter = nil
	if err != nil {
		if s.opts.TLS == remote.TLSStartTLS {
			return sess, s.setupErr(ctx, "TLS handshake after STARTTLS", err)
		}
		return sess, classify(ctx, "EHLO", err)
	}
	sess.ext = parseEHLO(ehlo.String())
	sess.eightBit, _ = c.Extension("8BITMIME")
	sess.utf8, _ = c.Extension("SMTPUTF8")

	if err := s.authenticate(ctx, c); err != nil {
		return sess, err
	}
	return sess, nil
}

// tlsConfig returns the configured TLS settings with ServerName set.
func (s *Sender) tlsConfig() *tls.Config {
	cfg := &tls.Config{}
	if s.opts.TLSConfig != nil {
		cfg = s.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.opts.Host
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// parseEHLO returns the keywords of the EHLO reply in a client trace.
func parseEHLO(trace string) []string {
	var ext []string
	greeting := true
	for _, line := range strings.Split(trace, "\n") {
		line = strings.TrimRight(line, "\r")
		if len(line) < 4 || !strings.HasPrefix(line, "250") || (line[3] != '-' && line[3] != ' ') {
			continue
		}
		if greeting { // "250-host.example greets you"
			greeting = false
			continue
		}
		ext = append(ext, line[4:])
	}
	return ext
}

// Check connects, greets, authenticates and quits, for `mailfs check`. It
// returns the extensions the server offers after TLS, such as "8BITMIME"
// and "AUTH PLAIN LOGIN". It does not touch the connection Send keeps.
func (s *Sender) Check(ctx context.Context) ([]string, error) {
	sess, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	unbind := sess.conn.bind(ctx)
	err = sess.client.Quit()
	unbind()
	sess.client.Close()
	if err != nil {
		return sess.ext, classify(ctx, "QUIT", err)
	}
	return sess.ext, nil
}

// Close ends the connection kept between messages. Sends after Close fail.
func (s *Sender) Close() error {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	s.closed = true
	if s.idle != nil {
		s.idle.Stop()
	}
	s.quit()
	return nil
}

// acquire waits for the connection, or for ctx to end.
func (s *Sender) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// release gives the connection back and arms the idle timer.
func (s *Sender) release() {
	if s.sess != nil && !s.closed {
		if s.opts.IdleTimeout < 0 {
			s.quit()
		} else {
			s.sess.lastUsed = time.Now()
			if s.idle == nil {
				s.idle = time.AfterFunc(s.opts.IdleTimeout, s.closeIdle)
			} else {
				s.idle.Reset(s.opts.IdleTimeout)
			}
		}
	}
	<-s.sem
}

// closeIdle runs from the idle timer: it quits a connection unused for
// IdleTimeout, unless a Send holds it (that Send re-arms the timer).
func (s *Sender) closeIdle() {
	select {
	case s.sem <- struct{}{}:
	default:
		return
	}
	defer func() { <-s.sem }()
	if s.sess == nil || time.Since(s.sess.lastUsed) < s.opts.IdleTimeout {
		return
	}
	s.log.Debug("closing idle connection")
	s.quit()
}

// quit says QUIT, briefly, and closes the connection. The caller holds sem.
func (s *Sender) quit() {
	sess := s.sess
	if sess == nil {
		return
	}
	s.sess = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unbind := sess.conn.bind(ctx)
	sess.client.Quit()
	unbind()
	sess.client.Close()
}

// drop closes the connection without a word. The caller holds sem.
func (s *Sender) drop(why string) {
	if s.sess == nil {
		return
	}
	s.log.Debug("dropping connection", "reason", why)
	s.sess.client.Close()
	s.sess = nil
}
