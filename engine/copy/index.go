package copy

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// annotationReferenceDigest is what BuildKit puts on an attestation
// manifest's index entry (platform unknown/unknown) to name the image entry
// it describes; a filtered index keeps the attestations of what it keeps.
const annotationReferenceDigest = "vnd.docker.reference.digest"

// selectPlatforms marks the entries of index m matching any of wants
// (oci.PlatformMatches), plus the
// attestation entries that describe a kept entry. Every want must match
// something: a filter that silently dropped a platform would publish an
// index missing what the caller asked for.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func selectPlatforms(m *oci.Manifest, wants []oci.Platform) ([]bool, error) {
	keep := make([]bool, len(m.Manifests))
	kept := map[digest.Digest]bool{}
	for _, w := range wants {
		found := false
		for i, d := range m.Manifests {
			if oci.PlatformMatches(w, d.Platform) {
				keep[i], kept[d.Digest], found = true, true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("index %s has no manifest for platform %s: %w", m.Digest, oci.PlatformString(&w), errdef.ErrNotFound)
		}
	}
	for i, d := range m.Manifests {
		if oci.IsAttestationPlatform(d.Platform) && kept[digest.Digest(d.Annotations[annotationReferenceDigest])] {
			keep[i] = true
		}
	}
	return keep, nil
}

// filterIndex returns raw, an index, with only the entries keep marks, in
// their order, and every other member as it was (annotations, subject,
// artifactType): the smallest change that drops the other platforms. The
// result is a new index, of a new digest.
//
// image-spec v1.1.1 image-index.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md
func filterIndex(desc oci.Descriptor, raw []byte, keep []bool) (oci.Descriptor, []byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return oci.Descriptor{}, nil, fmt.Errorf("index %s: %v: %w", desc.Digest, err, errdef.ErrInvalid)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(doc["manifests"], &entries); err != nil {
		return oci.Descriptor{}, nil, fmt.Errorf("index %s: manifests: %v: %w", desc.Digest, err, errdef.ErrInvalid)
	}
	if len(entries) != len(keep) {
		return oci.Descriptor{}, nil, fmt.Errorf("index %s: %d entries, parsed as %d: %w", desc.Digest, len(entries), len(keep), errdef.ErrInvalid)
	}
	kept := []json.RawMessage{}
	for i, e := range entries {
		if keep[i] {
			kept = append(kept, e)
		}
	}
	var err error
	if doc["manifests"], err = marshal(kept); err != nil {
		return oci.Descriptor{}, nil, err
	}
	out, err := marshal(doc)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	return oci.Descriptor{MediaType: desc.MediaType, Digest: digest.FromBytes(out), Size: int64(len(out)), ArtifactType: desc.ArtifactType}, out, nil
}

// marshal encodes v as compact JSON without escaping <, > and &, as the
// tools that wrote the source did not.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// FilterIndex returns the index a copy with Options.Platforms (and no
// Sparse) makes of the index desc whose bytes are raw: its descriptor and
// bytes. A caller that must know the copy's digest before copying (a
// mirror deciding whether the destination is up to date) asks here.
func FilterIndex(desc oci.Descriptor, raw []byte, platforms []string) (oci.Descriptor, []byte, error) {
	wants, err := oci.ParsePlatforms(platforms)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	m.Digest = desc.Digest
	keep, err := selectPlatforms(m, wants)
	if err != nil {
		return oci.Descriptor{}, nil, err
	}
	return filterIndex(desc, raw, keep)
}
