package cache

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"mailfs/remote"
)

// DeleteWindow is the span over which AccountOptions.MaxDeletes counts
// removals.
const DeleteWindow = time.Minute

// errTooManyDeletes is the error of a removal the mass-deletion guard
// refused: remote.ErrTooManyDeletes, and EPERM for the filesystem.
var errTooManyDeletes = fmt.Errorf("%w within %v: %w", remote.ErrTooManyDeletes, DeleteWindow, syscall.EPERM)

// deleteGuard is the mass-deletion guard: it lets at most max removals
// through within DeleteWindow, so that a stray rm -rf over an account
// stops after the first few. A removal holds its place while it runs and
// gives it back if the server refused it.
type deleteGuard struct {
	mu     sync.Mutex
	max    int
	times  []time.Time // of the removals in the window, oldest first
	logged time.Time   // when a refusal was last logged
}

// take reserves a removal at a's clock and returns the function that
// settles it (ok: it happened, else the place is given back). Beyond the
// limit it returns errTooManyDeletes and logs once per window.
func (g *deleteGuard) take(a *Account, op string) (done func(ok bool), err error) {
	now := a.c.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	i := 0
	for i < len(g.times) && now.Sub(g.times[i]) >= DeleteWindow {
		i++
	}
	g.times = g.times[i:]
	if len(g.times) >= g.max {
		if now.Sub(g.logged) >= DeleteWindow {
			g.logged = now
			a.c.log.Warn("mass-deletion guard: refusing further removals; raise max_deletes in the account's [accounts.imap] to allow more",
				"account", a.name, "max_deletes", g.max, "window", DeleteWindow)
		}
		return nil, fmt.Errorf("%s: %w (max_deletes = %d for account %s; wait a minute or raise max_deletes)", op, errTooManyDeletes, g.max, a.name)
	}
	g.times = append(g.times, now)
	return func(ok bool) {
		if ok {
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		for j := len(g.times) - 1; j >= 0; j-- {
			if g.times[j].Equal(now) {
				g.times = append(g.times[:j], g.times[j+1:]...)
				return
			}
		}
	}, nil
}
