// Package store defines the Store seam — content-addressed blob storage plus
// tags — and its filesystem implementation, an OCI image layout
// (image-spec v1.1.1 image-layout.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md).
//
// The directory is the only truth: no in-memory index is kept that could
// diverge from what is on disk.
package store

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Store holds the blobs and tags of one image layout. Manifests are blobs too;
// tagging one records it as a root of the layout.
type Store interface {
	// Stat returns the size of a blob, or an error matching errdef.ErrNotFound.
	Stat(ctx context.Context, d digest.Digest) (int64, error)
	// Open returns the blob's bytes as stored, unverified, and its size; the
	// caller verifies full reads (oci.NewVerifyReader) and may Seek for ranges.
	Open(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, int64, error)
	// Put stores r as the blob desc describes, verifying digest and size while
	// writing; nothing partial is ever visible. A blob already present is left
	// alone and r is not read.
	Put(ctx context.Context, desc oci.Descriptor, r io.Reader) error
	// Resolve returns the descriptor tagged tag, or an error matching
	// errdef.ErrNotFound.
	Resolve(ctx context.Context, tag string) (oci.Descriptor, error)
	// Tag points tag at desc, which must already be stored, replacing any
	// previous target of the tag.
	Tag(ctx context.Context, desc oci.Descriptor, tag string) error
	// Tags lists the tags in lexical order.
	Tags(ctx context.Context) ([]string, error)
}
