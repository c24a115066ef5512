package outbox

// RetryNow makes every queued message due at once (mailfs outbox retry):
// the wait of its backoff is dropped, its attempt count kept, and the
// workers are woken, so each account sends what waits in one burst now. A
// message being sent right now, a held one (still in its send delay) and
// a failed one are left alone. It returns how many messages were made due.
func (o *Outbox) RetryNow() int {
	now := o.now()
	n := 0
	unprepared := false
	o.mu.Lock()
	for _, it := range o.items {
		if it.busy || it.rec.State != StateQueued {
			continue
		}
		if it.rec.NextAttempt.After(now) {
			it.rec.NextAttempt = now
		}
		if !it.rec.Prepared {
			unprepared = true
		}
		n++
	}
	o.mu.Unlock()
	if unprepared {
		o.kickHold() // holdLoop prepares them again
	}
	o.Kick()
	if n > 0 {
		o.log.Info("outbox: sending every waiting message now", "count", n)
	}
	return n
}
