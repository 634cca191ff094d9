package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// Options configure an Engine. The zero value works: anonymous or
// config-file credentials, TLS for every host but loopback, 4 MiB manifests.
type Options struct {
	// Registry configures the registry client (credentials, TLS, retries).
	Registry registry.Options
	// ManifestLimit bounds manifest and config reads; <= 0 means oci.DefaultManifestLimit.
	ManifestLimit int64
}

// Engine runs stevedore's operations. It holds no open resources: every call
// opens what it needs and closes it before returning (streams excepted, which
// the caller closes).
type Engine struct {
	opts Options
}

// New returns an Engine.
func New(opts Options) *Engine {
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = oci.DefaultManifestLimit
	}
	return &Engine{opts: opts}
}

// Open returns a Source for the repository or layout ref names.
func (e *Engine) Open(ctx context.Context, ref transport.Ref) (transport.Source, error) {
	switch ref.Transport {
	case transport.Docker:
		return registry.New(ref.Image.Registry, ref.Image.Repository, e.opts.Registry), nil
	case transport.OCI:
		fs, err := store.OpenFS(ref.Path)
		if err != nil {
			return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
		}
		return layout.New(fs), nil
	default:
		return nil, &Error{Op: "open", Ref: ref.String(), Err: fmt.Errorf("transport %s: %w", ref.Transport, errdef.ErrUnsupported)}
	}
}
