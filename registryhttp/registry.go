package registryhttp

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// Registry is the OCI distribution handler over a served.Backend: a data
// directory, or a bucket several replicas share.
type Registry struct {
	root served.Backend
	log  *zap.Logger
	opts Options
}

// Options configure NewBackend. The zero value serves every blob through the
// process.
type Options struct {
	// BlobRedirect answers a blob GET with a 307 to a short-lived URL the
	// storage signs, when the repository offers one (served.BlobLocator), so
	// the bytes go from the object store to the client directly.
	BlobRedirect bool
	// Proxy, when set, answers first for the repositories under its
	// upstreams' prefixes (a pull-through cache).
	Proxy *Proxy
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
	var err error
	func() {
		// A bug must cost one request, not the process.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		err = reg.route(w, r)
	}()
	// An error after the response started (a client gone mid-download) can
	// only be logged.
	late := err != nil && rw.wrote
	if err != nil && !late {
		writeError(w, r, err)
	}
	fields := []zap.Field{
		zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.Int("status", rw.status), zap.Int64("bytes", rw.n), zap.Duration("duration", time.Since(start)),
	}
	if rw.status >= 500 || late {
		reg.log.Error("registry request", append(fields, zap.Error(err))...)
	} else {
		reg.log.Info("registry request", fields...)
	}
}

// route dispatches on route.Parse, the parser the auth layer checks
// permissions with too.
func (reg *Registry) route(w http.ResponseWriter, r *http.Request) error {
	rt, err := route.Parse(r.URL.Path)
	if err != nil {
		return errNameInvalid.withMessage(err.Error())
	}
	if reg.opts.Proxy != nil {
		if handled, err := reg.opts.Proxy.serve(w, r, rt); handled {
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
	return errNotFound
}

// allow refuses methods the endpoint does not have.
func allow(r *http.Request, methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	return errMethod.withMessage(r.Method + " is not supported here")
}

// repo opens the existing repository name; one never pushed to is
// NAME_UNKNOWN.
func (reg *Registry) repo(r *http.Request, name string) (served.Repository, error) {
	fs, err := reg.root.Repo(r.Context(), name)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, errNameUnknown.withMessage("repository " + name + " not known to registry")
	}
	return fs, err
}

// statusWriter records the status and body size for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
	wrote  bool
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
	return n, err
}

// ReadFrom keeps the zero-copy path (sendfile) of the underlying writer.
func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	s.wrote = true
	n, err := io.Copy(s.ResponseWriter, src)
	s.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
