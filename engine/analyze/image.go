package analyze

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
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
	want := opts.Platform
	if want == "" {
		want = "linux/" + runtime.GOARCH
	}
	parts := strings.Split(want, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("platform %q: want os/arch[/variant]: %w", want, errdef.ErrInvalid)
	}
	for _, d := range m.Manifests {
		p := d.Platform
		if p == nil || p.OS != parts[0] || p.Architecture != parts[1] || (len(parts) == 3 && p.Variant != parts[2]) {
			continue
		}
		child, err := transport.FetchManifest(ctx, src, d, opts.ManifestLimit)
		if err != nil {
			return nil, err
		}
		if child.IsIndex() {
			return nil, fmt.Errorf("index %s: platform entry %s is itself an index: %w", m.Digest, child.Digest, errdef.ErrUnsupported)
		}
		return child, nil
	}
	return nil, fmt.Errorf("index %s has no manifest for platform %s: %w", m.Digest, want, errdef.ErrNotFound)
}
