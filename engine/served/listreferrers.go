package served

import (
	"context"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// ListReferrers lists the manifests of repository name (open as repo) whose
// subject is subject, as the descriptors the referrers API returns: media
// type, digest, size, artifactType (the config's media type when the
// manifest has none) and annotations. The referrers index is only an index:
// an entry whose manifest is gone or names another subject is left out.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
func ListReferrers(ctx context.Context, refs Referrers, name string, repo store.Store, subject digest.Digest) ([]oci.Descriptor, error) {
	ds, err := refs.Referrers(ctx, name, subject)
	if err != nil {
		return nil, err
	}
	list := []oci.Descriptor{}
	for _, d := range ds {
		m, err := ReadManifest(ctx, repo, d.String())
		if err != nil || m.Subject == nil || m.Subject.Digest != subject {
			continue // deleted since, or unreadable: not a referrer to report
		}
		list = append(list, transport.ReferrerDescriptor(oci.Descriptor{Digest: d, Size: int64(len(m.Raw))}, m))
	}
	return list, nil
}
