package engine

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// GetManifest resolves ref and returns its manifest: the raw bytes exactly as
// stored, verified against the digest, with media type and decoded fields.
func (e *Engine) GetManifest(ctx context.Context, ref transport.Ref) (m *oci.Manifest, err error) {
	err = e.read(ctx, "get-manifest", ref, func(src transport.Source) error {
		m, err = e.resolveManifest(ctx, src, ref.Identifier())
		return err
	})
	return m, err
}

// read opens ref for reading, runs fn with it and closes it; a failure is
// an *Error naming op and ref.
func (e *Engine) read(ctx context.Context, op string, ref transport.Ref, fn func(transport.Source) error) error {
	src, err := e.open(ctx, ref)
	if err == nil {
		err = fn(src)
		closeT(src)
	}
	if err != nil {
		return &Error{Op: op, Ref: ref.String(), Err: err}
	}
	return nil
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
