package cache

import (
	"context"
	"errors"
	"sync"
)

var errClosed = errors.New("cache closed")

// flightGroup runs at most one call per key at a time; callers that ask
// for a key already in flight wait for that call's result. The call runs
// in its own goroutine under a context that is cancelled when every waiter
// has given up (each waiter's ctx) or the cache closes, so one impatient
// caller does not fail the others.
type flightGroup[K comparable, V any] struct {
	c *Cache

	mu      sync.Mutex // guards flights and each flight's waiters
	flights map[K]*flight[V]
}

type flight[V any] struct {
	done    chan struct{} // closed when val and err are set
	val     V
	err     error
	waiters int // guarded by flightGroup.mu
	cancel  context.CancelFunc
}

// do returns the result of fn(ctx) run once for key.
func (g *flightGroup[K, V]) do(ctx context.Context, key K, fn func(context.Context) (V, error)) (V, error) {
	g.mu.Lock()
	if g.flights == nil {
		g.flights = map[K]*flight[V]{}
	}
	f, ok := g.flights[key]
	if !ok {
		if err := g.c.ctx.Err(); err != nil {
			g.mu.Unlock()
			var zero V
			return zero, errClosed
		}
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(g.c.ctx, cancel)
		f = &flight[V]{done: make(chan struct{}), cancel: cancel}
		g.flights[key] = f
		g.c.wg.Add(1)
		go func() {
			defer g.c.wg.Done()
			val, err := fn(fctx)
			stop()
			cancel()
			g.mu.Lock()
			if g.flights[key] == f {
				delete(g.flights, key)
			}
			g.mu.Unlock()
			f.val, f.err = val, err
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			// A later caller starts afresh instead of joining a
			// cancelled call.
			if g.flights[key] == f {
				delete(g.flights, key)
			}
		}
		g.mu.Unlock()
		var zero V
		return zero, ctx.Err()
	}
}
