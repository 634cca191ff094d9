package copy

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// maxReferrerDepth bounds referrer chains (a signature of an SBOM of an
// image is three deep); a longer chain is most likely a cycle of tags.
const maxReferrerDepth = 8

// copyReferrers copies the referrers of every manifest of the graph below
// root, then theirs, after their subjects: a registry accepts a manifest
// whose subject is missing, but a reader of the target could then find a
// referrer without its subject. Legacy cosign tags are re-created at the
// target; an untagged referrer is recorded as a root where the target keeps
// a list (an OCI layout's index.json is where oras and skopeo look).
//
// distribution-spec v1.1.1 §Listing referrers and §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
func (c *copier) copyReferrers(ctx context.Context, root *node) error {
	lister, ok := c.src.(transport.ReferrerLister)
	if !ok {
		return nil
	}
	var subjects []oci.Descriptor
	seen := map[digest.Digest]bool{}
	var collect func(n *node)
	collect = func(n *node) {
		if seen[n.desc.Digest] {
			return
		}
		seen[n.desc.Digest] = true
		subjects = append(subjects, n.desc)
		for _, ch := range n.children {
			collect(ch)
		}
	}
	collect(root)
	return c.referrersOf(ctx, lister, subjects, seen, 0)
}

// referrersOf copies the referrers of subjects, depth levels down.
func (c *copier) referrersOf(ctx context.Context, lister transport.ReferrerLister, subjects []oci.Descriptor, seen map[digest.Digest]bool, depth int) error {
	if len(subjects) == 0 {
		return nil
	}
	if depth >= maxReferrerDepth {
		return srcErr(subjects[0], fmt.Errorf("referrers nested more than %d deep: %w", maxReferrerDepth, errdef.ErrUnsupported))
	}
	var next []oci.Descriptor
	for _, s := range subjects {
		refs, err := lister.Referrers(ctx, s)
		if err != nil {
			return srcErr(s, err)
		}
		for _, r := range refs {
			tag := r.Annotations[transport.AnnotationLegacyTag]
			d := oci.Descriptor{MediaType: r.MediaType, Digest: r.Digest, Size: r.Size, ArtifactType: r.ArtifactType}
			if seen[d.Digest] && tag == "" {
				continue
			}
			if err := c.copyReferrer(ctx, d, tag); err != nil {
				return err
			}
			if !seen[d.Digest] {
				seen[d.Digest] = true
				next = append(next, d)
			}
		}
	}
	return c.referrersOf(ctx, lister, next, seen, depth+1)
}

// copyReferrer copies one referrer's graph and records it at the target.
func (c *copier) copyReferrer(ctx context.Context, d oci.Descriptor, tag string) error {
	n, err := c.walk(ctx, d, nil, 0)
	if err != nil {
		return err
	}
	if err := c.copyBlobs(ctx, n); err != nil {
		return err
	}
	if err := c.pushManifest(ctx, n, ""); err != nil {
		return err
	}
	c.referrers.Add(1)
	switch ra, ok := c.dst.(rootAdder); {
	case tag != "":
		err = c.dst.Tag(ctx, d, tag)
	case ok:
		err = ra.AddRoot(ctx, d)
	}
	if err != nil {
		return dstErr(d, err)
	}
	return nil
}
