package transport

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Legacy cosign tag suffixes: before OCI 1.1, cosign stored a signature,
// attestation or SBOM of sha256:<hex> under the tag sha256-<hex>.<suffix>.
var legacySuffixes = []string{".sig", ".att", ".sbom"}

// FallbackTag is the referrers tag schema's tag for subject d:
// <alg>-<hex>, which also prefixes the legacy cosign tags.
//
// distribution-spec v1.1.1 §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
func FallbackTag(desc oci.Descriptor) string {
	return desc.Digest.Algorithm().String() + "-" + desc.Digest.Encoded()
}

// LegacyTags returns the legacy cosign tags that may hold content about desc.
func LegacyTags(desc oci.Descriptor) []string {
	base := FallbackTag(desc)
	out := make([]string, len(legacySuffixes))
	for i, s := range legacySuffixes {
		out[i] = base + s
	}
	return out
}

// ScanReferrers finds the referrers of subject among the manifests roots
// lists (an OCI layout's index.json, where oras and skopeo record pushed
// referrers): each root whose subject is subject, read bounded and verified
// from src, plus each root tagged with one of subject's legacy cosign tags,
// which is returned carrying AnnotationLegacyTag. A root that cannot be read
// is skipped rather than failing the listing: it is not this subject's.
//
// image-spec v1.1.1 manifest.md §subject:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
func ScanReferrers(ctx context.Context, src Source, roots []oci.Descriptor, subject oci.Descriptor, limit int64) ([]oci.Descriptor, error) {
	legacy := map[string]bool{}
	for _, t := range LegacyTags(subject) {
		legacy[t] = true
	}
	var out []oci.Descriptor
	seen := map[string]bool{}
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if tag := r.Annotations[refNameAnnotation]; legacy[tag] {
			out = append(out, oci.Descriptor{MediaType: r.MediaType, Digest: r.Digest, Size: r.Size,
				ArtifactType: r.ArtifactType, Annotations: map[string]string{AnnotationLegacyTag: tag}})
			continue
		}
		if seen[r.Digest.String()] || r.Digest == subject.Digest || !oci.IsManifest(r.MediaType) {
			continue
		}
		seen[r.Digest.String()] = true
		m, err := readManifest(ctx, src, r, limit)
		if err != nil || m.Subject == nil || m.Subject.Digest != subject.Digest {
			continue
		}
		out = append(out, ReferrerDescriptor(r, m))
	}
	return out, nil
}

// ReferrerDescriptor is the descriptor the referrers API lists for m:
// its artifactType (the config's media type when none is set) and its
// annotations.
//
// distribution-spec v1.1.1 §Listing referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
func ReferrerDescriptor(desc oci.Descriptor, m *oci.Manifest) oci.Descriptor {
	at := m.ArtifactType
	if at == "" && m.Config != nil {
		at = m.Config.MediaType
	}
	return oci.Descriptor{MediaType: m.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: at, Annotations: m.Annotations}
}

// refNameAnnotation is the tag annotation of an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// readManifest reads and parses the manifest desc, bounded and verified.
func readManifest(ctx context.Context, src Source, desc oci.Descriptor, limit int64) (*oci.Manifest, error) {
	rc, err := src.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := oci.ReadAllVerified(rc, desc.Digest, desc.Size, limit)
	if err != nil {
		return nil, err
	}
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return nil, err
	}
	m.Digest = desc.Digest
	return m, nil
}
