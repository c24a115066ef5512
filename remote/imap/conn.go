package imap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/internal/clienterr"
	"mailfs/remote"
)

// conn is one authenticated IMAP connection. It is owned by one caller at a
// time (between Store.acquire and Store.release), so its plain fields need no
// lock; sink is also touched by the client's reader goroutine.
type conn struct {
	id     uint64
	client *imapclient.Client
	raw    *watchConn // the TCP connection under TLS and the client
	caps   imap.CapSet
	clock  progress
	log    *slog.Logger

	selected string    // mailbox selected with EXAMINE, "" when none
	lastUsed time.Time // when it went back to the pool

	broken atomic.Bool // set when the connection must not be reused

	sinkMu sync.Mutex
	sink   *fetchSink // guarded by sinkMu; nil when no FETCH is streaming
}

// kill closes the network connection at once, which fails every pending
// command of the client; the connection is discarded on release.
func (cn *conn) kill() {
	cn.broken.Store(true)
	cn.raw.Close()
}

// alive reports whether the connection may serve another command.
func (cn *conn) alive() bool {
	if cn.broken.Load() {
		return false
	}
	select {
	case <-cn.client.Closed():
		return false
	default:
		return true
	}
}

// watch starts the watchdog for the commands that follow; see watch.
func (cn *conn) watch(ctx context.Context, timeout time.Duration) func() error {
	return watch(ctx, &cn.clock, timeout, cn.kill)
}

// dial connects, secures, greets and logs in: a connection ready for
// commands, or an error wrapping a remote sentinel.
func (s *Store) dial(ctx context.Context) (*conn, error) { return s.dialWith(ctx, nil) }

// dialWith is dial with the client's handlers of unilateral data; nil
// means the pool's (unmatched FETCH responses go to a streaming fetch).
func (s *Store) dialWith(ctx context.Context, unilateral *imapclient.UnilateralDataHandler) (*conn, error) {
	const op = "connect"
	start := time.Now()
	cn := &conn{id: s.connID.Add(1)}
	cn.log = s.log.With("conn", cn.id)

	d := net.Dialer{Timeout: s.opts.DialTimeout}
	tcp, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		if ctxErr := contextErr(err); ctxErr != nil {
			return nil, s.newErr(op, nil, "", "", ctxErr)
		}
		return nil, s.newErr(op, remote.ErrUnavailable, "cannot connect: "+err.Error(),
			"check host, port and the network", clienterr.KeepCause(err))
	}
	cn.raw = &watchConn{Conn: tcp, p: &cn.clock}

	// TLS, greeting and STARTTLS must finish within DialTimeout.
	stop := cn.watch(ctx, s.opts.DialTimeout)
	c, err := s.handshake(ctx, cn, unilateral)
	if killed := stop(); killed != nil || err != nil {
		cn.raw.Close()
		if c != nil {
			c.Close()
		}
		if killed == errNoResponse {
			return nil, s.newErr(op, remote.ErrUnavailable,
				fmt.Sprintf("no greeting within %s", s.opts.DialTimeout),
				"check port and tls (implicit, starttls)", nil)
		}
		return nil, s.mapErr(op, err, killed)
	}
	cn.client = c

	stop = cn.watch(ctx, s.opts.CommandTimeout)
	err = s.authenticate(ctx, cn)
	killed := stop()
	if err != nil || killed != nil {
		// A failed SASL exchange can leave the connection out of step.
		cn.kill()
		c.Close()
		if killed != nil {
			err = s.mapErr("LOGIN as "+s.opts.Username, err, killed)
		}
		if ctx.Err() != nil {
			s.log.Debug("imap login abandoned", "conn", cn.id, "err", err)
		} else {
			s.log.Warn("imap login failed", "conn", cn.id, "err", err)
		}
		return nil, err
	}
	cn.log.Info("imap connected", "tls", s.opts.TLS.String(), "took", time.Since(start).Round(time.Millisecond))
	cn.log.Debug("imap capabilities", "caps", capList(cn.caps))
	return cn, nil
}

// handshake secures the connection as configured and waits for the
// greeting. unilateral handles the server's unilateral data; nil means the
// pool's handlers.
func (s *Store) handshake(ctx context.Context, cn *conn, unilateral *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	if unilateral == nil {
		unilateral = &imapclient.UnilateralDataHandler{Fetch: cn.unilateralFetch}
	}
	copts := &imapclient.Options{
		WordDecoder:           s.words,
		UnilateralDataHandler: unilateral,
	}
	tlsConf := s.tlsConfig()
	switch s.opts.TLS {
	case remote.TLSImplicit:
		tc := tls.Client(cn.raw, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		c := imapclient.New(tc, copts)
		return c, c.WaitGreeting()
	}
	// A plain-text greeting is expected: a server that speaks TLS at
	// once is told apart within seconds, not at the end of DialTimeout.
	nc, err := clienterr.AwaitGreeting(ctx, cn.raw, s.opts.DialTimeout,
		&clienterr.GreetingOptions{Addr: s.addr, ServerName: tlsConf.ServerName})
	if err != nil {
		return nil, err
	}
	if s.opts.TLS == remote.TLSStartTLS {
		copts.TLSConfig = tlsConf
		c, err := imapclient.NewStartTLS(nc, copts)
		if err != nil {
			var ie *imap.Error
			if errors.As(err, &ie) {
				return nil, &startTLSRefused{words: serverWords(ie)}
			}
			return nil, fmt.Errorf("STARTTLS: %w", err)
		}
		return c, nil
	}
	c := imapclient.New(nc, copts)
	return c, c.WaitGreeting()
}

// startTLSRefused is the server's NO or BAD to STARTTLS.
type startTLSRefused struct{ words string }

func (e *startTLSRefused) Error() string { return "server refused STARTTLS: " + e.words }

// authenticate logs in unless the server greeted with PREAUTH, then learns
// the capabilities.
func (s *Store) authenticate(ctx context.Context, cn *conn) error {
	c := cn.client
	if c.State() == imap.ConnStateNotAuthenticated {
		caps := c.Caps()
		if caps == nil {
			return s.mapErr("CAPABILITY", errors.New("no capability list"), nil)
		}
		if err := s.login(ctx, c, caps); err != nil {
			return err
		}
	}
	// After LOGIN the client asks for the capabilities again, unless the
	// server sent them with its OK.
	cn.caps = c.Caps()
	if cn.caps == nil {
		return s.mapErr("CAPABILITY", errors.New("no capability list"), nil)
	}
	return nil
}

func (s *Store) tlsConfig() *tls.Config {
	var conf *tls.Config
	if s.opts.TLSConfig != nil {
		conf = s.opts.TLSConfig.Clone()
	} else {
		conf = &tls.Config{}
	}
	if conf.ServerName == "" {
		conf.ServerName = s.opts.Host
	}
	if conf.MinVersion == 0 {
		conf.MinVersion = tls.VersionTLS12
	}
	return conf
}

// close ends the connection: LOGOUT when it is healthy and logout is set,
// then the network connection. It never blocks longer than a second on a
// healthy connection.
func (cn *conn) close(reason string, logout bool) {
	if logout && cn.alive() {
		stop := watch(context.Background(), &cn.clock, time.Second, cn.kill)
		cn.client.Logout().Wait()
		stop()
	}
	cn.raw.Close()
	// The reader goroutine ends once the network connection is closed;
	// Close waits for it.
	go cn.client.Close()
	cn.log.Info("imap disconnected", "reason", reason)
}

func capList(caps imap.CapSet) []string {
	out := make([]string, 0, len(caps))
	for c := range caps {
		out = append(out, string(c))
	}
	slices.Sort(out)
	return out
}
