package served

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Repo is one repository of the served store as a transport: what the API
// reads and writes when a request names the registry this process serves.
// It goes to the storage directly — no HTTP, no second hash of what the
// store verified when it committed it — and under the rules the OCI port
// applies: pushes validated by PutManifest, referrers recorded at once,
// blobs kept from a concurrent collector. Access control is the caller's
// (the engine checks before it opens a Repo). Each call opens the
// repository afresh and closes it, so a Repo holds nothing open.
type Repo struct {
	b    Backend
	name string
}

var (
	_ transport.Source         = (*Repo)(nil)
	_ transport.RangeFetcher   = (*Repo)(nil)
	_ transport.TagLister      = (*Repo)(nil)
	_ transport.BlobStatter    = (*Repo)(nil)
	_ transport.ReferrerLister = (*Repo)(nil)
	_ transport.Target         = (*Repo)(nil)
	_ transport.ManifestTagger = (*Repo)(nil)
	_ transport.Mounter        = (*Repo)(nil)
)

// Host is what Repo.Host returns: the served store is one registry, so
// copies between its repositories mount instead of moving bytes.
const Host = "store:"

// NewRepo returns the repository name of b as a transport. The name is
// checked against the distribution-spec grammar by every call.
func NewRepo(b Backend, name string) *Repo { return &Repo{b: b, name: name} }

// Host names the served store for copy's mounts and per-host limits.
func (r *Repo) Host() string { return Host }

// Name is the repository name.
func (r *Repo) Name() string { return r.name }

// open opens the repository, which must exist; one never pushed to matches
// errdef.ErrNotFound.
func (r *Repo) open(ctx context.Context) (Repository, error) {
	repo, err := r.b.Repo(ctx, r.name)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("repository %s not found: %w", r.name, errdef.ErrNotFound)
	}
	return repo, err
}

// Resolve describes the manifest a tag or digest names.
func (r *Repo) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	if ref == "" {
		return oci.Descriptor{}, fmt.Errorf("store:%s names no tag or digest: %w", r.name, errdef.ErrInvalid)
	}
	repo, err := r.open(ctx)
	if err != nil {
		return oci.Descriptor{}, err
	}
	defer repo.Close()
	if !IsDigestRef(ref) {
		return repo.Resolve(ctx, ref)
	}
	m, err := ReadManifest(ctx, repo, ref)
	if err != nil {
		return oci.Descriptor{}, err
	}
	return oci.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Raw)), ArtifactType: m.ArtifactType}, nil
}

// Fetch streams a stored blob, verified against desc at EOF.
func (r *Repo) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	f, err := r.openBlob(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	return readCloser{oci.NewVerifyReader(f, desc.Digest, desc.Size), f}, nil
}

// FetchRange streams length bytes (< 0: the rest) of a stored blob from
// offset as stored, unverified: the store verified the whole blob when it
// committed it. A read from 0 to the end is how the API serves a blob at the
// speed of the disk.
func (r *Repo) FetchRange(ctx context.Context, desc oci.Descriptor, offset, length int64) (io.ReadCloser, error) {
	f, err := r.openBlob(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil && (offset < 0 || offset > size) {
		err = fmt.Errorf("offset %d outside the %d byte blob %s: %w", offset, size, desc.Digest, errdef.ErrInvalid)
	}
	if err == nil {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	if length < 0 {
		return f, nil
	}
	return readCloser{io.LimitReader(f, length), f}, nil
}

// openBlob opens blob d of the repository.
func (r *Repo) openBlob(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, error) {
	repo, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	f, _, err := repo.Open(ctx, d)
	return f, err
}

// Tags lists the repository's tags in lexical order.
func (r *Repo) Tags(ctx context.Context) ([]string, error) {
	repo, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	return repo.Tags(ctx)
}

// StatBlob returns d's digest and size.
func (r *Repo) StatBlob(ctx context.Context, d digest.Digest) (oci.Descriptor, error) {
	repo, err := r.open(ctx)
	if err != nil {
		return oci.Descriptor{}, err
	}
	defer repo.Close()
	size, err := repo.Stat(ctx, d)
	if err != nil {
		return oci.Descriptor{}, err
	}
	return oci.Descriptor{Digest: d, Size: size}, nil
}

// Referrers lists subject's referrers from the registry's referrers index,
// and its legacy cosign tags (carrying transport.AnnotationLegacyTag).
func (r *Repo) Referrers(ctx context.Context, subject oci.Descriptor) ([]oci.Descriptor, error) {
	repo, err := r.open(ctx)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	out, err := ListReferrers(ctx, r.b, r.name, repo, subject.Digest)
	if err != nil {
		return nil, err
	}
	for _, tag := range transport.LegacyTags(subject) {
		d, err := repo.Resolve(ctx, tag)
		if err != nil {
			continue
		}
		d.Annotations = map[string]string{transport.AnnotationLegacyTag: tag}
		out = append(out, d)
	}
	return out, nil
}

// Exists reports whether the repository holds desc's content.
func (r *Repo) Exists(ctx context.Context, desc oci.Descriptor) (bool, error) {
	_, err := r.StatBlob(ctx, desc.Digest)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errdef.ErrNotFound):
		return false, nil
	}
	return false, err
}

// Push stores desc's content: a manifest through PutManifest (validated,
// its references required, an untagged root until Tag), anything else as a
// verified blob. The repository is created by its first push.
func (r *Repo) Push(ctx context.Context, desc oci.Descriptor, rd io.Reader) error {
	if oci.IsManifest(desc.MediaType) {
		return r.pushManifest(ctx, desc, rd, nil)
	}
	repo, err := r.b.CreateRepo(ctx, r.name)
	if err != nil {
		return err
	}
	defer repo.Close()
	return r.b.Put(ctx, repo, desc, rd)
}

// PushTagged stores the manifest desc and points tag at it in one write.
func (r *Repo) PushTagged(ctx context.Context, desc oci.Descriptor, rd io.Reader, tag string) error {
	if !oci.IsManifest(desc.MediaType) {
		return fmt.Errorf("%s has media type %q, not a manifest's: only manifests are tagged: %w", desc.Digest, desc.MediaType, errdef.ErrInvalid)
	}
	return r.pushManifest(ctx, desc, rd, []string{tag})
}

// pushManifest reads a manifest whole (bounded, verified) and stores it.
func (r *Repo) pushManifest(ctx context.Context, desc oci.Descriptor, rd io.Reader, tags []string) error {
	raw, err := oci.ReadAllVerified(rd, desc.Digest, desc.Size, oci.DefaultManifestLimit)
	if err != nil {
		return err
	}
	_, err = PutManifest(ctx, r.b, r.name, raw, ManifestPut{MediaType: desc.MediaType, Digest: desc.Digest, Tags: tags})
	return err
}

// Tag points tag at the stored manifest desc.
func (r *Repo) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	repo, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer repo.Close()
	return repo.Tag(ctx, desc, tag)
}

// Untag removes tag; the manifest stays.
func (r *Repo) Untag(ctx context.Context, tag string) error {
	repo, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer repo.Close()
	return repo.Untag(ctx, tag)
}

// DeleteManifest deletes manifest d, its tags and its referrer record.
func (r *Repo) DeleteManifest(ctx context.Context, d digest.Digest) error {
	repo, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer repo.Close()
	return DeleteManifest(ctx, r.b, r.name, repo, d)
}

// Mount links blob desc from repository from of the same store.
func (r *Repo) Mount(ctx context.Context, desc oci.Descriptor, from string) (bool, error) {
	src, err := r.b.Repo(ctx, from)
	if err != nil {
		return false, nil
	}
	defer src.Close()
	dst, err := r.b.CreateRepo(ctx, r.name)
	if err != nil {
		return false, err
	}
	defer dst.Close()
	if _, err := r.b.Mount(ctx, dst, desc.Digest, src); err != nil {
		return false, nil
	}
	return true, nil
}

// readCloser reads through r and closes c, the file underneath.
type readCloser struct {
	io.Reader
	io.Closer
}
