package mutate

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Tag points each of tags at the manifest src names. dst must hold the
// manifest already: it is the same repository or layout, opened for
// writing (a tag in another repository is a copy). It returns the tagged
// manifest.
//
// distribution-spec v1.1.1 §Pushing manifests (a tag is a manifest PUT by tag):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func Tag(ctx context.Context, src Image, dst transport.Target, tags []string) (*Result, error) {
	desc, err := src.Src.Resolve(ctx, src.Ref)
	if err != nil {
		return nil, &Error{Op: "tag", Err: err}
	}
	if len(tags) == 0 {
		return nil, &Error{Op: "tag", Err: fmt.Errorf("no tag given: %w", errdef.ErrInvalid)}
	}
	ok, err := dst.Exists(ctx, desc)
	if err != nil {
		return nil, &Error{Op: "tag", Digest: desc.Digest, Err: err}
	}
	if !ok {
		return nil, &Error{Op: "tag", Digest: desc.Digest, Err: fmt.Errorf("the target does not hold %s; copy it there instead: %w", desc.Digest, errdef.ErrNotFound)}
	}
	desc.Annotations, desc.Platform = nil, nil
	for _, t := range tags {
		if err := dst.Tag(ctx, desc, t); err != nil {
			return nil, &Error{Op: "tag", Digest: desc.Digest, Err: fmt.Errorf("tag %q: %w", t, err)}
		}
	}
	return &Result{Digest: desc.Digest, MediaType: desc.MediaType, Size: desc.Size, Tag: tags[len(tags)-1], Source: desc.Digest}, nil
}
