package cache

import (
	"context"
	"time"
)

// flight is one upstream request concurrent callers share.
type flight struct {
	done chan struct{}
	val  any
	err  error
}

// flightTimeout bounds a shared manifest, tag or referrers request: it runs
// on after the caller that started it gave up, for the others.
const flightTimeout = 2 * time.Minute

// share runs fn once for all concurrent callers with the same key and gives
// each its result. fn runs in the first caller's goroutine, under a context
// its caller's cancellation does not reach (others may be waiting for it);
// a later caller that gives up stops waiting, not fn.
func share[T any](c *Cache, ctx context.Context, key string, fn func(ctx context.Context) (T, error)) (T, error) {
	c.mu.Lock()
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			v, _ := f.val.(T)
			return v, f.err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
	v, err := fn(fctx)
	cancel()
	f.val, f.err = v, err
	c.mu.Lock()
	delete(c.flights, key)
	c.mu.Unlock()
	close(f.done)
	return v, err
}
