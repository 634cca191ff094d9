// Package transport defines where images live — the Transport seam — and the
// skopeo-style reference syntax that picks one: docker://, oci:, oci-archive:,
// docker-archive:. Implementations live in subpackages.
package transport

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Source is a repository content can be read from.
type Source interface {
	// Resolve turns a tag or digest (as a string) into the descriptor of the
	// manifest it names. An empty ref means the only image of a source that
	// holds exactly one (an OCI layout), and is an error elsewhere.
	Resolve(ctx context.Context, ref string) (oci.Descriptor, error)
	// Fetch streams the content desc describes. The stream is verified against
	// desc: reading it to the end fails with a *oci.VerifyError instead of
	// io.EOF when digest or size do not match.
	Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error)
}

// RangeFetcher is implemented by sources that can read part of a blob.
// Partial reads cannot be verified; callers that need integrity read whole.
type RangeFetcher interface {
	// FetchRange streams length bytes of desc's content from offset;
	// length < 0 means to the end.
	FetchRange(ctx context.Context, desc oci.Descriptor, offset, length int64) (io.ReadCloser, error)
}

// TagLister is implemented by sources that can list their tags.
type TagLister interface {
	// Tags lists every tag of the repository, in the order the source gives.
	Tags(ctx context.Context) ([]string, error)
}

// Target is a repository content can be written to.
type Target interface {
	// Exists reports whether the content desc describes is already present.
	Exists(ctx context.Context, desc oci.Descriptor) (bool, error)
	// Push writes r as desc's content, verifying it; a manifest is pushed by
	// digest, then tagged with Tag.
	Push(ctx context.Context, desc oci.Descriptor, r io.Reader) error
	// Tag points tag at the manifest desc, which must already be pushed.
	Tag(ctx context.Context, desc oci.Descriptor, tag string) error
}

// BlobStatter is implemented by sources that can report a blob's size without
// reading it.
type BlobStatter interface {
	// StatBlob returns the descriptor (digest and size; media type if known)
	// of a blob, or an error matching errdef.ErrNotFound.
	StatBlob(ctx context.Context, d digest.Digest) (oci.Descriptor, error)
}
