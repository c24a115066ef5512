package pop3

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

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
	c.log.Info("pop3 connected", "tls", c.opts.TLS.String(), "auth", mech)
	return s, nil
}

// dial opens the connection, reads the greeting and, for TLSStartTLS,
// upgrades with STLS. The connection is closed on error.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	const op = "connect"
	d := net.Dialer{Timeout: c.opts.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.newErr(op, nil, "", "", ctx.Err())
		}
		return nil, c.newErr(op, remote.ErrUnavailable, "cannot connect: "+err.Error(),
			"check host and port; the server may be down", keepCause(err))
	}
	if c.opts.TLS == TLSImplicit {
		tc, err := c.handshake(ctx, nc)
		if err != nil {
			nc.Close()
			return nil, c.mapErr("TLS handshake", err, ctx.Err(), "")
		}
		nc = tc
	}
	cn := newConn(nc, c.opts.CommandTimeout)
	stop := cn.watch(ctx)
	_, err = cn.readStatus()
	if killed := stop(); err != nil || killed != nil {
		cn.close()
		var se *serverError
		if errors.As(err, &se) {
			return nil, c.newErr("greeting", remote.ErrUnavailable, se.Error(), "the server refuses connections now", nil)
		}
		return nil, c.mapErr("greeting", err, killed, "")
	}
	if c.opts.TLS != TLSStartTLS {
		return cn, nil
	}

	stop = cn.watch(ctx)
	_, err = cn.cmd("STLS")
	if err == nil && cn.r.Buffered() > 0 {
		// Plain text sent after the STLS reply would be read as if it had
		// come over TLS: a command injection attempt (CVE-2011-0411 class).
		err = &protocolError{msg: "data after the STLS reply"}
	}
	if killed := stop(); err != nil || killed != nil {
		cn.close()
		var se *serverError
		if errors.As(err, &se) {
			return nil, c.newErr("STLS", remote.ErrRefused, se.Error(),
				"the server does not offer STLS: check tls (implicit, starttls) and port", nil)
		}
		return nil, c.mapErr("STLS", err, killed, "")
	}
	tc, err := c.handshake(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, c.mapErr("TLS handshake after STLS", err, ctx.Err(), "")
	}
	cn.setNetConn(tc)
	return cn, nil
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
