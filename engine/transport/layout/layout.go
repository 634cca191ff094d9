// Package layout is the oci: transport: an OCI image layout directory read and
// written through the filesystem store (image-spec v1.1.1 image-layout.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md).
package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Layout is one OCI layout as a transport source and target. It holds no
// state beyond the store, which reads the directory afresh on every call.
type Layout struct {
	fs *store.FS
}

var (
	_ transport.Source       = (*Layout)(nil)
	_ transport.RangeFetcher = (*Layout)(nil)
	_ transport.TagLister    = (*Layout)(nil)
	_ transport.BlobStatter  = (*Layout)(nil)
	_ transport.Target       = (*Layout)(nil)
)

// New returns the transport over fs.
func New(fs *store.FS) *Layout { return &Layout{fs: fs} }

// Resolve turns ref into a manifest descriptor: a tag through index.json, a
// digest through the blob it names, and "" to the layout's only root.
func (l *Layout) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	if ref == "" {
		return l.resolveOnly(ctx)
	}
	if alg, _, ok := strings.Cut(ref, ":"); ok && digest.Algorithm(alg).Available() {
		return l.resolveDigest(ctx, digest.Digest(ref))
	}
	return l.fs.Resolve(ctx, ref)
}

// resolveOnly returns the single root of a layout that holds one image, which
// is what skopeo's untagged oci:DIR means too.
func (l *Layout) resolveOnly(ctx context.Context) (oci.Descriptor, error) {
	roots, err := l.fs.Roots(ctx)
	if err != nil {
		return oci.Descriptor{}, err
	}
	switch len(roots) {
	case 1:
		return roots[0], nil
	case 0:
		return oci.Descriptor{}, fmt.Errorf("layout %s holds no images: %w", l.fs.Dir(), errdef.ErrNotFound)
	}
	tags, err := l.fs.Tags(ctx)
	if err != nil {
		return oci.Descriptor{}, err
	}
	return oci.Descriptor{}, fmt.Errorf("layout %s holds %d images; name one as oci:%s:TAG or @DIGEST (tags: %s): %w",
		l.fs.Dir(), len(roots), l.fs.Dir(), strings.Join(tags, ", "), errdef.ErrInvalid)
}

// resolveDigest describes the manifest stored under d. index.json's entry is
// used when d is a root, since it may carry a platform and annotations;
// otherwise the blob is read, bounded and verified, for its media type.
func (l *Layout) resolveDigest(ctx context.Context, d digest.Digest) (oci.Descriptor, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return oci.Descriptor{}, err
	}
	roots, err := l.fs.Roots(ctx)
	if err != nil {
		return oci.Descriptor{}, err
	}
	for _, r := range roots {
		if r.Digest == d && r.MediaType != "" {
			return r, nil
		}
	}
	rc, size, err := l.fs.Open(ctx, d)
	if err != nil {
		return oci.Descriptor{}, err
	}
	defer rc.Close()
	raw, err := oci.ReadAllVerified(rc, d, size, oci.DefaultManifestLimit)
	if err != nil {
		return oci.Descriptor{}, err
	}
	m, err := oci.ParseManifest("", raw)
	if err != nil {
		return oci.Descriptor{}, fmt.Errorf("%s is not a manifest: %w", d, err)
	}
	return oci.Descriptor{MediaType: m.MediaType, Digest: d, Size: size, ArtifactType: m.ArtifactType}, nil
}

// Fetch streams desc's blob, verified at EOF against desc's digest and size
// (a negative size checks the digest only).
func (l *Layout) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	rc, _, err := l.fs.Open(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	return readCloser{oci.NewVerifyReader(rc, desc.Digest, desc.Size), rc}, nil
}

// FetchRange streams length bytes (< 0: the rest) of desc's blob from offset,
// unverified, as a range cannot be.
func (l *Layout) FetchRange(ctx context.Context, desc oci.Descriptor, offset, length int64) (io.ReadCloser, error) {
	rc, size, err := l.fs.Open(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > size {
		rc.Close()
		return nil, fmt.Errorf("offset %d outside the %d byte blob %s: %w", offset, size, desc.Digest, errdef.ErrInvalid)
	}
	if _, err := rc.Seek(offset, io.SeekStart); err != nil {
		rc.Close()
		return nil, err
	}
	if length < 0 {
		return rc, nil
	}
	return readCloser{io.LimitReader(rc, length), rc}, nil
}

// Tags lists the layout's tags in lexical order.
func (l *Layout) Tags(ctx context.Context) ([]string, error) { return l.fs.Tags(ctx) }

// StatBlob returns d's digest and size; the layout does not record media types
// of blobs.
func (l *Layout) StatBlob(ctx context.Context, d digest.Digest) (oci.Descriptor, error) {
	size, err := l.fs.Stat(ctx, d)
	if err != nil {
		return oci.Descriptor{}, err
	}
	return oci.Descriptor{Digest: d, Size: size}, nil
}

// Exists reports whether desc's blob is stored.
func (l *Layout) Exists(ctx context.Context, desc oci.Descriptor) (bool, error) {
	_, err := l.fs.Stat(ctx, desc.Digest)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errdef.ErrNotFound):
		return false, nil
	}
	return false, err
}

// Push stores r as desc's blob, verified; manifests are blobs too.
func (l *Layout) Push(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	return l.fs.Put(ctx, desc, r)
}

// Tag records tag for the manifest desc in index.json.
func (l *Layout) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	return l.fs.Tag(ctx, desc, tag)
}

// readCloser reads through r and closes c, the file underneath.
type readCloser struct {
	io.Reader
	io.Closer
}

// Close releases the layout directory (see store.FS.Close).
func (l *Layout) Close() error { return l.fs.Close() }

// Untag removes tag from index.json; the manifest stays.
func (l *Layout) Untag(ctx context.Context, tag string) error { return l.fs.Untag(ctx, tag) }

// DeleteManifest removes manifest d, its index.json entries and its blob.
func (l *Layout) DeleteManifest(ctx context.Context, d digest.Digest) error {
	return l.fs.DeleteManifest(ctx, d)
}
