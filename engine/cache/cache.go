package cache

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// DefaultTagTTL is how long a cached tag is served without asking its
// upstream, for an Upstream without a TagTTL.
const DefaultTagTTL = 5 * time.Minute

// Upstream is one registry the cache stands in for.
type Upstream struct {
	// Prefix is where the upstream's repositories appear in the served
	// registry: PREFIX/REPO here is REPO there. It is a repository path
	// ("docker.io", "mirrors/ghcr"), compared whole component by component.
	Prefix string
	// URLs are the upstream's base URLs (scheme://host[:port]), tried in
	// order: the next one is asked when one cannot be reached or fails
	// with a server error, never when it answers "not found".
	URLs []string
	// TagTTL is how long a cached tag is trusted before a HEAD revalidates
	// it; 0 means DefaultTagTTL.
	TagTTL time.Duration
	// Credentials returns the credential for an upstream host; nil means
	// registry.DefaultCredentials (the CLI's sources).
	Credentials func(ctx context.Context, host string) (registry.Credential, error)
	// Insecure skips TLS certificate verification.
	Insecure bool
	// TLS configures the connections (a private CA, a client
	// certificate); nil means the system's roots.
	TLS *tls.Config
}

// Options configure New.
type Options struct {
	// Remote guards the connections to upstreams (see netguard): the
	// upstreams' own hosts are vouched for, since the operator configured
	// them, so a loopback or private upstream works; a redirect elsewhere
	// is held to the policy. Nil connects anywhere.
	Remote *netguard.Policy
	// SpoolDir holds blobs while they are fetched; "" means os.TempDir().
	// It should be on a disk (not a RAM file system): a fill spools the
	// whole blob.
	SpoolDir string
	// Now is the clock tag freshness is measured with; nil means time.Now.
	Now func() time.Time
}

// Cache answers for the repositories under its upstreams' prefixes. It is
// safe for concurrent use and holds no open files between calls (fills in
// progress excepted).
type Cache struct {
	b     served.Backend
	ups   []*upstream
	spool string
	now   func() time.Time

	mu      sync.Mutex
	fills   map[fillKey]*Fill
	flights map[string]*flight
	checked map[string]time.Time // tag or referrers key → when the upstream last confirmed it
}

// maxChecked bounds the freshness records; past it they are forgotten and
// tags revalidate once more.
const maxChecked = 1 << 16

// New returns a cache storing into b. The upstreams' prefixes must be
// distinct and none may contain another's repositories ambiguously: the
// longest matching prefix wins.
func New(b served.Backend, ups []Upstream, opts Options) (*Cache, error) {
	c := &Cache{
		b: b, spool: opts.SpoolDir, now: opts.Now,
		fills: map[fillKey]*Fill{}, flights: map[string]*flight{}, checked: map[string]time.Time{},
	}
	if c.spool == "" {
		c.spool = os.TempDir()
	}
	if c.now == nil {
		c.now = time.Now
	}
	seen := map[string]bool{}
	for i, u := range ups {
		up, err := newUpstream(u, opts.Remote)
		if err != nil {
			return nil, fmt.Errorf("upstream %d (%s): %w", i+1, u.Prefix, err)
		}
		up.now = c.now
		if seen[up.Prefix] {
			return nil, fmt.Errorf("upstream %d: prefix %s is used twice: %w", i+1, up.Prefix, errdef.ErrInvalid)
		}
		seen[up.Prefix] = true
		c.ups = append(c.ups, up)
	}
	// Longest prefix first, so Route finds the most specific one.
	slices.SortStableFunc(c.ups, func(a, b *upstream) int { return len(b.Prefix) - len(a.Prefix) })
	if err := os.MkdirAll(c.spool, 0o755); err != nil {
		return nil, fmt.Errorf("spool directory: %w", err)
	}
	removeStaleSpool(c.spool)
	return c, nil
}

// newUpstream checks u and builds its clients.
func newUpstream(u Upstream, remote *netguard.Policy) (*upstream, error) {
	u.Prefix = strings.Trim(u.Prefix, "/")
	if u.Prefix == "" {
		return nil, fmt.Errorf("prefix is empty: %w", errdef.ErrInvalid)
	}
	if err := oci.ValidateRepository(u.Prefix); err != nil {
		return nil, fmt.Errorf("prefix %q is not a repository path: %v: %w", u.Prefix, err, errdef.ErrInvalid)
	}
	if u.TagTTL < 0 {
		return nil, fmt.Errorf("tagTTL %v is negative: %w", u.TagTTL, errdef.ErrInvalid)
	}
	if u.TagTTL == 0 {
		u.TagTTL = DefaultTagTTL
	}
	if len(u.URLs) == 0 {
		return nil, fmt.Errorf("no urls: %w", errdef.ErrInvalid)
	}
	up := &upstream{Upstream: u, repos: map[repoKey]*registry.Repository{}}
	var hosts []string
	for _, raw := range u.URLs {
		e, err := parseEndpoint(raw)
		if err != nil {
			return nil, err
		}
		up.endpoints = append(up.endpoints, e)
		hosts = append(hosts, e.host)
		up.hub = up.hub || isDockerHub(e.host)
	}
	base := registry.Options{Credentials: u.Credentials, Insecure: u.Insecure, TLS: u.TLS, MaxRetries: upstreamRetries}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	if remote != nil {
		guard := *remote
		guard.Vouched = append(slices.Clip(guard.Vouched), hosts...)
		base.Dial = guard.Dialer(dialer, nil)
	} else {
		base.Dial = dialer.DialContext
	}
	// One client per upstream: its endpoints share the TLS settings and
	// the connection pool.
	base.Client = registry.NewClient(base)
	for i := range up.endpoints {
		o := base
		o.PlainHTTP = up.endpoints[i].plain
		up.endpoints[i].opts = o
	}
	return up, nil
}

// Connection settings for upstreams: a cache answers its clients, so an
// unreachable upstream must be given up on quickly and served around.
const (
	dialTimeout     = 10 * time.Second
	upstreamRetries = 1
)

// parseEndpoint checks one upstream URL: http or https, a host, no path.
func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("url %q: %v: %w", raw, err, errdef.ErrInvalid)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return endpoint{}, fmt.Errorf("url %q: want https://HOST[:PORT] or http://HOST[:PORT]: %w", raw, errdef.ErrInvalid)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		// The distribution API lives at /v2/ of the host; a path would be
		// silently ignored, and credentials belong in Credentials.
		return endpoint{}, fmt.Errorf("url %q: only scheme and host[:port] are allowed (no path, query or user): %w", raw, errdef.ErrInvalid)
	}
	return endpoint{url: u.Scheme + "://" + u.Host, host: u.Host, plain: u.Scheme == "http"}, nil
}

// isDockerHub reports Docker Hub's API hosts, whose single-component
// repositories live under library/.
func isDockerHub(host string) bool {
	switch strings.ToLower(host) {
	case "registry-1.docker.io", "index.docker.io", "docker.io":
		return true
	}
	return false
}

// Route tells whether repository name is served from an upstream: its
// prefix, and the repository's name at the upstream.
func (c *Cache) Route(name string) (prefix, remote string, ok bool) {
	up, remote, ok := c.route(name)
	if !ok {
		return "", "", false
	}
	return up.Prefix, remote, true
}

// Writable refuses writes to a repository the cache serves, whose content
// is the upstream's; nil for every other name. Every edge asks it: the
// registry port and the engine's store: writes alike.
func (c *Cache) Writable(name string) error {
	up, _, ok := c.route(name)
	if !ok {
		return nil
	}
	return fmt.Errorf("%s is a pull-through cache of %s (everything under %s/ is): pushes there are refused; push to a repository outside %s/: %w",
		name, strings.Join(up.URLs, ", "), up.Prefix, up.Prefix, errdef.ErrDenied)
}

// route finds the upstream serving name.
func (c *Cache) route(name string) (*upstream, string, bool) {
	for _, up := range c.ups {
		if rest, ok := strings.CutPrefix(name, up.Prefix+"/"); ok && rest != "" {
			if up.hub && !strings.Contains(rest, "/") {
				// Docker Hub's official images: docker.io/alpine is library/alpine.
				rest = "library/" + rest
			}
			return up, rest, true
		}
	}
	return nil, "", false
}

// Describe returns the upstream URLs serving name, for messages.
func (c *Cache) Describe(name string) string {
	up, _, ok := c.route(name)
	if !ok {
		return ""
	}
	return strings.Join(up.URLs, ", ")
}

// ForNamespace returns the prefix of the upstream a mirror request's ns=
// query parameter names: the registry host the client was asked to pull
// from (containerd sends it to every mirror). An upstream answers to its
// prefix and to the hosts of its URLs; Docker Hub to docker.io too.
//
// containerd hosts.toml and the ns parameter:
// https://github.com/containerd/containerd/blob/v2.0.0/docs/hosts.md
func (c *Cache) ForNamespace(ns string) (string, bool) {
	ns = strings.ToLower(ns)
	for _, up := range c.ups {
		if strings.ToLower(up.Prefix) == ns || up.hub && isDockerHub(ns) {
			return up.Prefix, true
		}
		for _, e := range up.endpoints {
			if strings.ToLower(e.host) == ns {
				return up.Prefix, true
			}
		}
	}
	return "", false
}

// Stats counts what the cache did for one upstream since New.
type Stats struct {
	Prefix string
	// Hits are requests the store answered without the upstream's bytes
	// (a tag revalidated by a HEAD included); Misses those that needed
	// the upstream's (a reader following another's fill included).
	Hits, Misses int64
	// Bytes is what was read from the upstream: blob and manifest bodies.
	Bytes int64
	// Errors counts failed upstream requests, stale answers included.
	Errors int64
}

// Stats returns the counters of every upstream, in configuration order of
// prefixes sorted by length (longest first).
func (c *Cache) Stats() []Stats {
	out := make([]Stats, 0, len(c.ups))
	for _, up := range c.ups {
		out = append(out, Stats{
			Prefix: up.Prefix, Hits: up.hits.Load(), Misses: up.misses.Load(),
			Bytes: up.bytes.Load(), Errors: up.failures.Load(),
		})
	}
	return out
}

// fresh reports whether key was confirmed by the upstream within ttl.
func (c *Cache) fresh(key string, ttl time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.checked[key]
	return ok && c.now().Sub(t) < ttl
}

// confirm records that the upstream confirmed key now.
func (c *Cache) confirm(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.checked) >= maxChecked {
		clear(c.checked)
	}
	c.checked[key] = c.now()
}

// forgetChecked drops key's record.
func (c *Cache) forgetChecked(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.checked, key)
}

// stored reports whether repository name holds blob d, and its size.
func (c *Cache) stored(ctx context.Context, name string, d digest.Digest) (int64, bool, error) {
	repo, err := c.b.Repo(ctx, name)
	if errors.Is(err, errdef.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer repo.Close()
	size, err := repo.Stat(ctx, d)
	if errors.Is(err, errdef.ErrNotFound) {
		return 0, false, nil
	}
	return size, err == nil, err
}

// spoolPrefix names the spool files of fills.
const spoolPrefix = "stevedore-fill-"

// removeStaleSpool removes spool files a crashed process left: a fill in
// progress writes its file continuously, so one untouched for an hour is
// nobody's.
func removeStaleSpool(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), spoolPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
