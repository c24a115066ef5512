package outbox

import (
	"fmt"

	"mailfs/internal/atomicfile"
)

// Retry moves the failed message name back into the queue (mv
// outbox/failed/NAME outbox/): due now, attempts reset, same name. A
// message that failed because it was invalid is validated and prepared
// again, and stays in failed/ with an error wrapping ErrInvalid if it still
// cannot be sent. A message whose account is no longer configured is routed
// again by its envelope sender.
func (o *Outbox) Retry(name string) error {
	o.mu.Lock()
	it := o.byName[name]
	switch {
	case it == nil || it.rec.State != StateFailed:
		o.mu.Unlock()
		return notExist(name)
	case it.busy:
		o.mu.Unlock()
		return fmt.Errorf("outbox: retry %s: %w", name, ErrBusy)
	}
	it.busy = true
	rec, dir := it.rec, it.dir
	o.mu.Unlock()
	acct, err := o.retry(it, rec, dir)
	o.release(it)
	if err != nil {
		return err
	}
	o.log.Info("outbox: failed message queued again", "name", name, "account", acct.Name)
	o.kick(acct) // after release: the worker skips busy messages
	return nil
}

// retry does Retry's work on the busy item it and returns the account that
// will send it. An invalid message (unprepared) is prepared again in the
// queue and goes back to failed/ if it is still invalid.
func (o *Outbox) retry(it *item, rec record, dir string) (*account, error) {
	name := rec.Name
	rec.State = StateQueued
	rec.Attempts, rec.CopyAttempts = 0, 0
	rec.NextAttempt = o.now()
	rec.LastError, rec.Error = "", ""
	if rec.Prepared && o.byAccount[rec.Account] == nil {
		tmp := &item{rec: rec}
		o.reroute(tmp)
		if tmp.rec.State == StateFailed {
			return nil, fmt.Errorf("outbox: retry %s: %w: %s", name, ErrInvalid, tmp.rec.Error)
		}
		rec = tmp.rec
	}
	to := o.path(queueDir, it.id)
	if err := writeRecord(dir, &rec); err != nil {
		return nil, fmt.Errorf("outbox: retry %s: %w", name, err)
	}
	if err := atomicfile.Rename(dir, to); err != nil {
		// state.json already says queued: Open finishes the move.
		return nil, fmt.Errorf("outbox: retry %s: %w", name, err)
	}
	o.mu.Lock()
	it.rec, it.dir = rec, to
	o.mu.Unlock()
	if !rec.Prepared {
		if err := o.prepareQueued(it); err != nil {
			return nil, fmt.Errorf("outbox: retry %s: %w", name, err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.byAccount[it.rec.Account], nil
}

// Remove cancels the queued message name (rm outbox/NAME). It is refused
// with an error wrapping ErrBusy while the message is being sent.
func (o *Outbox) Remove(name string) error {
	return o.remove(name, false)
}

// RemoveFailed deletes the failed message name and its NAME.error (rm
// outbox/failed/NAME).
func (o *Outbox) RemoveFailed(name string) error {
	return o.remove(name, true)
}

func (o *Outbox) remove(name string, failed bool) error {
	o.mu.Lock()
	it := o.byName[name]
	switch {
	case it == nil || (it.rec.State == StateFailed) != failed:
		o.mu.Unlock()
		return notExist(name)
	case it.busy:
		o.mu.Unlock()
		return fmt.Errorf("outbox: remove %s: %w", name, ErrBusy)
	}
	it.busy = true
	dir := it.dir
	o.mu.Unlock()
	if err := o.discard(dir); err != nil {
		o.release(it)
		return fmt.Errorf("outbox: remove %s: %w", name, err)
	}
	o.mu.Lock()
	delete(o.items, it.id)
	delete(o.byName, name)
	o.mu.Unlock()
	o.log.Info("outbox: message removed", "name", name, "failed", failed)
	return nil
}
