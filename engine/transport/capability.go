package transport

import (
	"context"
	"io"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Committer is implemented by targets that assemble their content in private
// and publish it whole (archives): nothing a copy writes is visible until
// Commit, and Abort throws it away. A copy calls exactly one of them, last.
type Committer interface {
	// Commit publishes what was pushed and tagged.
	Commit(ctx context.Context) error
	// Abort discards what was pushed; it is safe after a failed Commit.
	Abort() error
}

// ReferrerLister is implemented by sources that can say which manifests
// refer to another.
type ReferrerLister interface {
	// Referrers lists the manifests whose subject is desc (OCI 1.1
	// referrers), plus legacy cosign tags (sha256-<hex>.sig, .att, .sbom),
	// which carry AnnotationLegacyTag. None is an empty list, not an error.
	Referrers(ctx context.Context, desc oci.Descriptor) ([]oci.Descriptor, error)
}

// AnnotationLegacyTag marks a descriptor returned by Referrers that was found
// by a legacy tag rather than by subject: the copy re-creates the tag at the
// target. It is stevedore's own and never written to a manifest.
const AnnotationLegacyTag = "dev.stevedore.legacy-tag"

// Mounter is implemented by targets that can take a blob from another
// repository of the same registry without transferring it.
type Mounter interface {
	// Mount asks for desc to be linked from repository from; false means
	// the target declined (it then wants a normal upload), not an error.
	Mount(ctx context.Context, desc oci.Descriptor, from string) (bool, error)
}

// ResumablePusher is implemented by targets that can upload a blob in
// chunks and, when the connection fails, carry on from what the target
// acknowledged rather than from the start.
type ResumablePusher interface {
	// PushResumable uploads desc's content in chunks of chunkSize bytes
	// (<= 0: the target's default). open returns the content from offset
	// (0 first, then wherever a resume starts); a stream opened at 0 is
	// verified against desc.
	PushResumable(ctx context.Context, desc oci.Descriptor, chunkSize int64, open func(ctx context.Context, offset int64) (io.ReadCloser, error)) error
}
