package copy

import (
	"context"
	"sync"
)

// onceMap runs fn once per key, however many goroutines ask; the others wait
// for its result. Two platforms of an index share layers, and a copy must
// neither transfer a shared blob twice nor race two uploads of it.
type onceMap[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*onceEntry[V]
}

type onceEntry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// do returns fn's result for k, running fn only if no caller has before.
// A waiter gives up when ctx is done.
func (o *onceMap[K, V]) do(ctx context.Context, k K, fn func() (V, error)) (V, error) {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[K]*onceEntry[V]{}
	}
	e, ok := o.m[k]
	if !ok {
		e = &onceEntry[V]{done: make(chan struct{})}
		o.m[k] = e
		o.mu.Unlock()
		e.v, e.err = fn()
		close(e.done)
		return e.v, e.err
	}
	o.mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}
