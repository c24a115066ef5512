package imap

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-message/charset"

	"mailfs/remote"
)

// Store is an IMAP account as a remote.Store. It keeps up to MaxConns
// authenticated connections, dialled lazily; it is safe for concurrent use.
type Store struct {
	opts   Options
	addr   string // host:port
	log    *slog.Logger
	slots  chan struct{} // one token per connection in use
	connID atomic.Uint64
	words  *mime.WordDecoder // RFC 2047 decoder the go-imap client uses (all charsets of go-message)

	mu     sync.Mutex
	idle   []*conn // guarded by mu; most recently released last
	closed bool    // guarded by mu

	sparing atomic.Bool // a spare connection is being dialled
	// spareCtx is cancelled by Close, which waits for spares (a spare
	// dial must not outlive the Store).
	spareCtx    context.Context
	cancelSpare context.CancelFunc
	spares      sync.WaitGroup
}

var _ remote.Store = (*Store)(nil)

// idleCheck is how long a pooled connection may rest before it is probed
// with NOOP: servers log idle clients out after about 30 minutes.
const idleCheck = 2 * time.Minute

// New returns a Store for the account described by opts. It does no I/O:
// the first call that needs the server connects.
func New(opts *Options) *Store {
	o := opts.withDefaults()
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	s := &Store{
		opts:  o,
		addr:  addr,
		log:   o.Logger.With("account", o.Account, "host", addr),
		slots: make(chan struct{}, o.MaxConns),
		words: &mime.WordDecoder{CharsetReader: charset.Reader},
	}
	s.spareCtx, s.cancelSpare = context.WithCancel(context.Background())
	return s
}

var errClosed = errors.New("store is closed")

// acquire returns a connection for the caller's exclusive use, preferring
// one that has mailbox selected, dialling when none is idle. fresh reports
// whether it was just dialled.
func (s *Store) acquire(ctx context.Context, mailbox string) (cn *conn, fresh bool, err error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, s.newErr("wait for a connection", nil, "", "", ctx.Err())
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			<-s.slots
			return nil, false, s.newErr("connect", remote.ErrUnavailable, errClosed.Error(), "", nil)
		}
		cn = s.popIdle(mailbox)
		last := len(s.idle) == 0
		s.mu.Unlock()
		if cn == nil {
			break
		}
		if last {
			s.addSpare()
		}
		if !cn.alive() {
			cn.close("closed by the server", false)
			continue
		}
		if time.Since(cn.lastUsed) > idleCheck && !s.probe(ctx, cn) {
			cn.close("idle connection no longer answers", false)
			continue
		}
		return cn, false, nil
	}
	cn, err = s.dial(ctx)
	if err != nil {
		<-s.slots
		return nil, false, err
	}
	s.addSpare()
	return cn, true, nil
}

// addSpare dials one more connection into the pool in the background, with
// Options.Spare, when a caller has just taken the last idle one or had to
// dial: the next
// command beside it (a read-ahead batch beside a reader's own fetch) then
// finds a connection logged in instead of waiting the round trips of a
// login. At most one spare is dialled at a time, only while a connection
// slot is free, so no more than MaxConns are ever open.
func (s *Store) addSpare() {
	if !s.opts.Spare || !s.sparing.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.sparing.Store(false)
		return // every slot is taken
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.slots
		s.sparing.Store(false)
		return
	}
	s.spares.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.spares.Done()
		defer s.sparing.Store(false)
		cn, err := s.dial(s.spareCtx) // bounded by the dial and command timeouts
		if err != nil {
			<-s.slots
			s.log.Debug("imap spare connection failed", "err", err)
			return
		}
		s.release(cn)
	}()
}

// popIdle takes an idle connection, one with mailbox selected if any.
// s.mu must be held.
func (s *Store) popIdle(mailbox string) *conn {
	if len(s.idle) == 0 {
		return nil
	}
	i := len(s.idle) - 1
	if mailbox != "" {
		for j := len(s.idle) - 1; j >= 0; j-- {
			if s.idle[j].selected == mailbox {
				i = j
				break
			}
		}
	}
	cn := s.idle[i]
	s.idle = append(s.idle[:i], s.idle[i+1:]...)
	return cn
}

// probe sends NOOP on a connection that rested for a while.
func (s *Store) probe(ctx context.Context, cn *conn) bool {
	stop := cn.watch(ctx, s.opts.CommandTimeout)
	err := cn.client.Noop().Wait()
	killed := stop()
	return err == nil && killed == nil
}

// release returns cn to the pool, or closes it when it is broken or the
// store is closed.
func (s *Store) release(cn *conn) {
	defer func() { <-s.slots }()
	if !cn.alive() {
		cn.close("connection broken", false)
		return
	}
	cn.lastUsed = time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cn.close("store closed", true)
		return
	}
	s.idle = append(s.idle, cn)
	s.mu.Unlock()
}

// do runs f on a pooled connection under the watchdog and maps its error.
// f reports through called whether it has called the caller's callback:
// until then a failure of a reused connection (dropped by the server while
// pooled) is retried once on a new one.
func (s *Store) do(ctx context.Context, op, mailbox string, f func(cn *conn, called *bool) error) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		cn, fresh, err := s.acquire(ctx, mailbox)
		if err != nil {
			s.logErr(op, mailbox, err)
			return err
		}
		called := false
		stop := cn.watch(ctx, s.opts.CommandTimeout)
		err = f(cn, &called)
		killed := stop()
		if err != nil && !isServerNo(err) && !isOpError(err) {
			cn.broken.Store(true)
		}
		s.release(cn)
		if err == nil {
			cn.log.Debug("imap command done", "op", op, "mailbox", mailbox, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		var cbe *callbackError
		if errors.As(err, &cbe) {
			return cbe.err
		}
		if isOpError(err) && killed == nil {
			// Already mapped (e.g. UIDVALIDITY) or the callback's own error.
			s.logErr(op, mailbox, err)
			return err
		}
		if !fresh && !called && killed == nil && !isServerNo(err) && attempt == 0 && ctx.Err() == nil {
			cn.log.Debug("imap retrying on a new connection", "op", op, "err", err)
			continue
		}
		err = s.mapErr(opName(op, mailbox), err, killed)
		s.logErr(op, mailbox, err)
		return err
	}
}

func isOpError(err error) bool {
	var oe *remote.OpError
	return errors.As(err, &oe)
}

// callbackError carries an error returned by the caller's callback, which
// is passed through unchanged.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

func opName(op, mailbox string) string {
	if mailbox == "" {
		return op
	}
	return op + " " + strconv.Quote(mailbox)
}

func (s *Store) logErr(op, mailbox string, err error) {
	if contextErr(err) != nil {
		s.log.Debug("imap command canceled", "op", op, "mailbox", mailbox, "err", err)
		return
	}
	s.log.Warn("imap command failed", "op", op, "mailbox", mailbox, "err", err)
}

// Check dials a new connection and logs in, for `mailfs check`, and returns
// the server's capabilities, sorted. The connection then joins the pool.
func (s *Store) Check(ctx context.Context) ([]string, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, s.newErr("connect", nil, "", "", ctx.Err())
	}
	cn, err := s.dial(ctx)
	if err != nil {
		<-s.slots
		return nil, err
	}
	caps := capList(cn.caps)
	s.release(cn)
	return caps, nil
}

// Close logs out of every idle connection and closes it. Connections in use
// are closed when their callers release them. The Store cannot be used
// afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	s.cancelSpare()
	s.spares.Wait() // a spare that made it is closed by release
	var wg sync.WaitGroup
	for _, cn := range idle {
		wg.Go(func() { cn.close("store closed", true) })
	}
	wg.Wait()
	return nil
}
