package copy

import (
	"context"
	"slices"
	"sync"
)

// defaultPerRegistry is Options.PerRegistry's default.
const defaultPerRegistry = 4

// HostLimiter bounds the blob transfers in flight to or from each registry
// host, across every copy given the same limiter: a mirror running eight
// images at once, four blobs each, still opens at most PerRegistry blob
// streams against one registry, which is what rate limits and small
// registries are sized for. It is safe for concurrent use.
type HostLimiter struct {
	n    int
	mu   sync.Mutex
	sems map[string]chan struct{}
}

// NewHostLimiter returns a limiter of n transfers per host; n <= 0 means 4.
func NewHostLimiter(n int) *HostLimiter {
	if n <= 0 {
		n = defaultPerRegistry
	}
	return &HostLimiter{n: n, sems: map[string]chan struct{}{}}
}

func (l *HostLimiter) sem(host string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sems[host]
	if !ok {
		s = make(chan struct{}, l.n)
		l.sems[host] = s
	}
	return s
}

// acquire takes a slot on every distinct non-empty host, in sorted order
// so that two copies between the same two registries in opposite
// directions cannot each hold one host and wait for the other. release
// gives them back.
func (l *HostLimiter) acquire(ctx context.Context, hosts ...string) (release func(), err error) {
	hosts = slices.DeleteFunc(slices.Clone(hosts), func(h string) bool { return h == "" })
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	var held []chan struct{}
	release = func() {
		for _, s := range held {
			<-s
		}
	}
	for _, h := range hosts {
		s := l.sem(h)
		select {
		case s <- struct{}{}:
			held = append(held, s)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}
