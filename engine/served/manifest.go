package served

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// RejectError is a push the served store refuses: Code is the
// distribution-spec error code naming why (errdef.Code*), so every edge
// reports it the same way (the registry as its error code, the API as the
// ErrorInfo reason); Err is the errdef class.
type RejectError struct {
	Code string
	Msg  string
	Err  error
}

func (e *RejectError) Error() string { return e.Msg }

// Unwrap returns the errdef class.
func (e *RejectError) Unwrap() error { return e.Err }

// reject builds a RejectError.
func reject(code string, class error, format string, args ...any) error {
	return &RejectError{Code: code, Msg: fmt.Sprintf(format, args...), Err: class}
}

// ManifestPut describes a manifest push beyond its bytes.
type ManifestPut struct {
	// MediaType is the media type the client declared (an HTTP
	// Content-Type, parameters allowed); "" lets the document's mediaType
	// decide.
	MediaType string
	// Digest, when set, is what the client says the bytes hash to: a push
	// by digest, refused when they hash to something else.
	Digest digest.Digest
	// Tags are pointed at the manifest once it is stored; without any it is
	// recorded as an untagged root, so a collector keeps it.
	Tags []string
	// Sparse stores the manifest without requiring what it references: a
	// pull-through cache holds a manifest before its clients fetch the
	// blobs it lists, and only those they fetch.
	Sparse bool
}

// ParseManifest checks a pushed manifest: valid JSON of a manifest media
// type the registry serves, the document's mediaType (when present)
// agreeing with the declared one, and well-formed descriptors. Every
// failure is a *RejectError with errdef.CodeManifestInvalid.
//
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
// image-spec v1.1.1 manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md
func ParseManifest(declared string, raw []byte) (*oci.Manifest, error) {
	invalid := func(format string, args ...any) (*oci.Manifest, error) {
		return nil, reject(errdef.CodeManifestInvalid, errdef.ErrInvalid, format, args...)
	}
	ct := ""
	if declared != "" {
		var err error
		if ct, _, err = mime.ParseMediaType(declared); err != nil {
			return invalid("Content-Type %s is malformed", declared)
		}
	}
	var doc struct {
		MediaType *string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return invalid("manifest is not valid JSON: %v", err)
	}
	mt := ct
	if doc.MediaType != nil {
		switch {
		case *doc.MediaType == "":
			return invalid("manifest mediaType is empty")
		case ct == "":
			return invalid("no Content-Type: a manifest with a mediaType must be pushed with it as Content-Type (%s)", *doc.MediaType)
		case ct != *doc.MediaType:
			return invalid("Content-Type %s does not match the manifest's mediaType %s", ct, *doc.MediaType)
		}
		mt = *doc.MediaType
	}
	if !oci.IsManifest(mt) {
		return invalid("media type %s is not a manifest media type this registry accepts", mt)
	}
	m, err := oci.ParseManifest(mt, raw)
	if err != nil {
		return invalid("%v", err)
	}
	for _, d := range m.Children() {
		if d.MediaType == "" {
			return invalid("descriptor %s has no mediaType", d.Digest)
		}
	}
	if m.Subject != nil {
		if err := oci.ValidateDigest(m.Subject.Digest); err != nil {
			return invalid("subject: %v", err)
		}
	}
	return m, nil
}

// PutManifest validates raw and stores it as a manifest of repository name
// (created when this is its first push), then records its subject in the
// referrers index and sets the tags p names. The repository is created only
// once the manifest is known good, so a refused push leaves no empty
// repository behind. Every blob the manifest references must be in the
// repository already (a subject may come later); they are touched first, so
// a collector running meanwhile keeps them (see Toucher). Refusals are
// *RejectError.
//
// distribution-spec v1.1.1 §Pushing manifests and §Pushing manifests with subject:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests-with-subject
func PutManifest(ctx context.Context, b Backend, name string, raw []byte, p ManifestPut) (*oci.Manifest, error) {
	m, err := ParseManifest(p.MediaType, raw)
	if err != nil {
		return nil, err
	}
	if p.Digest != "" {
		if err := oci.ValidateDigest(p.Digest); err != nil {
			return nil, reject(errdef.CodeDigestInvalid, errdef.ErrInvalid, "%v", err)
		}
		if got := p.Digest.Algorithm().FromBytes(raw); got != p.Digest {
			return nil, reject(errdef.CodeDigestInvalid, errdef.ErrDigestMismatch, "manifest hashes to %s, not %s", got, p.Digest)
		}
		m.Digest = p.Digest
	}
	for _, t := range p.Tags {
		if err := ValidateTag(t); err != nil {
			return nil, reject(errdef.CodeManifestInvalid, errdef.ErrInvalid, "%v", err)
		}
	}
	if err := oci.ValidateRepository(name); err != nil {
		return nil, reject(errdef.CodeNameInvalid, errdef.ErrInvalid, "repository %q: %v", name, err)
	}
	// A repository that does not exist yet holds nothing, and is created
	// only once the manifest passed its checks: a refused push leaves no
	// empty repository in the catalog.
	repo, err := b.Repo(ctx, name)
	if errors.Is(err, errdef.ErrNotFound) {
		repo, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if repo != nil {
		defer repo.Close()
		if err := keepManifest(ctx, b, repo, m); err != nil {
			return nil, err
		}
	}
	if !p.Sparse {
		if err := checkReferences(ctx, repo, m); err != nil {
			return nil, err
		}
	}
	if repo == nil {
		if repo, err = b.CreateRepo(ctx, name); err != nil {
			return nil, err
		}
		defer repo.Close()
	}
	desc := oci.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(raw))}
	if err := b.Put(ctx, repo, desc, bytes.NewReader(raw)); err != nil {
		return nil, err
	}
	if m.Subject != nil {
		if err := b.AddReferrer(ctx, name, m.Subject.Digest, m.Digest); err != nil {
			return nil, err
		}
	}
	for _, t := range p.Tags {
		if err := repo.Tag(ctx, desc, t); err != nil {
			return nil, err
		}
	}
	if len(p.Tags) == 0 {
		if err := repo.AddRoot(ctx, desc); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// keepManifest touches what manifest m, about to be stored, needs: the
// manifest itself (it may be an old, untagged copy) and everything it
// references. It runs before the references are checked, so that a
// collection cannot fall between the check and the tag: either it ran
// before the touch, and the check finds what it removed missing
// (MANIFEST_BLOB_UNKNOWN), or it runs after, and finds all of it young.
func keepManifest(ctx context.Context, b Backend, repo Repository, m *oci.Manifest) error {
	t, ok := b.(Toucher)
	if !ok {
		return nil
	}
	children := m.Children()
	ds := make([]digest.Digest, 0, len(children)+1)
	ds = append(ds, m.Digest)
	for _, d := range children {
		if oci.ValidateDigest(d.Digest) == nil {
			ds = append(ds, d.Digest)
		}
	}
	if err := t.Touch(ctx, repo, ds...); err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return err
	}
	return nil
}

// checkReferences requires what m references to be in repo (nil: a
// repository not created yet, which holds nothing), except its subject
// (which may be pushed later), layers marked non-distributable (which by
// definition are never pushed) and the manifests an index lists: a sparse
// index, holding only some of its platforms (copy --platforms --sparse), is
// accepted, as the spec lets a registry. Present content must have the size
// its descriptor says.
//
// distribution-spec v1.1.1 §Push ("A registry MAY reject a manifest ... with
// descriptors in other fields that reference a manifest or blob that does
// not exist"), §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#push
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func checkReferences(ctx context.Context, repo Repository, m *oci.Manifest) error {
	for _, d := range m.Children() {
		if !m.IsIndex() && nonDistributable(d.MediaType) {
			continue
		}
		size, err := int64(0), error(errdef.ErrNotFound)
		if repo != nil {
			size, err = repo.Stat(ctx, d.Digest)
		}
		if errors.Is(err, errdef.ErrNotFound) {
			if m.IsIndex() {
				continue
			}
			return reject(errdef.CodeManifestBlobUnknown, errdef.ErrNotFound, "blob %s unknown to the repository", d.Digest)
		}
		if err != nil {
			return err
		}
		if size != d.Size {
			return reject(errdef.CodeManifestInvalid, errdef.ErrInvalid, "descriptor %s has size %d, the blob has %d", d.Digest, d.Size, size)
		}
	}
	return nil
}

// nonDistributable reports the layer media types whose content registries do
// not hold (image-spec v1.1.1 layer.md, deprecated but still pushed).
func nonDistributable(mediaType string) bool {
	return strings.Contains(mediaType, ".nondistributable.") || mediaType == oci.MediaTypeDockerForeignLayer
}

// ValidateTag checks tag against the distribution-spec grammar, which is
// narrower than what an OCI layout accepts (store.ValidateTag).
func ValidateTag(tag string) error { return oci.ValidateTag(tag) }

// IsDigestRef tells a digest reference from a tag: tags cannot hold ':'.
func IsDigestRef(ref string) bool { return strings.Contains(ref, ":") }

// ReadManifest resolves ref (a tag or a digest) in repo and reads the
// manifest (ReadManifestAt).
func ReadManifest(ctx context.Context, repo store.Store, ref string) (*oci.Manifest, error) {
	desc := oci.Descriptor{Digest: digest.Digest(ref), Size: -1}
	if !IsDigestRef(ref) {
		var err error
		if desc, err = repo.Resolve(ctx, ref); err != nil {
			return nil, err
		}
	} else if err := oci.ValidateDigest(desc.Digest); err != nil {
		return nil, err
	}
	return ReadManifestAt(ctx, repo, desc)
}

// ReadManifestAt reads the manifest desc describes whole (bounded by
// oci.DefaultManifestLimit), verified against its digest: a corrupt
// manifest is never served, and is the server's fault (no errdef class).
// Anything that is not a readable manifest — a missing one, a layer
// addressed as a manifest — matches errdef.ErrNotFound. desc's media type,
// when set (a tag's index entry), decides how the bytes parse.
func ReadManifestAt(ctx context.Context, repo store.Store, desc oci.Descriptor) (*oci.Manifest, error) {
	unknown := func() (*oci.Manifest, error) {
		return nil, fmt.Errorf("manifest %s unknown: %w", desc.Digest, errdef.ErrNotFound)
	}
	f, size, err := repo.Open(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := oci.ReadAllVerified(f, desc.Digest, size, oci.DefaultManifestLimit)
	if errors.Is(err, errdef.ErrTooLarge) {
		return unknown()
	}
	if err != nil {
		return nil, fmt.Errorf("stored manifest %s: %v", desc.Digest, err)
	}
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return unknown()
	}
	m.Digest = desc.Digest
	return m, nil
}

// DeleteManifest deletes manifest d of repository name (every tag naming it
// too) and forgets it as a referrer of its subject.
//
// distribution-spec v1.1.1 §Deleting manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#deleting-manifests
func DeleteManifest(ctx context.Context, b Backend, name string, repo Repository, d digest.Digest) error {
	m, _ := ReadManifest(ctx, repo, d.String())
	if err := repo.DeleteManifest(ctx, d); err != nil {
		return err
	}
	if m != nil && m.Subject != nil {
		return b.RemoveReferrer(ctx, name, m.Subject.Digest, d)
	}
	return nil
}
