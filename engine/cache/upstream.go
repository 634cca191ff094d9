package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// upstream is a configured Upstream with its clients and counters.
type upstream struct {
	Upstream
	endpoints []endpoint
	hub       bool // Docker Hub: one-component names get library/
	now       func() time.Time

	hits, misses, bytes, failures atomic.Int64

	mu        sync.Mutex
	repos     map[repoKey]*registry.Repository // token and scheme caches, per repository
	downUntil time.Time                        // after a failure to reach it: stale answers without asking
	downErr   error
}

// endpoint is one URL of an upstream.
type endpoint struct {
	url   string // scheme://host[:port]
	host  string // host[:port]
	plain bool   // http://
	opts  registry.Options
}

type repoKey struct {
	endpoint int
	name     string
}

// maxRepos bounds the clients kept per upstream; past it they are dropped
// and rebuilt on use (costing a token request each).
const maxRepos = 4096

// downFor is how long an upstream that could not be reached is not asked to
// revalidate a tag: cached tags are served stale at once meanwhile, rather
// than each request waiting for the same failure.
const downFor = 10 * time.Second

// repo returns the client for repository name at endpoint i, reusing it so
// that its bearer token and scheme are worked out once.
func (u *upstream) repo(i int, name string) *registry.Repository {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := repoKey{i, name}
	if r, ok := u.repos[k]; ok {
		return r
	}
	if len(u.repos) >= maxRepos {
		clear(u.repos)
	}
	e := u.endpoints[i]
	r := registry.New(e.host, name, e.opts)
	u.repos[k] = r
	return r
}

// try calls fn with the client of each endpoint in turn until one answers:
// an endpoint that cannot be reached, or fails on its side, passes the
// request on to the next; any other answer (success, not found, denied) is
// final. The error of the last endpoint tried is returned, naming the
// upstream.
func (u *upstream) try(ctx context.Context, name, op string, fn func(r *registry.Repository) error) error {
	var err error
	for i := range u.endpoints {
		err = fn(u.repo(i, name))
		if err == nil || !unreachable(err) || ctx.Err() != nil {
			break
		}
	}
	if err == nil {
		u.up()
		return nil
	}
	if !errors.Is(err, errdef.ErrNotFound) {
		u.failures.Add(1)
	}
	if unreachable(err) {
		u.down(err)
	}
	return &Error{Upstream: u.Prefix, Op: op, Name: name, Err: err}
}

// unreachable reports errors another endpoint (or a later try) may not
// have: no connection, a server error, a rate limit.
func unreachable(err error) bool {
	return errors.Is(err, errdef.ErrUnavailable) || errors.Is(err, errdef.ErrTooManyRequests)
}

// down records that the upstream could not be reached.
func (u *upstream) down(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.downUntil = u.now().Add(downFor)
	u.downErr = err
}

// up records that the upstream answered.
func (u *upstream) up() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.downUntil = time.Time{}
	u.downErr = nil
}

// isDown returns the recent failure to reach the upstream, if any.
func (u *upstream) isDown() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.now().Before(u.downUntil) {
		return u.downErr
	}
	return nil
}

// Error is a request to an upstream that failed: which upstream, what was
// asked, and why (the registry client's error, whose errdef class Unwrap
// reaches).
type Error struct {
	Upstream string // its prefix
	Op       string // "manifest", "blob", "tags", "referrers"
	Name     string // the repository at the upstream
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("upstream %s: %s of %s: %v", e.Upstream, e.Op, e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
