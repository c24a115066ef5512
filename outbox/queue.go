package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"mailfs/internal/atomicfile"
	"mailfs/remote"
)

// Run sends the queue until ctx is cancelled, then returns ctx's error. Each
// account has its own worker: it sends the account's due messages one after
// another in commit order (a burst, so a Sender can reuse its connection),
// then sleeps until the next message is due or Kick (or a Commit, or a
// Retry) wakes it. Run must not be called twice at once.
func (o *Outbox) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { o.holdLoop(ctx) })
	for _, a := range o.accounts {
		wg.Go(func() { o.work(ctx, a) })
	}
	wg.Wait()
	return ctx.Err()
}

// kick wakes the worker of account a.
func (o *Outbox) kick(a *account) {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// work is the queue loop of account a.
func (o *Outbox) work(ctx context.Context, a *account) {
	for {
		o.burst(ctx, a)
		if ctx.Err() != nil {
			return
		}
		next, ok := o.nextDue(a)
		if ok && next.IsZero() {
			next = o.now() // due at once
		}
		o.sleep(ctx, a.kick, next)
	}
}

// sleep waits until next (for ever when next is zero), a kick or the end
// of ctx.
func (o *Outbox) sleep(ctx context.Context, kick <-chan struct{}, next time.Time) {
	var wake <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(max(next.Sub(o.now()), 0))
		defer t.Stop()
		wake = t.C
	}
	select {
	case <-ctx.Done():
	case <-kick:
	case <-wake:
	}
}

// burst processes every due message of account a, oldest first.
func (o *Outbox) burst(ctx context.Context, a *account) {
	for ctx.Err() == nil {
		it := o.takeDue(a)
		if it == nil {
			return
		}
		if it.rec.State == StateSent {
			o.copySent(ctx, a, it)
		} else {
			o.send(ctx, a, it)
		}
	}
}

// takeDue returns the oldest due message of account a, marked busy, or nil.
func (o *Outbox) takeDue(a *account) *item {
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	var best *item
	for _, it := range o.items {
		if it.busy || it.rec.Account != a.Name || it.rec.NextAttempt.After(now) ||
			(it.rec.State != StateQueued && it.rec.State != StateSent) {
			continue
		}
		if best == nil || it.rec.Seq < best.rec.Seq {
			best = it
		}
	}
	if best != nil {
		best.busy = true
	}
	return best
}

// nextDue returns when the next message of account a is due.
func (o *Outbox) nextDue(a *account) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var next time.Time
	found := false
	for _, it := range o.items {
		if it.busy || it.rec.Account != a.Name || (it.rec.State != StateQueued && it.rec.State != StateSent) {
			continue
		}
		if !found || it.rec.NextAttempt.Before(next) {
			next, found = it.rec.NextAttempt, true
		}
	}
	return next, found
}

// update changes the busy item it under o.mu and returns a copy of its
// record and its directory, for writing the record without the lock.
func (o *Outbox) update(it *item, change func(*record)) (record, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	change(&it.rec)
	return it.rec, it.dir
}

// release ends the work on item it.
func (o *Outbox) release(it *item) {
	o.mu.Lock()
	it.busy = false
	o.mu.Unlock()
}

// send transmits the busy queued item it through account a.
func (o *Outbox) send(ctx context.Context, a *account, it *item) {
	rec, dir := o.update(it, func(r *record) {
		r.State = StateSending
		r.Attempts++
	})
	log := o.log.With("account", a.Name, "name", rec.Name, "attempt", rec.Attempts)
	if err := writeRecord(dir, &rec); err != nil {
		o.retryLater(it, fmt.Errorf("spool: %w", err))
		log.Error("outbox: cannot record the sending state", "err", err)
		return
	}
	f, err := os.Open(it.messagePathLocked(o))
	if err != nil {
		o.retryLater(it, fmt.Errorf("spool: %w", err))
		log.Error("outbox: cannot open queued message", "err", err)
		return
	}
	env := remote.Envelope{From: rec.From, To: rec.pending()}
	if len(env.To) == 0 {
		// Every transaction was recorded, not yet the end: a crash in
		// between.
		f.Close()
		log.Info("outbox: message sent (every recipient was recorded)", "recipients", len(rec.To))
		o.sent(ctx, a, it)
		return
	}
	if ps, ok := a.Sender.(ProgressSender); ok {
		err = ps.SendProgress(ctx, env, f, func(to []string) { o.delivered(it, to, log) })
	} else {
		err = a.Sender.Send(ctx, env, f)
	}
	f.Close()
	if err != nil {
		err = o.partly(it, err)
	}
	switch {
	case err == nil:
		log.Info("outbox: message sent", "recipients", len(rec.To))
		o.sent(ctx, a, it)
	case errors.Is(err, remote.ErrAuth):
		// The account's credentials, not the message: keep it queued
		// (the reason shows in its last error) until the password or
		// token is fixed, however permanent the server's reply.
		log.Warn("outbox: the server refused the login, will retry", "err", err)
		o.retryLater(it, err)
	case errors.Is(err, remote.ErrPermanent):
		log.Warn("outbox: message rejected, moved to failed/", "err", err)
		o.fail(it, fmt.Sprintf("rejected: %v", err))
	case ctx.Err() != nil:
		// Stopping: not the message's fault; due again at the next start.
		o.requeue(it, "interrupted: mailfs was stopping")
	default:
		log.Warn("outbox: temporary failure, will retry", "err", err)
		o.retryLater(it, err)
	}
}

// delivered records durably that the recipients to of the busy item it
// have the message (one transaction of several), before the next
// transaction begins.
func (o *Outbox) delivered(it *item, to []string, log *slog.Logger) {
	rec, dir := o.update(it, func(r *record) { r.Done = append(r.Done, to...) })
	if err := writeRecord(dir, &rec); err != nil {
		// Kept in memory and written with the next state: only a crash
		// before then sends it to them again.
		log.Error("outbox: cannot record the recipients a transaction reached", "recipients", len(to), "err", err)
		return
	}
	log.Info("outbox: message sent to part of its recipients", "recipients", len(to), "done", len(rec.Done), "of", len(rec.To))
}

// partialError is a send failure of a message that some recipients
// already have.
type partialError struct {
	done, total int
	err         error
}

func (e *partialError) Error() string {
	return fmt.Sprintf("sent to %d of %d recipients; the other %d: %v", e.done, e.total, e.total-e.done, e.err)
}

func (e *partialError) Unwrap() error { return e.err }

// partly says, in a send failure of the busy item it, how many recipients
// already have the message.
func (o *Outbox) partly(it *item, err error) error {
	o.mu.Lock()
	done, total := len(it.rec.Done), len(it.rec.To)
	o.mu.Unlock()
	if done == 0 {
		return err
	}
	return &partialError{done: done, total: total, err: err}
}

// messagePathLocked returns the item's message path under o.mu.
func (it *item) messagePathLocked(o *Outbox) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return it.messagePath()
}

// retryLater puts the busy item it back in the queue, due after the backoff
// for its attempts, with err as its LastError.
func (o *Outbox) retryLater(it *item, err error) {
	now := o.now()
	rec, dir := o.update(it, func(r *record) {
		r.State = StateQueued
		r.NextAttempt = now.Add(o.backoff(r.Attempts))
		r.LastError = oneLine(fmt.Sprintf("%v (%s)", err, stamp(now)))
	})
	if werr := writeRecord(dir, &rec); werr != nil {
		o.log.Error("outbox: cannot record a retry", "name", rec.Name, "err", werr)
	}
	o.release(it)
}

// requeue puts the busy item it back in the queue, due now, without
// counting the attempt.
func (o *Outbox) requeue(it *item, why string) {
	rec, dir := o.update(it, func(r *record) {
		r.State = StateQueued
		r.Attempts--
		r.NextAttempt = o.now()
		r.LastError = why
	})
	if werr := writeRecord(dir, &rec); werr != nil {
		o.log.Error("outbox: cannot record a retry", "name", rec.Name, "err", werr)
	}
	o.release(it)
}

// fail moves the busy item it to failed/ with reason. The new state is
// published together with the end of the work, so that a message listed in
// failed/ can be retried or removed at once.
func (o *Outbox) fail(it *item, reason string) {
	now := o.now()
	o.mu.Lock()
	rec, dir := it.rec, it.dir
	o.mu.Unlock()
	rec.State = StateFailed
	rec.Error = oneLine(fmt.Sprintf("%s (%s)", reason, stamp(now)))
	rec.LastError = ""
	err := writeRecord(dir, &rec)
	to := o.path(failedDir, it.id)
	if err == nil {
		err = atomicfile.Rename(dir, to)
	}
	o.mu.Lock()
	it.rec = rec
	if err == nil {
		it.dir = to
	}
	it.busy = false
	o.mu.Unlock()
	if err != nil {
		// Shown as failed now; Open finishes the move.
		o.log.Error("outbox: cannot move message to failed/", "name", rec.Name, "err", err)
	}
}

// sent records that the busy item it was delivered, then stores its Sent
// copy or removes it.
func (o *Outbox) sent(ctx context.Context, a *account, it *item) {
	if a.SentCopy == nil {
		o.finish(it)
		return
	}
	rec, dir := o.update(it, func(r *record) {
		r.State = StateSent
		r.NextAttempt = o.now()
		r.LastError = ""
	})
	o.mu.Lock()
	if o.byName[rec.Name] == it {
		delete(o.byName, rec.Name) // it has left outbox/
	}
	o.mu.Unlock()
	if err := writeRecord(dir, &rec); err != nil {
		// The message stays recorded as sending: a crash before it leaves
		// the spool would send it again.
		o.log.Error("outbox: cannot record that the message was sent", "name", rec.Name, "err", err)
	}
	o.copySent(ctx, a, it)
}

// copySent stores the Sent copy of the busy sent item it, retrying on the
// backoff schedule; it never sends the message again.
func (o *Outbox) copySent(ctx context.Context, a *account, it *item) {
	if a.SentCopy == nil {
		o.finish(it)
		return
	}
	o.mu.Lock()
	path, name := it.messagePath(), it.rec.Name
	o.mu.Unlock()
	log := o.log.With("account", a.Name, "name", name)
	f, err := os.Open(path)
	if err == nil {
		var st os.FileInfo
		if st, err = f.Stat(); err == nil {
			err = a.SentCopy(ctx, f, st.Size())
		}
		f.Close()
	}
	switch {
	case err == nil:
		o.finish(it)
		return
	case ctx.Err() != nil:
		o.release(it) // due again at the next start
		return
	}
	now := o.now()
	rec, dir := o.update(it, func(r *record) {
		r.CopyAttempts++
		r.NextAttempt = now.Add(o.backoff(r.CopyAttempts))
		r.LastError = oneLine(fmt.Sprintf("copy to the Sent folder: %v (%s)", err, stamp(now)))
	})
	if errors.Is(err, remote.ErrPermanent) || rec.CopyAttempts >= o.maxCopyAttempts {
		log.Error("outbox: message sent, but its copy in the Sent folder is given up", "attempts", rec.CopyAttempts, "err", err)
		o.finish(it)
		return
	}
	log.Warn("outbox: message sent; copy to the Sent folder failed, will retry", "attempts", rec.CopyAttempts, "err", err)
	if werr := writeRecord(dir, &rec); werr != nil {
		log.Error("outbox: cannot record a Sent copy retry", "err", werr)
	}
	o.release(it)
}

// finish removes the busy item it, done, from the spool.
func (o *Outbox) finish(it *item) {
	o.mu.Lock()
	dir, name := it.dir, it.rec.Name
	o.mu.Unlock()
	if err := o.discard(dir); err != nil {
		o.log.Error("outbox: cannot remove a sent message from the spool; it may be sent again after a restart", "name", name, "err", err)
	}
	o.mu.Lock()
	delete(o.items, it.id)
	if o.byName[name] == it {
		delete(o.byName, name)
	}
	o.mu.Unlock()
}
