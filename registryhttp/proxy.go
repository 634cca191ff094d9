package registryhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/engine/cache"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// Proxy answers for the repositories a pull-through cache serves (see
// engine/cache): the registry consults it first for every request under an
// upstream's prefix. It answers manifest GETs and HEADs (tags revalidated,
// misses fetched), blob misses (streamed as they arrive), tag lists and
// referrers from the upstream, and refuses pushes; what the store holds is
// left to the registry's own handlers (Range, sendfile, deletes).
//
// Blob fills run in goroutines of the Proxy, so that they outlive the
// request that started them; Close ends them.
type Proxy struct {
	c   *cache.Cache
	log *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewProxy returns the hook serving c's repositories. log receives a line
// per stale answer and per failed fill; nil discards them.
func NewProxy(c *cache.Cache, log *zap.Logger) *Proxy {
	if log == nil {
		log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Proxy{c: c, log: log, ctx: ctx, cancel: cancel}
}

// Cache returns the cache the proxy serves (for its metrics).
func (p *Proxy) Cache() *cache.Cache { return p.c }

// Close stops the fills in progress (their readers get an error, nothing
// partial is stored) and waits for them.
func (p *Proxy) Close() {
	p.cancel()
	p.wg.Wait()
}

// WithNamespace lets next serve containerd's mirror requests: a request
// whose ns= query parameter names an upstream (its prefix, a URL's host, or
// docker.io for Docker Hub) is served as the repository under that
// upstream's prefix, /v2/library/alpine/...?ns=docker.io as
// /v2/docker.io/library/alpine/.... It belongs outside authentication, so
// that permissions are checked on the repository actually served.
//
// containerd hosts.toml (mirrors get ?ns=<registry host>):
// https://github.com/containerd/containerd/blob/v2.0.0/docs/hosts.md
func (p *Proxy) WithNamespace(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ns := r.URL.Query().Get("ns")
		prefix, ok := "", false
		if ns != "" {
			prefix, ok = p.c.ForNamespace(ns)
		}
		if rest, isAPI := strings.CutPrefix(r.URL.Path, "/v2/"); ok && isAPI && rest != "" && rest != "_catalog" {
			r2 := *r
			u := *r.URL
			u.Path, u.RawPath = "/v2/"+prefix+"/"+rest, ""
			r2.URL = &u
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// Prefetch lets next, a PullPolicy, judge what the cache would serve: a
// manifest GET under an upstream's prefix first brings the manifest and
// what verifying it reads (cache.Verifiable: referrers, legacy signature
// tags, their blobs) into the store, so the policy finds the upstream's
// image and its signatures rather than nothing (which it lets through, for
// the registry to answer 404). It belongs inside authentication, so that
// only callers allowed to pull make the cache fetch.
func (p *Proxy) Prefetch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ref, ok := manifestPull(r); ok && !strings.HasPrefix(ref, "sha256-") {
			if _, _, under := p.c.Route(name); under && (isDigestRef(ref) || served.ValidateTag(ref) == nil) {
				// Failures are the request's to meet, and answer.
				_, _ = p.c.Verifiable(r.Context(), name, ref)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// serve answers rt when it is a repository under an upstream's prefix and
// a request the cache handles; handled is false to let the registry serve
// it from the store.
func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, rt route.Route) (handled bool, err error) {
	switch rt.Kind {
	case route.Manifest, route.Blob, route.Upload, route.Tags, route.Referrers:
	default:
		return false, nil
	}
	_, _, ok := p.c.Route(rt.Name)
	if !ok {
		return false, nil
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case rt.Kind == route.Upload || rt.Kind == route.Manifest && r.Method == http.MethodPut:
		return true, p.c.Writable(rt.Name)
	case rt.Kind == route.Manifest && read:
		return p.manifest(w, r, rt.Name, rt.Ref)
	case rt.Kind == route.Blob && read:
		return p.blob(w, r, rt.Name, rt.Ref)
	case rt.Kind == route.Tags && r.Method == http.MethodGet:
		return true, p.tags(w, r, rt.Name)
	case rt.Kind == route.Referrers && r.Method == http.MethodGet:
		return p.referrers(w, r, rt.Name, rt.Ref)
	}
	return false, nil // deletes, bad methods: the registry's answer
}

// manifest serves a manifest through the cache.
func (p *Proxy) manifest(w http.ResponseWriter, r *http.Request, name, ref string) (bool, error) {
	if isDigestRef(ref) {
		if _, err := parseDigest(ref); err != nil {
			return false, nil
		}
	} else if served.ValidateTag(ref) != nil {
		return false, nil
	}
	m, err := p.c.Manifest(r.Context(), name, ref)
	if err != nil {
		return true, p.upstreamError(err, fail(classNotFound, fmt.Sprintf("manifest %s unknown to %s or its upstream %s", ref, name, p.c.Describe(name))))
	}
	if m.Stale != nil {
		p.stale(w, name, ref, m.Stale)
	}
	return true, writeManifest(w, r, m.Manifest)
}

// blob serves a blob the store lacks as it arrives from the upstream.
//
// distribution-spec v1.1.1 §Pulling blobs:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func (p *Proxy) blob(w http.ResponseWriter, r *http.Request, name, ref string) (bool, error) {
	d, err := parseDigest(ref)
	if err != nil {
		return false, nil
	}
	unknown := fail(classNotFound, fmt.Sprintf("blob %s unknown to %s or its upstream %s", d, name, p.c.Describe(name)))
	h := w.Header()
	if r.Method == http.MethodHead {
		size, stored, err := p.c.StatBlob(r.Context(), name, d)
		switch {
		case err != nil:
			return true, p.upstreamError(err, unknown)
		case stored:
			return false, nil
		}
		h.Set("Docker-Content-Digest", d.String())
		h.Set("Content-Length", itoa(size))
		w.WriteHeader(http.StatusOK)
		return true, nil
	}
	s, fill, err := p.c.Blob(r.Context(), name, d)
	switch {
	case err != nil:
		return true, p.upstreamError(err, unknown)
	case s == nil:
		return false, nil // stored: the registry serves it
	}
	defer s.Close()
	if fill != nil {
		p.run(fill, name)
	}
	size, err := s.Size(r.Context())
	if err != nil {
		return true, p.upstreamError(err, unknown)
	}
	// The whole blob, even for a Range: a miss has nothing to seek in yet
	// (HTTP lets a server ignore Range and answer 200).
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Etag", `"`+d.String()+`"`)
	if size >= 0 {
		h.Set("Content-Length", itoa(size))
	}
	w.WriteHeader(http.StatusOK)
	if err := p.stream(w, s); err != nil {
		// Cut the connection: a body that merely ended short of an unknown
		// length would look complete.
		abort(w)
		return true, fmt.Errorf("streaming blob %s of %s from its upstream: %w", d, name, err)
	}
	return true, nil
}

// stream copies s to the client as its bytes arrive: each batch goes out
// by sendfile from the spool file where the connection allows, then is
// flushed, so the client gets bytes as the upstream sends them.
func (p *Proxy) stream(w http.ResponseWriter, s *cache.Stream) error {
	rc := http.NewResponseController(w)
	for {
		_, err := s.WriteAvailable(w)
		_ = rc.Flush()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// run starts a fill in a goroutine of the proxy's.
func (p *Proxy) run(f *cache.Fill, name string) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := f.Run(p.ctx); err != nil && p.ctx.Err() == nil {
			p.log.Warn("pull-through fill failed", zap.String("repository", name), zap.Error(err))
		}
	}()
}

// abort closes the client's connection mid-response.
func abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}

// tags lists the upstream's tags of name, or the store's when the upstream
// cannot be reached.
func (p *Proxy) tags(w http.ResponseWriter, r *http.Request, name string) error {
	tags, stale, err := p.c.Tags(r.Context(), name)
	if err != nil {
		return p.upstreamError(err, fail(classNameUnknown, fmt.Sprintf("repository %s unknown to its upstream %s", name, p.c.Describe(name))))
	}
	if stale != nil {
		p.stale(w, name, "tags", stale)
	}
	page, err := paginate(w, r, tags)
	if err != nil {
		return err
	}
	return writeJSON(w, r, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, page})
}

// referrers brings the store's referrers of the subject up to date with the
// upstream's; the registry then lists them.
func (p *Proxy) referrers(w http.ResponseWriter, r *http.Request, name, ref string) (bool, error) {
	d, err := parseDigest(ref)
	if err != nil {
		return false, nil
	}
	stale, err := p.c.Referrers(r.Context(), name, d)
	if err != nil {
		return true, p.upstreamError(err, nil)
	}
	if stale != nil {
		p.stale(w, name, "referrers of "+ref, stale)
	}
	return false, nil
}

// stale marks a response served from the cache because the upstream could
// not confirm it, and logs it.
//
// RFC 7234 §5.5.2 (Warning 111 "Revalidation Failed"):
// https://www.rfc-editor.org/rfc/rfc7234#section-5.5.2
func (p *Proxy) stale(w http.ResponseWriter, name, what string, why error) {
	p.log.Warn("upstream unreachable: serving from the cache", zap.String("repository", name), zap.String("reference", what), zap.Error(why))
	w.Header().Add("Warning", `111 stevedore "Revalidation Failed: served from the cache; `+warnText(why.Error())+`"`)
}

// warnText makes s a warn-text's content: printable ASCII, no quote or
// backslash, bounded.
func warnText(s string) string {
	b := make([]byte, 0, min(len(s), 400))
	for i := 0; i < len(s) && len(b) < 400; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			c = ' '
		}
		b = append(b, c)
	}
	return string(b)
}

// upstreamError maps what the cache returned to the registry's answer:
// notFound for what the upstream does not have (nil: the error itself),
// UNAVAILABLE (503) or TOOMANYREQUESTS (429) when the upstream could not
// answer, with the cause in the message: the client did nothing wrong, so
// they are not a 4xx of its own. Anything else (the store failing) stays
// itself.
func (p *Proxy) upstreamError(err error, notFound *regError) error {
	var ue *cache.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errdef.ErrNotFound) && notFound != nil:
		return notFound
	case !errors.As(err, &ue):
		return err
	case errors.Is(err, errdef.ErrTooManyRequests):
		return &regError{class: classBusy, msg: "upstream registry rate-limited this cache: " + err.Error(), retryAfter: 1}
	}
	return fail(classUpstreamDown, "upstream registry unavailable: "+err.Error())
}
