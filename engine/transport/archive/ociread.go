package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// refNameAnnotation tags an index.json entry, the convention skopeo and
// oras share (image-spec v1.1.1 annotations.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md#pre-defined-annotation-keys).
const refNameAnnotation = "org.opencontainers.image.ref.name"

// OCIReader is an oci-archive read in place. It holds the archive file
// open until Close.
type OCIReader struct {
	ix    *tarIndex
	roots []oci.Descriptor // index.json's manifests
}

var (
	_ transport.Source         = (*OCIReader)(nil)
	_ transport.RangeFetcher   = (*OCIReader)(nil)
	_ transport.TagLister      = (*OCIReader)(nil)
	_ transport.BlobStatter    = (*OCIReader)(nil)
	_ transport.ReferrerLister = (*OCIReader)(nil)
)

// OpenOCI indexes the oci-archive f (named path in messages) and reads its
// index.json. The reader owns f from here on, and closes it on failure.
//
// image-spec v1.1.1 §oci-layout file and §index.json file:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#oci-layout-file
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func OpenOCI(f *os.File, path string) (_ *OCIReader, err error) {
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	ix, err := indexTar(f, path)
	if err != nil {
		return nil, err
	}
	lb, err := ix.readSmall("oci-layout", 64<<10)
	if err != nil {
		return nil, fmt.Errorf("%s is not an oci-archive: %w", path, err)
	}
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(lb, &l); err != nil || l.Version != "1.0.0" {
		return nil, fmt.Errorf("archive %s: oci-layout %q: want imageLayoutVersion 1.0.0: %w", path, lb, errdef.ErrUnsupported)
	}
	ib, err := ix.readSmall("index.json", oci.DefaultManifestLimit)
	if err != nil {
		return nil, err
	}
	var idx struct {
		Manifests []oci.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(ib, &idx); err != nil {
		return nil, fmt.Errorf("archive %s: index.json: %v: %w", path, err, errdef.ErrInvalid)
	}
	return &OCIReader{ix: ix, roots: idx.Manifests}, nil
}

// Close closes the archive file; streams still open read on until closed.
func (r *OCIReader) Close() error {
	return r.ix.f.Close()
}

// blobName is where a layout keeps d.
func blobName(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// Resolve turns ref into a manifest descriptor: a tag through index.json's
// ref.name annotations, a digest through the blob it names, "" to the
// archive's only image.
func (r *OCIReader) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	switch {
	case ref == "":
		if len(r.roots) == 1 {
			return r.roots[0], nil
		}
		return oci.Descriptor{}, fmt.Errorf("archive %s holds %d images; name one by tag: %w", r.ix.path, len(r.roots), errdef.ErrInvalid)
	case strings.Contains(ref, ":"):
		d := digest.Digest(ref)
		if err := oci.ValidateDigest(d); err != nil {
			return oci.Descriptor{}, err
		}
		for _, root := range r.roots {
			if root.Digest == d {
				return root, nil
			}
		}
		raw, err := r.ix.readSmall(blobName(d), oci.DefaultManifestLimit)
		if err != nil {
			return oci.Descriptor{}, err
		}
		if digest.FromBytes(raw) != d && d.Algorithm() == digest.SHA256 {
			return oci.Descriptor{}, fmt.Errorf("archive %s: blob %s: %w", r.ix.path, d, errdef.ErrDigestMismatch)
		}
		m, err := oci.ParseManifest("", raw)
		if err != nil {
			return oci.Descriptor{}, fmt.Errorf("%s is not a manifest: %w", d, err)
		}
		return oci.Descriptor{MediaType: m.MediaType, Digest: d, Size: int64(len(raw)), ArtifactType: m.ArtifactType}, nil
	}
	for _, root := range r.roots {
		if root.Annotations[refNameAnnotation] == ref {
			return root, nil
		}
	}
	return oci.Descriptor{}, fmt.Errorf("archive %s has no tag %q: %w", r.ix.path, ref, errdef.ErrNotFound)
}

// Fetch streams desc's blob from the archive, verified at EOF.
func (r *OCIReader) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return nil, err
	}
	rc, _, err := r.ix.open(blobName(desc.Digest))
	if err != nil {
		return nil, err
	}
	return readCloser{oci.NewVerifyReader(rc, desc.Digest, desc.Size), rc}, nil
}

// FetchRange streams part of desc's blob, unverified.
func (r *OCIReader) FetchRange(ctx context.Context, desc oci.Descriptor, offset, length int64) (io.ReadCloser, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return nil, err
	}
	return r.ix.rangeOf(blobName(desc.Digest), offset, length)
}

// StatBlob returns d's size.
func (r *OCIReader) StatBlob(ctx context.Context, d digest.Digest) (oci.Descriptor, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return oci.Descriptor{}, err
	}
	e, ok := r.ix.entries[blobName(d)]
	if !ok {
		return oci.Descriptor{}, fmt.Errorf("archive %s has no blob %s: %w", r.ix.path, d, errdef.ErrNotFound)
	}
	return oci.Descriptor{Digest: d, Size: e.size}, nil
}

// Tags lists the archive's tags in lexical order.
func (r *OCIReader) Tags(ctx context.Context) ([]string, error) {
	var tags []string
	for _, root := range r.roots {
		if t := root.Annotations[refNameAnnotation]; t != "" {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// Referrers lists the manifests of index.json whose subject is desc, and
// its legacy cosign tags.
func (r *OCIReader) Referrers(ctx context.Context, desc oci.Descriptor) ([]oci.Descriptor, error) {
	return transport.ScanReferrers(ctx, r, r.roots, desc, oci.DefaultManifestLimit)
}
