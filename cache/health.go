package cache

import (
	"errors"
	"sync"
	"time"

	"mailfs/remote"
)

// health remembers that an account's server was unreachable, so that for
// RetryAfter the cache answers from disk instead of waiting on it again.
type health struct {
	mu        sync.Mutex // guards the fields below
	downUntil time.Time  // no contact before this time
	lastErr   error      // the failure that set downUntil
	offline   bool       // a failure was logged and no success since
	// lastOK is the last successful contact; downSince when the current
	// outage began (zero when online). Read by Status.
	lastOK, downSince time.Time
}

// down reports whether the server should not be contacted at now, and the
// failure that made it so.
func (a *Account) down() (bool, error) {
	h := &a.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastErr != nil && a.c.now().Before(h.downUntil) {
		return true, h.lastErr
	}
	return false, nil
}

// noteErr records the outcome of a contact with the server: an error
// wrapping remote.ErrUnavailable starts a RetryAfter window and is logged
// once per outage. It reports whether err was such an error.
func (a *Account) noteErr(mailbox string, err error) bool {
	if !errors.Is(err, remote.ErrUnavailable) {
		return false
	}
	h := &a.health
	h.mu.Lock()
	defer h.mu.Unlock()
	h.downUntil = a.c.now().Add(a.c.retryAfter)
	h.lastErr = err
	if !h.offline {
		h.offline = true
		h.downSince = a.c.now()
		a.c.log.Warn("mail server unreachable; serving cached data",
			"account", a.name, "mailbox", mailbox, "err", err, "retry_after", a.c.retryAfter)
	} else {
		a.c.log.Debug("mail server still unreachable", "account", a.name, "mailbox", mailbox, "err", err)
	}
	return true
}

// noteOK records a successful contact with the server.
func (a *Account) noteOK() {
	h := &a.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.offline {
		a.c.log.Info("mail server reachable again", "account", a.name)
	}
	h.offline, h.lastErr, h.downUntil = false, nil, time.Time{}
	h.lastOK, h.downSince = a.c.now(), time.Time{}
}
