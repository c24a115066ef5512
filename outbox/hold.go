package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mailfs/internal/atomicfile"
)

// This file is the first half of a message's life: held in outbox/ as an
// ordinary file, then taken into the queue. The package documentation
// draws the whole state machine.

// editorPoll is how often a message an editor has open is looked at again
// when the send delay is shorter.
const editorPoll = time.Second

// hold starts (or restarts) the send delay of the message file name in
// outbox/.
func (o *Outbox) hold(name string) {
	o.mu.Lock()
	o.held[name] = o.now().Add(o.sendDelay)
	o.mu.Unlock()
	o.kickHold()
}

// kickHold wakes holdLoop.
func (o *Outbox) kickHold() {
	select {
	case o.holdKick <- struct{}{}:
	default:
	}
}

// unhold forgets the send delay of name, which is no longer a held
// message.
func (o *Outbox) unhold(name string) {
	o.mu.Lock()
	delete(o.held, name)
	o.mu.Unlock()
}

// heldBy returns the editor side file that keeps the message name held
// (an editor has it open), or "".
func (o *Outbox) heldBy(name string) string {
	for _, side := range editorFiles(name) {
		if len(side) > maxNameBytes {
			continue
		}
		if _, err := os.Lstat(o.path(filesDir, side)); err == nil {
			return side
		}
	}
	return ""
}

// holdLoop takes each held message into the queue once its send delay
// is over and no editor has it open, and prepares again the queued
// messages whose preparation failed, until ctx is cancelled.
func (o *Outbox) holdLoop(ctx context.Context) {
	for {
		o.sleep(ctx, o.holdKick, o.takeDueHeld(ctx))
		if ctx.Err() != nil {
			return
		}
	}
}

// takeDueHeld takes every held message that is due, prepares the queued
// messages whose preparation is due again, and returns when the next one
// is due (zero when none is).
func (o *Outbox) takeDueHeld(ctx context.Context) time.Time {
	now := o.now()
	o.mu.Lock()
	var due []string
	var next time.Time
	later := func(at time.Time) {
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	for name, at := range o.held {
		if !at.After(now) {
			due = append(due, name)
		} else {
			later(at)
		}
	}
	var unprepared []*item
	for _, it := range o.items {
		if it.busy || it.rec.State != StateQueued || it.rec.Prepared {
			continue
		}
		if it.rec.NextAttempt.After(now) {
			later(it.rec.NextAttempt)
			continue
		}
		it.busy = true
		unprepared = append(unprepared, it)
	}
	o.mu.Unlock()
	for _, it := range unprepared {
		if o.prepareQueued(it) != nil {
			later(now.Add(o.minBackoff))
		}
	}
	for _, name := range due {
		if ctx.Err() != nil {
			break
		}
		if at, ok := o.take(name); ok && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

// take moves the held message name into the queue and prepares it. When
// an editor still has it open, or the move fails, the message stays held
// and take returns when to try again.
func (o *Outbox) take(name string) (again time.Time, held bool) {
	o.filesMu.Lock()
	o.mu.Lock()
	at, ok := o.held[name]
	o.mu.Unlock()
	if !ok || at.After(o.now()) {
		o.filesMu.Unlock()
		return at, ok // taken, removed or rewritten meanwhile
	}
	if side := o.heldBy(name); side != "" {
		// Looked at again after the delay, and never in a busy loop.
		again := o.now().Add(max(o.sendDelay, editorPoll))
		o.mu.Lock()
		o.held[name] = again
		o.mu.Unlock()
		o.filesMu.Unlock()
		o.log.Debug("outbox: message held while an editor has it open", "name", name, "side_file", side)
		return again, true
	}
	it, err := o.enqueue(name)
	if err == nil {
		o.unhold(name)
	}
	o.filesMu.Unlock()
	if err != nil {
		o.log.Error("outbox: cannot move a held message into the queue; will try again", "name", name, "err", err)
		o.hold(name)
		return o.now().Add(max(o.sendDelay, o.minBackoff)), true
	}
	o.prepareQueued(it)
	return time.Time{}, false
}

// enqueue moves the file of the held message name into a new queue
// directory, unprepared, and returns it as a busy item. The rename of the
// file is the one step that moves the message: before it, the queue
// directory has no message.eml (Open deletes such a directory); after it,
// the file is no longer in outbox/. o.filesMu must be held.
func (o *Outbox) enqueue(name string) (*item, error) {
	src := o.path(filesDir, name)
	fi, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	id := newID()
	tmp, dir := o.path(tmpDir, id), o.path(queueDir, id)
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.seq++
	// The name is free unless the spool was edited by hand.
	now := o.now()
	rec := record{Name: o.uniqueName(name, true), State: StateQueued, Seq: o.seq, Created: now, NextAttempt: now}
	o.mu.Unlock()
	err = writeRecord(tmp, &rec)
	if err == nil {
		err = atomicfile.Rename(tmp, dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := atomicfile.Rename(src, filepath.Join(dir, messageFile)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	it := &item{id: id, dir: dir, rec: rec, size: fi.Size(), busy: true}
	o.mu.Lock()
	o.items[id] = it
	o.byName[rec.Name] = it
	o.mu.Unlock()
	return it, nil
}

// prepareQueued prepares the busy, unprepared queued item it for sending,
// in its own directory, and releases it: the prepared bytes go to
// prepared.eml, then state.json records the envelope (the step that
// commits: Open completes a prepared.eml the record knows and deletes one
// it does not), then prepared.eml replaces message.eml. A message that
// cannot be sent goes to failed/ with the reason (the error wraps
// ErrInvalid); an I/O error leaves it queued unprepared, prepared again by
// the next start.
func (o *Outbox) prepareQueued(it *item) error {
	o.mu.Lock()
	rec, dir := it.rec, it.dir
	o.mu.Unlock()
	p, err := o.prepareIn(dir, rec.Name)
	if errors.Is(err, ErrInvalid) {
		o.log.Warn("outbox: invalid message moved to failed/", "name", rec.Name, "err", err)
		o.fail(it, err.Error())
		return err
	}
	if err == nil {
		rec.Prepared = true
		rec.Account, rec.From, rec.To = p.acct.Name, p.from, p.to
		rec.NextAttempt = o.now()
		if err = writeRecord(dir, &rec); err == nil {
			err = atomicfile.Rename(filepath.Join(dir, preparedFile), filepath.Join(dir, messageFile))
		}
	}
	if err != nil {
		again := o.now().Add(o.minBackoff)
		o.log.Error("outbox: cannot prepare a queued message; will try again", "name", rec.Name, "at", again, "err", err)
		o.mu.Lock()
		it.rec.NextAttempt, it.busy = again, false
		o.mu.Unlock()
		o.kickHold()
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(filepath.Join(dir, messageFile)); err == nil {
		size = fi.Size()
	}
	o.mu.Lock()
	it.rec, it.size, it.busy = rec, size, false
	o.mu.Unlock()
	o.log.Info("outbox: message queued", "name", rec.Name, "account", p.acct.Name, "recipients", len(p.to))
	o.kick(p.acct)
	return nil
}

// prepareIn prepares dir/message.eml into dir/prepared.eml.
func (o *Outbox) prepareIn(dir, name string) (*plan, error) {
	src, err := os.Open(filepath.Join(dir, messageFile))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, preparedFile)) // left by an earlier try
	p, _, err := o.prepare(dir, preparedFile, src, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}
