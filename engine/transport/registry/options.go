package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// Options configure a Repository. The zero value works: a default HTTP
// client, TLS for every host but loopback ones, credentials from the docker
// and containers config files, 4 retries.
type Options struct {
	// Client sends the requests. Nil means a client with dial, TLS-handshake
	// and response-header timeouts and HTTP/2 allowed. A caller's client is
	// used as given (Insecure does not change its TLS settings); redirects
	// to another host never carry our Authorization header either way.
	Client *http.Client
	// Insecure allows plain HTTP for every host (HTTPS is tried first) and,
	// with the default client, skips TLS certificate verification. Without
	// it, localhost, 127.0.0.0/8 and ::1 are spoken to in plain HTTP, as
	// crane does, and every other host in HTTPS.
	Insecure bool
	// Credentials returns the credential for a registry host ("docker.io",
	// "ghcr.io", "127.0.0.1:5000"); a zero Credential means anonymous. Nil
	// means DefaultCredentials.
	Credentials func(ctx context.Context, host string) (Credential, error)
	// UserAgent is sent with every request; "" means "stevedore".
	UserAgent string
	// MaxRetries bounds retries of a failed request (429, 5xx, connection
	// errors); <= 0 means 4.
	MaxRetries int
	// PlainHTTP speaks plain HTTP to every host, without trying HTTPS
	// first: a registry configured by an http:// URL.
	PlainHTTP bool
	// TLS, when set, is the default client's TLS configuration (a private
	// CA, a client certificate); Insecure still skips verification.
	TLS *tls.Config
	// Dial, when set, makes every connection of the default client
	// (redirects and token realms included), and proxies from the
	// environment are not used: a guard such as netguard.Policy.Dialer
	// then sees the real destination of every request. Its refusals
	// (errdef.ErrDenied) are not retried.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Defaults applied by New.
const (
	defaultUserAgent  = "stevedore"
	defaultMaxRetries = 4
)

// NewClient returns the client New uses when Options.Client is nil, for a
// caller that shares one across repositories so their connections are
// reused. It honours Insecure, TLS and Dial. It has no overall timeout: blobs may
// take long to stream, and callers bound operations with their context.
func NewClient(opts Options) *http.Client {
	return newDefaultClient(opts.Insecure, opts.TLS, opts.Dial)
}

// newDefaultClient is NewClient.
func newDefaultClient(insecure bool, tlsConfig *tls.Config, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	proxy := http.ProxyFromEnvironment
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	} else {
		proxy = nil
	}
	t := &http.Transport{
		Proxy:                 proxy,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Generous: a registry may hash a large blob before answering its PUT.
		ResponseHeaderTimeout: 2 * time.Minute,
	}
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	if insecure {
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // the caller asked for it
	}
	return &http.Client{Transport: t}
}

// withSafeRedirects returns a copy of c whose redirects to another host drop
// the Authorization header. Blob GETs are commonly redirected to object
// storage, which must not see the registry token (and S3 rejects requests
// carrying one). net/http already drops it across domains but keeps it for
// subdomains and other ports of the same host.
func withSafeRedirects(c *http.Client) *http.Client {
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && req.URL.Host != via[0].URL.Host {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}
