package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// OpenTarget returns a Target for the repository or layout ref names. An
// oci: layout is created if it does not exist yet, as skopeo and oras do.
func (e *Engine) OpenTarget(ctx context.Context, ref transport.Ref) (transport.Target, error) {
	switch ref.Transport {
	case transport.Docker:
		return registry.New(ref.Image.Registry, ref.Image.Repository, e.opts.Registry), nil
	case transport.OCI:
		fs, err := store.CreateFS(ref.Path)
		if err != nil {
			return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
		}
		return layout.New(fs), nil
	default:
		return nil, &Error{Op: "open", Ref: ref.String(), Err: fmt.Errorf("writing to transport %s: %w", ref.Transport, errdef.ErrUnsupported)}
	}
}
