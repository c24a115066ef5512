package pop3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	gopop3 "github.com/knadh/go-pop3"

	"mailfs/internal/clienterr"
	"mailfs/remote"
)

// Client opens sessions on one POP3 account. It holds no connection
// between sessions and is safe for concurrent use; the server's maildrop
// lock usually allows one session at a time.
type Client struct {
	opts Options
	addr string // host:port
	log  *slog.Logger
}

var _ remote.Downloader = (*Client)(nil)

// New returns a client for the account opts describes. It does not
// connect.
func New(opts *Options) *Client {
	o := opts.withDefaults()
	return &Client{
		opts: o,
		addr: net.JoinHostPort(o.Host, strconv.Itoa(o.Port)),
		log:  o.Logger.With("account", o.Account, "server", net.JoinHostPort(o.Host, strconv.Itoa(o.Port))),
	}
}

// Connect connects, secures the connection as Options.TLS says, logs in
// and returns a session that holds the maildrop lock until Quit or Close.
func (c *Client) Connect(ctx context.Context) (remote.DropSession, error) {
	s, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Check logs in, reads the server's capabilities (CAPA after login, or
// before it when the server answers CAPA only then) and the maildrop's
// message count and total size (STAT), and logs out without changing
// anything. It serves `mailfs check`. capabilities is nil when the server
// does not know CAPA.
func (c *Client) Check(ctx context.Context) (capabilities []string, count int, size int64, err error) {
	s, err := c.connect(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	defer s.Close()
	capabilities = s.caps
	after, err := s.capa(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	if after != nil {
		capabilities = after
	}
	count, size, err = s.stat(ctx)
	if err != nil {
		return nil, 0, 0, err
	}
	if err := s.Quit(ctx); err != nil {
		return nil, 0, 0, err
	}
	return capabilities, count, size, nil
}

// connect dials, reads the greeting, secures the connection, reads the
// capabilities and logs in.
func (c *Client) connect(ctx context.Context) (*session, error) {
	cn, err := c.dial(ctx)
	if err != nil {
		c.log.Warn("pop3 connect failed", "err", err)
		return nil, err
	}
	s := &session{c: c, cn: cn}
	caps, err := s.capa(ctx)
	if err != nil {
		cn.close()
		c.log.Warn("pop3 connect failed", "err", err)
		return nil, err
	}
	s.caps = caps
	mech, err := s.login(ctx)
	if err != nil {
		cn.close()
		c.log.Warn("pop3 login failed", "err", err)
		return nil, err
	}
	s.loggedIn = true
	// Routine: a poll connects every few minutes. The store logs at info
	// level the sessions that changed something.
	c.log.Debug("pop3 connected", "tls", c.opts.TLS.String(), "auth", mech)
	return s, nil
}

// dial opens a go-pop3 session through our dialer (see dialer.Dial) and
// checks the greeting go-pop3 read. The connection is closed on error.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	d := &dialer{c: c, ctx: ctx}
	lib := gopop3.New(gopop3.Opt{
		Host:        c.opts.Host,
		Port:        c.opts.Port,
		DialTimeout: c.opts.DialTimeout,
		Dialer:      d,
		// TLS is the dialer's: go-pop3's own would not take our
		// tls.Config (RootCAs), nor do STLS.
		TLSEnabled: false,
	})
	pc, libErr := lib.NewConn()
	if d.w == nil {
		// The dialer failed and returned a *remote.OpError, or (never) go-pop3
		// failed before dialing.
		var oe *remote.OpError
		if errors.As(libErr, &oe) {
			return nil, libErr
		}
		return nil, c.mapErr("connect", libErr, nil, "")
	}
	killed := d.stop()
	cn := &conn{w: d.w, pc: pc}
	greeting, err := cn.w.endCall(libErr)
	if err == nil {
		_, err = parseStatus(greeting)
	}
	if err == nil {
		err = cn.w.inStep()
	}
	if err != nil || killed != nil {
		cn.close()
		var se *serverError
		if killed == nil && errors.As(err, &se) {
			return nil, c.newErr("greeting", remote.ErrUnavailable, se.Error(), "the server refuses connections now", nil)
		}
		return nil, c.mapErr("greeting", err, killed, "")
	}
	return cn, nil
}

// dialer is the gopop3.Dialer of one connect: it connects, secures the
// connection as Options.TLS says and returns our wire, on which go-pop3
// then reads the greeting.
type dialer struct {
	c   *Client
	ctx context.Context

	w    *wire        // the connection, once Dial succeeded
	stop func() error // stops the context watcher of w
}

// Dial connects to the server (ignoring address: go-pop3 builds it with
// "%s:%d", wrong for IPv6 literals) and returns the wire inside a go-pop3
// call, ready for NewConn to read the greeting. With remote.TLSStartTLS it reads
// the greeting itself, upgrades with STLS and replays the greeting to
// go-pop3. Its errors are *remote.OpError values, ready for the caller.
func (d *dialer) Dial(network, address string) (net.Conn, error) {
	c, ctx := d.c, d.ctx
	nd := net.Dialer{Timeout: c.opts.DialTimeout}
	raw, err := nd.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.newErr("connect", nil, "", "", ctx.Err())
		}
		return nil, c.newErr("connect", remote.ErrUnavailable, "cannot connect: "+err.Error(),
			"check host and port; the server may be down", clienterr.KeepCause(err))
	}
	if c.opts.TLS != remote.TLSImplicit {
		// A plain-text greeting is expected: a server that speaks TLS
		// at once is told apart within seconds, not after
		// CommandTimeout.
		greeted, err := clienterr.AwaitGreeting(ctx, raw, c.opts.CommandTimeout,
			&clienterr.GreetingOptions{Addr: c.addr, ServerName: c.opts.Host})
		if err != nil {
			raw.Close()
			if ctx.Err() != nil {
				return nil, c.newErr("connect", nil, "", "", ctx.Err())
			}
			return nil, c.mapErr("greeting", err, nil, "")
		}
		raw = greeted
	}
	w := newWire(raw, c.opts.CommandTimeout)
	stop := w.watch(ctx)
	fail := func(err error) (net.Conn, error) {
		stop()
		w.Close()
		return nil, err
	}
	switch c.opts.TLS {
	case remote.TLSImplicit:
		tc, err := c.handshake(ctx, raw)
		if err != nil {
			return fail(c.mapErr("TLS handshake", err, stop(), ""))
		}
		w.upgrade(tc, nil)
	case remote.TLSStartTLS:
		if err := c.startTLS(ctx, w, stop); err != nil {
			return fail(err)
		}
	}
	d.w, d.stop = w, stop
	w.beginCall() // NewConn's greeting
	return w, nil
}

// startTLS reads the greeting, sends STLS (RFC 2595), checks its reply and
// runs the TLS handshake; the greeting is then replayed to go-pop3 from the
// wire. stop stops the context watcher; its verdict is taken on error.
func (c *Client) startTLS(ctx context.Context, w *wire, stop func() error) error {
	greeting, err := w.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		err = &protocolError{msg: fmt.Sprintf("greeting longer than %d bytes", bufSize)}
	}
	if err == nil {
		greeting = append([]byte(nil), greeting...)
		_, err = parseStatus(bytes.TrimSuffix(bytes.TrimSuffix(greeting, []byte{'\n'}), []byte{'\r'}))
	}
	if err == nil {
		err = w.inStep() // else the STLS reply would be that data
	}
	if err != nil {
		var se *serverError
		if errors.As(err, &se) {
			return c.newErr("greeting", remote.ErrUnavailable, se.Error(), "the server refuses connections now", nil)
		}
		return c.mapErr("greeting", err, stop(), "")
	}
	if _, err = w.write([]byte("STLS\r\n")); err == nil {
		var line []byte
		if line, err = w.r.ReadSlice('\n'); err == nil {
			_, err = parseStatus(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'}))
		} else if err == bufio.ErrBufferFull {
			err = &protocolError{msg: fmt.Sprintf("STLS reply longer than %d bytes", bufSize)}
		}
	}
	if err == nil && w.r.Buffered() > 0 {
		// Plain text sent after the STLS reply would be read as if it had
		// come over TLS: a command injection attempt (CVE-2011-0411 class).
		err = &protocolError{msg: "data after the STLS reply"}
	}
	if err != nil {
		var se *serverError
		if errors.As(err, &se) {
			return c.newErr("STLS", remote.ErrRefused, se.Error(),
				`the server does not offer STLS: set tls = "implicit", usually on port 995`, nil)
		}
		return c.mapErr("STLS", err, stop(), "")
	}
	tc, err := c.handshake(ctx, w.raw)
	if err != nil {
		return c.mapErr("TLS handshake after STLS", err, stop(), "")
	}
	w.upgrade(tc, greeting)
	return nil
}

// handshake runs the TLS client handshake on nc within DialTimeout.
func (c *Client) handshake(ctx context.Context, nc net.Conn) (*tls.Conn, error) {
	cfg := &tls.Config{}
	if c.opts.TLSConfig != nil {
		cfg = c.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.opts.Host
	}
	cfg.InsecureSkipVerify = false // always verified, whatever the caller set
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	hctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		if ctx.Err() == nil && hctx.Err() != nil {
			return nil, fmt.Errorf("no TLS handshake within %s", c.opts.DialTimeout)
		}
		return nil, err
	}
	return tc, nil
}

// capLine reports whether caps has a line whose first word is name
// (case-insensitive) and, when args are given, lists each of them.
func capLine(caps []string, name string, args ...string) bool {
	for _, line := range caps {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.EqualFold(f[0], name) {
			continue
		}
		ok := true
		for _, a := range args {
			found := false
			for _, v := range f[1:] {
				if strings.EqualFold(v, a) {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			return true
		}
	}
	return false
}
