package artifact

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// DiscoverOptions filter and bound Discover.
type DiscoverOptions struct {
	// ArtifactType keeps only referrers of this type, at every depth (as
	// `oras discover --artifact-type` does); empty keeps all.
	ArtifactType string
	// MaxDepth bounds how many levels of referrers of referrers are listed;
	// <= 0 means 8. Deeper ones are left out, not an error.
	MaxDepth int
}

// defaultMaxDepth matches the copy's bound on referrer chains.
const defaultMaxDepth = 8

// Node is a manifest and the manifests that refer to it.
type Node struct {
	oci.Descriptor
	// Referrers are the manifests whose subject is this one.
	Referrers []*Node `json:"referrers,omitempty"`
}

// Discover lists the referrers of the manifest id names in src as a tree:
// the root is the subject, its children its referrers, theirs below them.
// Referrers come from the source's listing (the registry's referrers API or
// tag schema index; an OCI layout's index.json); legacy cosign tags, which
// are not referrers by subject, are left out.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
func Discover(ctx context.Context, src transport.Source, id string, opts DiscoverOptions) (*Node, error) {
	lister, ok := src.(transport.ReferrerLister)
	if !ok {
		return nil, &Error{Op: "discover", Name: id, Err: fmt.Errorf("this transport cannot list referrers: %w", errdef.ErrUnsupported)}
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = defaultMaxDepth
	}
	d, err := src.Resolve(ctx, id)
	if err != nil {
		return nil, &Error{Op: "discover", Name: id, Err: err}
	}
	root := &Node{Descriptor: oci.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: d.ArtifactType}}
	seen := map[digest.Digest]bool{d.Digest: true}
	if err := discover(ctx, lister, root, opts, seen, 0); err != nil {
		return nil, &Error{Op: "discover", Name: id, Err: err}
	}
	return root, nil
}

// discover fills n's referrers, depth levels below the subject. seen stops
// a tag schema index that (wrongly or maliciously) loops.
func discover(ctx context.Context, lister transport.ReferrerLister, n *Node, opts DiscoverOptions, seen map[digest.Digest]bool, depth int) error {
	if depth >= opts.MaxDepth {
		return nil
	}
	refs, err := lister.Referrers(ctx, n.Descriptor)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if _, legacy := r.Annotations[transport.AnnotationLegacyTag]; legacy || seen[r.Digest] {
			continue
		}
		if opts.ArtifactType != "" && r.ArtifactType != opts.ArtifactType {
			continue
		}
		seen[r.Digest] = true
		c := &Node{Descriptor: r}
		if err := discover(ctx, lister, c, opts, seen, depth+1); err != nil {
			return err
		}
		n.Referrers = append(n.Referrers, c)
	}
	return nil
}
