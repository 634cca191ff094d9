package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/archive"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// OpenTarget returns a Target for the repository, layout or archive ref
// names. An oci: layout is created if it does not exist yet, as skopeo and
// oras do. An archive target is a transport.Committer: nothing is written
// to its path until Commit, which replaces any file there.
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
	case transport.OCIArchive:
		w, err := archive.CreateOCI(ref.Path)
		if err != nil {
			return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
		}
		return w, nil
	case transport.DockerArchive:
		path, name := dockerArchiveName(ref)
		w, err := archive.CreateDocker(path, name)
		if err != nil {
			return nil, &Error{Op: "open", Ref: ref.String(), Err: err}
		}
		return w, nil
	default:
		return nil, &Error{Op: "open", Ref: ref.String(), Err: fmt.Errorf("writing to transport %s: %w", ref.Transport, errdef.ErrUnsupported)}
	}
}
