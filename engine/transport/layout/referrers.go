package layout

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

var _ transport.ReferrerLister = (*Layout)(nil)

// Referrers lists the manifests of index.json whose subject is desc, and
// desc's legacy cosign tags. A layout has no referrers index of its own:
// oras and skopeo record a referrer pushed to a layout as an index.json
// entry, which is where this looks.
//
// image-spec v1.1.1 image-layout.md §index.json file:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (l *Layout) Referrers(ctx context.Context, desc oci.Descriptor) ([]oci.Descriptor, error) {
	roots, err := l.fs.Roots(ctx)
	if err != nil {
		return nil, err
	}
	return transport.ScanReferrers(ctx, l, roots, desc, oci.DefaultManifestLimit)
}
