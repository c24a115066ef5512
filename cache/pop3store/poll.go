package pop3store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"mailfs/cache"
	"mailfs/remote"
)

// poller runs one poll at a time and remembers how the last one went.
type poller struct {
	mu       sync.Mutex // guards the fields below
	run      *pollRun   // the poll in progress, nil when none
	lastDone time.Time  // when the last poll ended, successful or not
	offline  bool       // the last poll failed to reach the server
	// lastOK is when a poll last succeeded; downSince when the current
	// outage began and lastErr its last failure (while offline).
	lastOK, downSince time.Time
	lastErr           error
}

// pollRun is one poll; done is closed when err is set.
type pollRun struct {
	done chan struct{}
	err  error
}

// sessionStats counts what one session did, for its log line.
type sessionStats struct {
	listed, stored, deleted, skipped int
	bytes                            int64
}

// Run polls the server at once and then every Options.PollInterval until
// ctx is cancelled; then it returns nil. Failures are logged, and the
// store goes on serving what it has.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		s.Poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll runs one session with the server: it downloads every message not
// downloaded before, deletes on the server what the policy says (messages
// stored while LeaveOnServer is false, messages removed locally) and quits.
// A poll already running is joined instead of starting another. When ctx
// is done first Poll returns ctx's error and the poll goes on in the
// background (Close stops it). Errors wrap remote.ErrUnavailable when the
// server could not be reached.
func (s *Store) Poll(ctx context.Context) error {
	run, err := s.startPoll()
	if err != nil {
		return err
	}
	select {
	case <-run.done:
		return run.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startPoll returns the poll in progress, starting one when none is.
func (s *Store) startPoll() (*pollRun, error) {
	p := &s.poll
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		return p.run, nil
	}
	s.mu.RLock()
	closed := s.closed
	if !closed {
		s.wg.Add(1)
	}
	s.mu.RUnlock()
	if closed {
		return nil, errClosed
	}
	run := &pollRun{done: make(chan struct{})}
	p.run = run
	go func() {
		defer s.wg.Done()
		err := s.pollOnce(s.ctx)
		p.mu.Lock()
		p.run = nil
		p.lastDone = s.now()
		p.mu.Unlock()
		run.err = err
		close(run.done)
	}()
	return run, nil
}

// lastPoll returns when the last poll ended.
func (s *Store) lastPoll() time.Time {
	s.poll.mu.Lock()
	defer s.poll.mu.Unlock()
	return s.poll.lastDone
}

// pollOnce runs a session and logs its outcome.
func (s *Store) pollOnce(ctx context.Context) error {
	start := time.Now()
	st, err := s.session(ctx)
	took := time.Since(start).Round(time.Millisecond)
	if st.stored > 0 && s.opts.OnChange != nil {
		s.opts.OnChange(Inbox)
	}
	p := &s.poll
	p.mu.Lock()
	wasOffline := p.offline
	p.offline = err != nil && errors.Is(err, remote.ErrUnavailable)
	switch {
	case err == nil:
		p.lastOK, p.downSince, p.lastErr = s.now(), time.Time{}, nil
	case p.offline:
		if !wasOffline {
			p.downSince = s.now()
		}
		p.lastErr = err
	}
	p.mu.Unlock()
	switch {
	case err == nil:
		if wasOffline {
			s.log.Info("pop3 server reachable again")
		}
		// One info line for a session that changed something; a poll
		// with nothing new is routine.
		level := slog.LevelDebug
		if st.stored > 0 || st.deleted > 0 {
			level = slog.LevelInfo
		}
		s.log.Log(ctx, level, "pop3 session", "listed", st.listed, "stored", st.stored, "bytes", st.bytes,
			"deleted", st.deleted, "skipped", st.skipped, "took", took)
		return nil
	case errors.Is(err, remote.ErrUnavailable) && wasOffline:
		s.log.Debug("pop3 server still unreachable; serving the store", "err", err)
	case errors.Is(err, remote.ErrUnavailable):
		s.log.Warn("pop3 server unreachable; serving the store", "err", err, "stored", st.stored)
	default:
		s.log.Error("pop3 session failed", "err", err, "stored", st.stored, "took", took)
	}
	return fmt.Errorf("poll %s: %w", s.account, err)
}

// session is one POP3 session; see Poll.
func (s *Store) session(ctx context.Context) (st sessionStats, err error) {
	sess, err := s.dl.Connect(ctx)
	if err != nil {
		return st, fmt.Errorf("connect: %w", err)
	}
	quit := false
	defer func() {
		if !quit {
			sess.Close()
		}
	}()
	msgs, err := sess.List(ctx)
	if err != nil {
		return st, fmt.Errorf("list maildrop: %w", err)
	}
	st.listed = len(msgs)

	// Only polls add to seen, and one runs at a time: a snapshot will do.
	// A key added to dele during the session waits for the next one.
	var seen, dele map[string]bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		seen, dele = keySet(tx, bucketSeen), keySet(tx, bucketDele)
		return nil
	}); err != nil {
		return st, fmt.Errorf("read pop3 store: %w", err)
	}

	listed := map[string]bool{}
	var deleted []string // keys marked for deletion in this session
	for _, m := range msgs {
		if m.UID == "" {
			// Without an id a message cannot be told from one
			// downloaded before: leave it alone.
			st.skipped++
			s.log.Warn("message without unique id left on the server", "number", m.Number)
			continue
		}
		key := fileKey(m.UID)
		if listed[key] {
			// The same id twice: the second may be another message,
			// so neither download it nor delete it.
			st.skipped++
			s.log.Warn("unique id listed twice; second copy left on the server", "number", m.Number)
			continue
		}
		listed[key] = true
		if !seen[key] {
			n, err := s.download(ctx, sess, m, key)
			if errors.Is(err, remote.ErrRefused) {
				// The server refused this message (-ERR) and the
				// session is still usable: leave it on the server for
				// the next poll rather than hold up the ones after it.
				st.skipped++
				s.log.Warn("pop3 server refused a message; left on the server, tried again at the next poll",
					"number", m.Number, "err", err)
				continue
			}
			if err != nil {
				return st, err
			}
			seen[key] = true
			st.stored++
			st.bytes += n
		}
		// Stored (now or before): delete per policy or local rm.
		if !s.leave || dele[key] {
			if err := sess.Delete(ctx, m.Number); err != nil {
				return st, fmt.Errorf("delete message %d on server: %w", m.Number, err)
			}
			deleted = append(deleted, key)
		}
	}
	if err := sess.Quit(ctx); err != nil {
		return st, fmt.Errorf("quit: %w", err)
	}
	quit = true
	st.deleted = len(deleted)

	// Pending deletions done, or of messages the server no longer has.
	var done []string
	for _, key := range deleted {
		if dele[key] {
			done = append(done, key)
		}
	}
	for key := range dele {
		if !listed[key] {
			done = append(done, key)
		}
	}
	if len(done) > 0 {
		if err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketDele)
			for _, key := range done {
				if err := b.Delete([]byte(key)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return st, fmt.Errorf("record deletions: %w", err)
		}
	}
	return st, nil
}

// Status returns how the POP3 server has been answering, for mailfs
// status: LastContact and LastSync are the last successful poll.
func (s *Store) Status() cache.AccountStatus {
	p := &s.poll
	p.mu.Lock()
	defer p.mu.Unlock()
	st := cache.AccountStatus{Offline: p.offline, OfflineSince: p.downSince, LastContact: p.lastOK, LastSync: p.lastOK}
	if p.offline && p.lastErr != nil {
		st.LastError = p.lastErr.Error()
	}
	return st
}
