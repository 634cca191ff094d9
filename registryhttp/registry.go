package registryhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// Registry is the OCI distribution handler over a served.Backend: a data
// directory, or a bucket several replicas share.
type Registry struct {
	root      served.Backend
	log       *zap.Logger
	opts      Options
	uploads   admission
	repos     repoCache
	manifests manifestCache
}

// Options configure NewBackend. The zero value serves every blob through the
// process.
type Options struct {
	// BlobRedirect answers a blob GET with a 307 to a short-lived URL the
	// storage signs, when the repository offers one (served.BlobLocator), so
	// the bytes go from the object store to the client directly.
	BlobRedirect bool
	// Limits bound slow and greedy clients; the zero value limits nothing.
	Limits Limits
	// Pulls, when set, is told of every manifest GET and HEAD, before the
	// manifest is read (retention's last-pull times).
	Pulls PullRecorder
	// Proxy, when set, answers first for the repositories under its
	// upstreams' prefixes (a pull-through cache).
	Proxy *Proxy
}

// PullRecorder notes manifest pulls (engine/retention.PullLog). A pull that
// finds nothing is undone with forget, so that unknown names never grow
// the record.
type PullRecorder interface {
	RecordPull(repo, ref string) (forget func())
}

// New returns the handler serving the repositories of the data directory
// dataDir (see served.Root for its layout), creating it if needed. log
// receives one line per request; nil discards them.
func New(dataDir string, log *zap.Logger) (*Registry, error) {
	root, err := served.OpenRoot(dataDir)
	if err != nil {
		return nil, fmt.Errorf("registry data directory: %w", err)
	}
	return NewBackend(root.Backend(), log, Options{}), nil
}

// NewBackend returns the handler serving the repositories of b. log receives
// one line per request; nil discards them.
func NewBackend(b served.Backend, log *zap.Logger, opts Options) *Registry {
	if log == nil {
		log = zap.NewNop()
	}
	return &Registry{root: b, log: log, opts: opts}
}

// Backend returns the storage the registry serves, so that other parts of the
// same process (metrics, upload expiry, the collector) share it.
func (reg *Registry) Backend() served.Backend { return reg.root }

// ServeHTTP routes a distribution-spec request.
// distribution-spec v1.1.1 §Endpoints:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	w = rw
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	rt, perr := route.Parse(r.URL.Path)
	e := endpointOf(rt, r.Method)
	var err error
	func() {
		// A bug must cost one request, not the process.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		release, aerr := reg.admit(w, r, e)
		defer release()
		if aerr != nil {
			err = aerr
			return
		}
		err = reg.route(w, r, rt, perr)
	}()
	gone := clientGone(r, err, rw.writeErr)
	// An error after the response started (a client gone mid-download) can
	// only be logged.
	late := err != nil && rw.wrote
	if err != nil && !late && !gone {
		writeError(w, r, e, err)
	}
	status := rw.status
	if gone {
		// Nobody reads the answer: 499, as nginx logs a client that closed
		// the connection, and never a 5xx of ours.
		status = statusClientGone
		markClientGone(w)
	}
	level, msg := zapcore.InfoLevel, "registry request"
	switch {
	case gone:
		msg = "registry request: client went away"
	case status == http.StatusInternalServerError || late:
		level = zapcore.ErrorLevel
	case status >= 500:
		// Overloaded or out of space: the server's state, not a fault.
		level = zapcore.WarnLevel
	}
	// Fields are built only for a line that is written: at --log-level warn
	// a request costs no allocation here.
	if ce := reg.log.Check(level, msg); ce != nil {
		fields := []zap.Field{
			zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", status), zap.Int64("bytes", rw.n), zap.Duration("duration", time.Since(start)),
		}
		if err != nil {
			fields = append(fields, zap.Error(err))
		}
		ce.Write(fields...)
	}
}

// statusClientGone is the status logged and counted for a request whose
// client went away before its answer: nginx's 499.
const statusClientGone = 499

// route dispatches on route.Parse, the parser the auth layer checks
// permissions with too.
func (reg *Registry) route(w http.ResponseWriter, r *http.Request, rt route.Route, perr error) error {
	if perr != nil {
		return fail(classNameInvalid, perr.Error())
	}
	if reg.opts.Proxy != nil {
		// A manifest the cache serves is a pull like any other (retention's
		// keepPulledWithin); one it passes on is recorded by routeManifest.
		forget := func() {}
		if reg.opts.Pulls != nil && rt.Kind == route.Manifest && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			forget = reg.opts.Pulls.RecordPull(rt.Name, rt.Ref)
		}
		handled, err := reg.opts.Proxy.serve(w, r, rt)
		if !handled || err != nil {
			forget()
		}
		if handled {
			return err
		}
	}
	switch rt.Kind {
	case route.Base:
		if err := allow(r, http.MethodGet, http.MethodHead); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
		return nil
	case route.Catalog:
		if err := allow(r, http.MethodGet); err != nil {
			return err
		}
		return reg.getCatalog(w, r)
	case route.Upload:
		return reg.routeUpload(w, r, rt.Name, rt.Ref)
	case route.Tags:
		if err := allow(r, http.MethodGet); err != nil {
			return err
		}
		return reg.getTags(w, r, rt.Name)
	case route.Manifest:
		return reg.routeManifest(w, r, rt.Name, rt.Ref)
	case route.Blob:
		return reg.routeBlob(w, r, rt.Name, rt.Ref)
	case route.Referrers:
		if err := allow(r, http.MethodGet); err != nil {
			return err
		}
		return reg.getReferrers(w, r, rt.Name, rt.Ref)
	}
	return fail(classNotFound, "404 page not found: "+r.URL.Path+" is not a distribution API path")
}

// allow refuses methods the endpoint does not have.
func allow(r *http.Request, methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	return fail(classMethod, r.Method+" is not supported here")
}

// repo opens the existing repository name; one never pushed to is
// NAME_UNKNOWN.
func (reg *Registry) repo(r *http.Request, name string) (served.Repository, error) {
	fs, err := reg.openRepo(r.Context(), name)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fail(classNameUnknown, "repository "+name+" not known to registry")
	}
	return fs, err
}

// statusWriter records the status and body size for the request log, and
// the first failed write: the client is gone.
type statusWriter struct {
	http.ResponseWriter
	status   int
	n        int64
	wrote    bool
	writeErr error
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status = code
		s.wrote = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.wrote = true
	n, err := s.ResponseWriter.Write(p)
	s.n += int64(n)
	if err != nil && s.writeErr == nil {
		s.writeErr = err
	}
	return n, err
}

// ReadFrom keeps the zero-copy path (sendfile) of the underlying writer.
func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	s.wrote = true
	n, err := io.Copy(s.ResponseWriter, src)
	s.n += n
	if err != nil && s.writeErr == nil && isConnError(err) {
		s.writeErr = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// isConnError reports whether err is the connection failing under a write,
// as opposed to the source of a copy failing to read: the client reset or
// closed it, or stopped reading until the write deadline passed.
func isConnError(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, http.ErrHandlerTimeout) || errors.Is(err, context.Canceled)
}

// markClientGone tells the metrics wrapper, wherever it is in the chain of
// writers, that the request's client went away.
func markClientGone(w http.ResponseWriter) {
	for w != nil {
		if m, ok := w.(*meteredWriter); ok {
			m.gone = true
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
