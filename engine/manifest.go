package engine

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// GetManifest resolves ref and returns its manifest: the raw bytes exactly as
// stored, verified against the digest, with media type and decoded fields.
func (e *Engine) GetManifest(ctx context.Context, ref string) (*oci.Manifest, error) {
	r, err := transport.ParseRef(ref)
	if err != nil {
		return nil, &Error{Op: "get-manifest", Ref: ref, Err: err}
	}
	src, err := e.Open(ctx, r)
	if err != nil {
		return nil, err
	}
	m, err := e.resolveManifest(ctx, src, r.Identifier())
	if err != nil {
		return nil, &Error{Op: "get-manifest", Ref: r.String(), Err: err}
	}
	return m, nil
}

// resolveManifest resolves id in src and fetches the manifest it names.
func (e *Engine) resolveManifest(ctx context.Context, src transport.Source, id string) (*oci.Manifest, error) {
	desc, err := src.Resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	return e.fetchManifest(ctx, src, desc)
}

// fetchManifest reads (bounded, verified) and parses the manifest desc describes.
func (e *Engine) fetchManifest(ctx context.Context, src transport.Source, desc oci.Descriptor) (*oci.Manifest, error) {
	return transport.FetchManifest(ctx, src, desc, e.opts.ManifestLimit)
}

// fetchSmall reads a manifest or config whole, within the manifest limit.
func (e *Engine) fetchSmall(ctx context.Context, src transport.Source, desc oci.Descriptor) ([]byte, error) {
	return transport.FetchAll(ctx, src, desc, e.opts.ManifestLimit)
}
