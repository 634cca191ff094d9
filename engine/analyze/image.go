package analyze

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// resolveImage resolves ref in src to an image manifest, choosing the
// platform's entry when ref names an index.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func resolveImage(ctx context.Context, src transport.Source, ref string, opts Options) (*oci.Manifest, error) {
	desc, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	m, err := transport.FetchManifest(ctx, src, desc, opts.ManifestLimit)
	if err != nil {
		return nil, err
	}
	if !m.IsIndex() {
		return m, nil
	}
	want := oci.DefaultPlatform()
	if opts.Platform != "" {
		if want, err = oci.ParsePlatform(opts.Platform); err != nil {
			return nil, err
		}
	}
	return transport.FetchPlatformManifest(ctx, src, m, want, opts.ManifestLimit)
}
