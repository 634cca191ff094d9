package transport

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// FetchAll reads desc's content whole, at most limit bytes (<= 0 means
// oci.DefaultManifestLimit). It is for manifests and configs only: layers are
// streamed, never read whole. Fetch verifies the bytes.
func FetchAll(ctx context.Context, src Source, desc oci.Descriptor, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = oci.DefaultManifestLimit
	}
	if desc.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, over the %d byte limit: %w", desc.Digest, desc.Size, limit, errdef.ErrTooLarge)
	}
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return oci.ReadAllLimited(rc, limit)
}

// FetchManifest reads and parses the manifest desc describes, keeping the
// digest it was addressed by.
func FetchManifest(ctx context.Context, src Source, desc oci.Descriptor, limit int64) (*oci.Manifest, error) {
	raw, err := FetchAll(ctx, src, desc, limit)
	if err != nil {
		return nil, err
	}
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return nil, err
	}
	m.Digest = desc.Digest
	return m, nil
}

// FetchPlatformManifest fetches the image manifest index lists for want:
// its first entry whose platform matches (oci.PlatformMatches), which must
// be an image manifest, not another index.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func FetchPlatformManifest(ctx context.Context, src Source, index *oci.Manifest, want oci.Platform, limit int64) (*oci.Manifest, error) {
	d, ok := oci.ChoosePlatform(index, want)
	if !ok {
		return nil, fmt.Errorf("index %s has no manifest for platform %s: %w", index.Digest, oci.PlatformString(&want), errdef.ErrNotFound)
	}
	m, err := FetchManifest(ctx, src, d, limit)
	if err != nil {
		return nil, err
	}
	if m.IsIndex() {
		return nil, fmt.Errorf("index %s: platform entry %s is itself an index: %w", index.Digest, m.Digest, errdef.ErrUnsupported)
	}
	return m, nil
}
