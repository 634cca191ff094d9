package registry

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Compile-time checks of the capabilities a Repository offers.
var (
	_ transport.Source       = (*Repository)(nil)
	_ transport.RangeFetcher = (*Repository)(nil)
	_ transport.TagLister    = (*Repository)(nil)
	_ transport.BlobStatter  = (*Repository)(nil)
	_ transport.Target       = (*Repository)(nil)
)

// Repository is one repository of one registry, e.g. host "ghcr.io" and
// repository "org/app".
type Repository struct {
	host    string // as the user named it ("docker.io"); credentials are looked up by it
	apiHost string // where requests go ("registry-1.docker.io" for Docker Hub)
	name    string
	opts    Options
	client  *http.Client
	auth    *authorizer

	schemeMu sync.Mutex
	scheme   string // "https" or "http"; "" until decided

	// backoffBase is the first retry delay; tests shrink it.
	backoffBase time.Duration
	// maxWait caps any single retry delay, including a Retry-After.
	maxWait time.Duration
}

// New returns a client for repository (e.g. "library/alpine") on host (e.g.
// "docker.io", "127.0.0.1:5000"). It does no I/O: the scheme, credentials and
// tokens are worked out on first use.
func New(host, repository string, opts Options) *Repository {
	if opts.UserAgent == "" {
		opts.UserAgent = defaultUserAgent
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = defaultMaxRetries
	}
	if opts.Credentials == nil {
		opts.Credentials = DefaultCredentials
	}
	client := opts.Client
	if client == nil {
		client = newDefaultClient(opts.Insecure, opts.TLS, opts.Dial)
	}
	r := &Repository{
		host:        host,
		apiHost:     apiHost(host),
		name:        repository,
		opts:        opts,
		client:      withSafeRedirects(client),
		backoffBase: 250 * time.Millisecond,
		maxWait:     time.Minute,
	}
	switch {
	case opts.PlainHTTP:
		r.scheme = "http"
	case opts.Insecure: // decided by the first request's ping
	case isLoopback(r.apiHost):
		r.scheme = "http"
	default:
		r.scheme = "https"
	}
	r.auth = newAuthorizer(r)
	return r
}

// Host returns the registry host as given to New.
func (r *Repository) Host() string { return r.host }

// Name returns the repository name as given to New.
func (r *Repository) Name() string { return r.name }

// apiHost maps Docker Hub's names to the host that serves its API.
func apiHost(host string) string {
	switch host {
	case "docker.io", "index.docker.io":
		return "registry-1.docker.io"
	}
	return host
}

// isLoopback reports whether host[:port] is localhost or a loopback address.
func isLoopback(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// baseURL returns "scheme://host". With Insecure, the first call pings
// /v2/ over HTTPS and falls back to plain HTTP when no TLS server answers.
//
// distribution-spec v1.1.1 §Determining support (GET /v2/):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#determining-support
func (r *Repository) baseURL(ctx context.Context) (string, error) {
	r.schemeMu.Lock()
	defer r.schemeMu.Unlock()
	if r.scheme == "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+r.apiHost+"/v2/", nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("User-Agent", r.opts.UserAgent)
		resp, err := r.client.Do(req)
		switch {
		case err == nil:
			resp.Body.Close()
			r.scheme = "https"
		case ctx.Err() != nil:
			return "", ctx.Err()
		default:
			r.scheme = "http"
		}
	}
	return r.scheme + "://" + r.apiHost, nil
}

// url returns the absolute URL of an API path below /v2/<name>/.
func (r *Repository) url(ctx context.Context, path string) (string, error) {
	base, err := r.baseURL(ctx)
	if err != nil {
		return "", err
	}
	return base + "/v2/" + r.name + "/" + path, nil
}
