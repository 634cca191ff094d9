package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/archive"
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
	case transport.OCIArchive:
		r, err := archive.OpenOCI(ref.Path)
		if err != nil {
			return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
		}
		return r, nil
	case transport.DockerArchive:
		path, name := dockerArchiveName(ref)
		r, err := archive.OpenDocker(path, name)
		if err != nil {
			return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
		}
		return r, nil
	default:
		return nil, &Error{Op: "open", Ref: ref.String(), Err: fmt.Errorf("transport %s: %w", ref.Transport, errdef.ErrUnsupported)}
	}
}

// dockerArchiveName splits docker-archive:FILE[:NAME[:TAG]] as skopeo does,
// at the first ':' (so FILE cannot hold one): what follows is a docker
// reference, which ParseRef's tag splitting would cut apart.
func dockerArchiveName(ref transport.Ref) (path, name string) {
	full := ref.Path
	if ref.Tag != "" {
		full += ":" + ref.Tag
	}
	path, name, _ = strings.Cut(full, ":")
	return path, name
}
