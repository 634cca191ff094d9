package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

var _ transport.ReferrerLister = (*Repository)(nil)

// Referrers lists the manifests whose subject is desc: through the
// referrers API, or, where the registry has none (it answers 404), through
// the tag schema's sha256-<hex> index, whose entries are each read and kept
// only if their subject really is desc — a registry that resolves the tag
// sha256-<hex> as the digest itself would otherwise pass the subject's own
// index off as its referrers. Legacy cosign tags (sha256-<hex>.sig, .att,
// .sbom) are added, marked with transport.AnnotationLegacyTag.
//
// distribution-spec v1.1.1 §Listing referrers and §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
func (r *Repository) Referrers(ctx context.Context, desc oci.Descriptor) ([]oci.Descriptor, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return nil, err
	}
	out, supported, err := r.referrersAPI(ctx, desc)
	if err != nil {
		return nil, err
	}
	if !supported {
		if out, err = r.referrersByTag(ctx, desc); err != nil {
			return nil, err
		}
	}
	for _, tag := range transport.LegacyTags(desc) {
		d, err := r.Resolve(ctx, tag)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d.Annotations = map[string]string{transport.AnnotationLegacyTag: tag}
		out = append(out, d)
	}
	return out, nil
}

// referrersAPI asks GET /v2/<name>/referrers/<digest>; supported is false
// when the registry answers 404, which the spec reserves for registries
// without the API.
func (r *Repository) referrersAPI(ctx context.Context, desc oci.Descriptor) (out []oci.Descriptor, supported bool, err error) {
	u, err := r.url(ctx, "referrers/"+desc.Digest.String())
	if err != nil {
		return nil, false, err
	}
	resp, err := r.send(ctx, &request{method: http.MethodGet, url: u, header: http.Header{"Accept": {oci.MediaTypeImageIndex}}})
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode == http.StatusNotFound {
		drain(resp)
		return nil, false, nil
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	raw, err := oci.ReadAllLimited(resp.Body, oci.DefaultManifestLimit)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", u, err)
	}
	var idx struct {
		Manifests []oci.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, false, fmt.Errorf("GET %s: referrers index: %v: %w", u, err, errdef.ErrInvalid)
	}
	return idx.Manifests, true, nil
}

// referrersByTag reads the tag schema index and keeps the entries whose
// manifest names desc as its subject.
func (r *Repository) referrersByTag(ctx context.Context, desc oci.Descriptor) ([]oci.Descriptor, error) {
	idx, err := r.fallbackIndex(ctx, desc)
	if err != nil || idx == nil {
		return nil, err
	}
	var out []oci.Descriptor
	for _, d := range idx.Manifests {
		if !oci.IsManifest(d.MediaType) || oci.ValidateDigest(d.Digest) != nil {
			continue
		}
		u, err := r.url(ctx, "manifests/"+d.Digest.String())
		if err != nil {
			return nil, err
		}
		m, err := r.getManifest(ctx, u, d.Digest, d.Size, false)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // deleted since the index was written
		}
		if err != nil {
			return nil, err
		}
		if m.Subject == nil || m.Subject.Digest != desc.Digest {
			continue
		}
		out = append(out, transport.ReferrerDescriptor(d, m))
	}
	return out, nil
}

// fallbackIndex returns the index tagged sha256-<hex> of desc, or nil when
// there is none or the tag holds something else.
func (r *Repository) fallbackIndex(ctx context.Context, desc oci.Descriptor) (*oci.Manifest, error) {
	u, err := r.url(ctx, "manifests/"+transport.FallbackTag(desc))
	if err != nil {
		return nil, err
	}
	m, err := r.getManifest(ctx, u, "", -1, false)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if m.MediaType != oci.MediaTypeImageIndex {
		return nil, nil
	}
	return m, nil
}

// pushManifest PUTs a manifest by digest and, when it has a subject and the
// registry did not acknowledge it with OCI-Subject (no referrers API, as
// in CNCF distribution), adds it to the subject's tag schema index.
//
// distribution-spec v1.1.1 §Pushing Manifests with Subject:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests-with-subject
func (r *Repository) pushManifest(ctx context.Context, desc oci.Descriptor, raw []byte) error {
	return r.pushManifestAt(ctx, desc, raw, desc.Digest.String())
}

// pushManifestAt is pushManifest under ref, desc's digest or a tag.
func (r *Repository) pushManifestAt(ctx context.Context, desc oci.Descriptor, raw []byte, ref string) error {
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return err
	}
	u, err := r.url(ctx, "manifests/"+ref)
	if err != nil {
		return err
	}
	resp, err := r.send(ctx, &request{method: http.MethodPut, url: u, body: raw, push: true,
		header: http.Header{"Content-Type": {desc.MediaType}}})
	if err != nil {
		return err
	}
	if resp, err = expect(resp, http.StatusCreated, http.StatusOK); err != nil {
		return err
	}
	drain(resp)
	if err := checkStoredDigest(resp, desc.Digest); err != nil {
		return err
	}
	if m.Subject == nil || resp.Header.Get("OCI-Subject") != "" {
		return nil
	}
	m.Digest = desc.Digest
	return r.addToFallback(ctx, *m.Subject, transport.ReferrerDescriptor(desc, m))
}

// addToFallback adds ref to the tag schema index of subject, creating it,
// or replacing whatever else that tag held. Concurrent writers can lose an
// entry; the spec accepts that risk for registries without the API.
//
// distribution-spec v1.1.1 §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
func (r *Repository) addToFallback(ctx context.Context, subject, ref oci.Descriptor) error {
	idx, err := r.fallbackIndex(ctx, subject)
	if err != nil {
		return err
	}
	var entries []oci.Descriptor
	if idx != nil && idx.Digest != subject.Digest {
		var doc struct {
			Manifests []oci.Descriptor `json:"manifests"`
		}
		if json.Unmarshal(idx.Raw, &doc) == nil {
			entries = doc.Manifests
		}
	}
	for _, e := range entries {
		if e.Digest == ref.Digest {
			return nil
		}
	}
	entries = append(entries, ref)
	raw, err := json.Marshal(struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType"`
		Manifests     []oci.Descriptor `json:"manifests"`
	}{2, oci.MediaTypeImageIndex, entries})
	if err != nil {
		return err
	}
	return r.putManifest(ctx, transport.FallbackTag(subject), oci.MediaTypeImageIndex, raw, digest.FromBytes(raw))
}
