package imap

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailfs/remote"
)

// Watching a mailbox is done as aerc's idler does it: one goroutine owns a
// connection of its own, dialled for the watch and never part of the pool
// (go-imap holds the write lock while IDLE runs, so a pooled connection in
// IDLE could serve nothing else). That connection does not take a slot of
// MaxConns: a watch is long-lived, and holding a slot would starve the
// readers of a small pool (the configuration requires max_connections
// above the number of watched folders, so the account's total stays
// bounded and known: MaxConns plus one per watched folder).
//
// The connection EXAMINEs the mailbox (read-only: nothing the watch does
// can set \Seen) and IDLEs. The client's handlers of unilateral data run
// in its reader goroutine and must never block: they signal a channel of
// one slot, and the watch's goroutine calls changed. Changes that arrive
// while a signal is pending coalesce with it.
//
// While IDLE runs the server may stay silent for minutes, so the watchdog
// is off. Liveness is checked twice over: TCP keepalive finds a peer gone
// without a word (a cut network, a host that died) within about a minute,
// and every Options.IdleRestart the watch ends IDLE with DONE, which must
// be answered within CommandTimeout (under the watchdog), before it issues
// IDLE again; a server that is up but no longer serving fails that check.

var _ remote.Watcher = (*Store)(nil)

// Reconnection backoff of Watch: the first retry waits watchBackoffMin,
// each failure doubles the wait up to watchBackoffMax, and a connection
// that watched for watchHealthy starts again from the minimum.
const (
	watchBackoffMin = time.Second
	watchBackoffMax = time.Minute
	watchHealthy    = time.Minute
)

// leaveTimeout bounds leaving IDLE and logging out when a watch ends.
const leaveTimeout = 500 * time.Millisecond

// TCP keepalive of a watching connection: the first probe after
// keepAliveIdle of silence, then every keepAliveInterval; keepAliveCount
// unanswered probes fail the connection.
const (
	keepAliveIdle     = 30 * time.Second
	keepAliveInterval = 10 * time.Second
	keepAliveCount    = 3
)

// Watch implements remote.Watcher with IMAP IDLE (RFC 2177, part of
// IMAP4rev2) on a connection dialled for the watch alone: it is neither
// taken from nor returned to the pool and does not count against
// MaxConns. The mailbox is opened with EXAMINE. EXISTS, EXPUNGE and
// unilateral FETCH FLAGS responses call changed (VANISHED needs QRESYNC,
// which the client library lacks, so servers send EXPUNGE). A
// UIDVALIDITY changed under the watch is seen by the EXAMINE after a
// reconnection, which calls changed as every reconnection does. IDLE is
// re-issued every Options.IdleRestart.
//
// Closing the Store ends the watch too, with an error wrapping
// remote.ErrUnavailable; Close does not wait for it, so cancel ctx and
// wait for Watch first for a clean logout.
func (s *Store) Watch(ctx context.Context, mailbox string, changed func()) error {
	if changed == nil {
		changed = func() {}
	}
	w := &watcher{
		s:       s,
		mailbox: mailbox,
		changed: changed,
		log:     s.log.With("mailbox", mailbox),
		events:  make(chan struct{}, 1),
		backoff: backoff{min: watchBackoffMin, max: watchBackoffMax, healthy: watchHealthy},
	}
	return w.run(ctx)
}

// watcher is one call of Watch. Its fields belong to the goroutine of run,
// except events, which the client's handlers signal from its reader.
type watcher struct {
	s       *Store
	mailbox string
	changed func()
	log     *slog.Logger
	// events holds one pending "the mailbox changed": a handler's send
	// never blocks the client's reader, and changes that arrive while one
	// is pending coalesce with it.
	events  chan struct{}
	backoff backoff

	uidValidity uint32    // of the last EXAMINE, 0 before the first
	down        time.Time // when the current outage began; zero while watching
	started     bool      // IDLE has run at least once
}

// run watches on one connection after another until ctx is done, the
// Store is closed or an error says that retrying cannot help.
func (w *watcher) run(ctx context.Context) error {
	// Store.Close ends the watch too: its connection is not in the pool
	// that Close logs out of.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(w.s.spareCtx, cancel)()
	for {
		up, err := w.session(wctx)
		if err := w.ended(ctx, wctx); err != nil {
			return err
		}
		switch {
		case errors.Is(err, remote.ErrUnsupported):
			w.log.Info("imap server has no IDLE, not watching", "err", err)
			return err
		case errors.Is(err, remote.ErrAuth), errors.Is(err, remote.ErrNotFound):
			w.log.Warn("imap watch given up", "err", err)
			return err
		}
		delay := w.backoff.delay(up)
		if w.down.IsZero() {
			w.down = time.Now()
			w.log.Warn("imap watch interrupted, reconnecting", "err", err, "retry_in", delay)
		} else {
			w.log.Debug("imap watch reconnect failed", "err", err, "retry_in", delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-wctx.Done():
			t.Stop()
			return w.ended(ctx, wctx)
		case <-t.C:
		}
	}
}

// ended returns the error Watch ends with when the caller's ctx is done
// (its error) or the Store was closed (wctx alone is done), nil otherwise.
func (w *watcher) ended(ctx, wctx context.Context) error {
	switch {
	case ctx.Err() != nil:
		w.log.Debug("imap watch stopped", "err", ctx.Err())
		return ctx.Err()
	case wctx.Err() != nil:
		w.log.Debug("imap watch stopped", "err", errClosed)
		return w.s.newErr(opName("IDLE", w.mailbox), remote.ErrUnavailable, errClosed.Error(), "", nil)
	}
	return nil
}

// session dials, EXAMINEs the mailbox and IDLEs until the connection fails
// or ctx is done. up is how long IDLE ran, 0 when it never did.
func (w *watcher) session(ctx context.Context) (up time.Duration, err error) {
	s := w.s
	cn, err := s.dialWith(ctx, w.handlers())
	if err != nil {
		return 0, err
	}
	if !cn.caps.Has(imap.CapIdle) { // IMAP4rev2 implies it
		cn.close("the server has no IDLE", true)
		return 0, s.newErr(opName("IDLE", w.mailbox), remote.ErrUnsupported,
			"the server does not offer IDLE", "poll the mailbox instead", nil)
	}
	keepAlive(cn)

	stop := cn.watch(ctx, s.opts.CommandTimeout)
	data, err := cn.waitExamine(cn.examine(w.mailbox, false), w.mailbox)
	if killed := stop(); err != nil || killed != nil {
		cn.close("EXAMINE failed", killed == nil && isServerNo(err))
		return 0, s.mapErr(opName("EXAMINE", w.mailbox), err, killed)
	}
	if w.uidValidity != 0 && data.UIDValidity != w.uidValidity {
		w.log.Info("imap mailbox UIDVALIDITY changed", "was", w.uidValidity, "now", data.UIDValidity)
	}
	w.uidValidity = data.UIDValidity

	idle, err := w.startIdle(ctx, cn)
	if err != nil {
		cn.close("IDLE failed", false)
		return 0, err
	}
	start := time.Now()
	w.watching()
	restart := time.NewTimer(s.opts.IdleRestart)
	defer restart.Stop()
	for {
		select {
		case <-w.events:
			w.changed()
		case <-restart.C:
			if idle, err = w.reissue(ctx, cn, idle); err != nil {
				cn.close("IDLE re-issue failed", false)
				return time.Since(start), err
			}
			restart.Reset(s.opts.IdleRestart)
		case <-cn.client.Closed():
			idle.Close()
			err := idle.Wait() // the reader's error, at once
			cn.close("closed by the server", false)
			if err == nil {
				err = net.ErrClosed
			}
			return time.Since(start), s.mapErr(opName("IDLE", w.mailbox), err, nil)
		case <-ctx.Done():
			w.leave(cn, idle)
			return time.Since(start), ctx.Err()
		}
	}
}

// watching records that IDLE runs: logs the start of the watch or the end
// of an outage and calls changed, since changes may have been missed
// before (a pending signal is part of this call).
func (w *watcher) watching() {
	if !w.started {
		w.started = true
		w.log.Info("imap watching mailbox", "idle_restart", w.s.opts.IdleRestart)
	}
	if !w.down.IsZero() {
		w.log.Info("imap watch recovered", "after", time.Since(w.down).Round(time.Millisecond))
		w.down = time.Time{}
	}
	select {
	case <-w.events:
	default:
	}
	w.changed()
}

// startIdle sends IDLE and waits, under the watchdog, for the server's
// continuation.
func (w *watcher) startIdle(ctx context.Context, cn *conn) (*imapclient.IdleCommand, error) {
	stop := cn.watch(ctx, w.s.opts.CommandTimeout)
	idle, err := cn.client.Idle()
	killed := stop()
	if err == nil && killed != nil {
		// The continuation came as the watchdog closed the connection.
		idle.Close()
	}
	if err != nil || killed != nil {
		return nil, w.s.mapErr(opName("IDLE", w.mailbox), err, killed)
	}
	return idle, nil
}

// reissue ends IDLE with DONE, waits for the server's answer under the
// watchdog (the proof that a silent server is still there) and sends IDLE
// again.
func (w *watcher) reissue(ctx context.Context, cn *conn, idle *imapclient.IdleCommand) (*imapclient.IdleCommand, error) {
	stop := cn.watch(ctx, w.s.opts.CommandTimeout)
	err := idle.Close()
	if err == nil {
		err = idle.Wait()
	}
	if killed := stop(); err != nil || killed != nil {
		return nil, w.s.mapErr(opName("DONE", w.mailbox), err, killed)
	}
	w.log.Debug("imap IDLE re-issued")
	return w.startIdle(ctx, cn)
}

// leave ends the watch: DONE and LOGOUT, pipelined, within leaveTimeout,
// then the connection is closed.
func (w *watcher) leave(cn *conn, idle *imapclient.IdleCommand) {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	stop := cn.watch(ctx, leaveTimeout)
	if idle.Close() == nil {
		logout := cn.client.Logout()
		idle.Wait()
		logout.Wait()
	}
	stop()
	cn.close("watch ended", false)
}

// handlers are the client's handlers of unilateral data for a watching
// connection. They run in the client's reader (Fetch in a goroutine of its
// own) and only signal.
func (w *watcher) handlers() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(data *imapclient.UnilateralDataMailbox) {
			// FLAGS and PERMANENTFLAGS come here too; they change no message.
			if data.NumMessages != nil {
				w.signal("EXISTS", "messages", *data.NumMessages)
			}
		},
		Expunge: func(seqNum uint32) { w.signal("EXPUNGE", "seq", seqNum) },
		Fetch: func(msg *imapclient.FetchMessageData) {
			// The message must be consumed, or the reader stalls.
			flags := false
			for item := msg.Next(); item != nil; item = msg.Next() {
				if _, ok := item.(imapclient.FetchItemDataFlags); ok {
					flags = true
				}
			}
			if flags {
				w.signal("FETCH FLAGS", "seq", msg.SeqNum)
			}
		},
	}
}

// signal records a change without ever blocking.
func (w *watcher) signal(event string, args ...any) {
	w.log.Debug("imap watch event", append([]any{"event", event}, args...)...)
	select {
	case w.events <- struct{}{}:
	default: // one is pending already
	}
}

// keepAlive makes the kernel probe a connection that IDLE leaves silent, so
// that a peer gone without a word fails it within about a minute.
func keepAlive(cn *conn) {
	tc, ok := cn.raw.Conn.(*net.TCPConn)
	if !ok {
		return
	}
	err := tc.SetKeepAliveConfig(net.KeepAliveConfig{
		Enable: true, Idle: keepAliveIdle, Interval: keepAliveInterval, Count: keepAliveCount,
	})
	if err != nil {
		cn.log.Debug("imap keepalive not set", "err", err)
	}
}

// backoff is the schedule of reconnections: min, doubling up to max, from
// min again after a connection that stayed up for healthy.
type backoff struct {
	min, max, healthy time.Duration
	next              time.Duration // the next delay; 0 before the first
}

// delay returns how long to wait before reconnecting after a connection
// that was up (watching) for up.
func (b *backoff) delay(up time.Duration) time.Duration {
	if b.next == 0 || up >= b.healthy {
		b.next = b.min
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}
