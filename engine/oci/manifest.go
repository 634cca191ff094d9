package oci

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Manifest is a manifest or index as it travels: the raw bytes that its digest
// covers, plus the few decoded fields needed to walk the graph. Raw is what gets
// stored and sent; the decoded fields are never marshalled back.
type Manifest struct {
	// MediaType is the effective media type: the one the transport reported, or
	// the document's own mediaType field when the transport gave none.
	MediaType string
	// Digest is the digest of Raw (sha256 unless the content was addressed otherwise).
	Digest digest.Digest
	// Raw holds the exact bytes.
	Raw []byte

	// ArtifactType, Config, Layers and Subject are set for image manifests.
	ArtifactType string
	Config       *Descriptor
	Layers       []Descriptor
	// Manifests is set for indexes and Docker manifest lists.
	Manifests []Descriptor
	// Subject is the manifest this one refers to (OCI 1.1 referrers), if any.
	Subject     *Descriptor
	Annotations map[string]string
}

// manifestJSON is the union of the fields stevedore reads from any manifest family.
type manifestJSON struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *Descriptor       `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Manifests     []Descriptor      `json:"manifests"`
	Subject       *Descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
	FSLayers      json.RawMessage   `json:"fsLayers"` // schema1 marker
}

// ParseManifest decodes raw as a manifest of the given media type. mediaType may
// be empty (or a generic JSON type), in which case the document's mediaType field
// decides, then its shape. The digest is computed over raw with sha256; callers
// that addressed the content by another algorithm set Digest themselves.
//
// image-spec v1.1.1 manifest.md and image-index.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md
func ParseManifest(mediaType string, raw []byte) (*Manifest, error) {
	var doc manifestJSON
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %v: %w", err, errdef.ErrInvalid)
	}
	if IsSchema1(mediaType) || IsSchema1(doc.MediaType) || doc.SchemaVersion == 1 || doc.FSLayers != nil {
		return nil, fmt.Errorf("docker schema1 manifests are not supported (re-push the image with a current client): %w", errdef.ErrUnsupported)
	}
	mt := mediaType
	if !IsManifest(mt) {
		mt = doc.MediaType
	}
	if mt == "" {
		switch {
		case doc.Manifests != nil:
			mt = MediaTypeImageIndex
		case doc.Config != nil:
			mt = MediaTypeImageManifest
		}
	}
	if !IsManifest(mt) {
		return nil, fmt.Errorf("unknown manifest media type %q: %w", mt, errdef.ErrUnsupported)
	}
	if doc.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schemaVersion %d, want 2: %w", doc.SchemaVersion, errdef.ErrInvalid)
	}
	m := &Manifest{
		MediaType:    mt,
		Digest:       digest.FromBytes(raw),
		Raw:          raw,
		ArtifactType: doc.ArtifactType,
		Subject:      doc.Subject,
		Annotations:  doc.Annotations,
	}
	if IsIndex(mt) {
		m.Manifests = doc.Manifests
	} else {
		if doc.Config == nil {
			return nil, fmt.Errorf("image manifest has no config: %w", errdef.ErrInvalid)
		}
		m.Config = doc.Config
		m.Layers = doc.Layers
	}
	for _, d := range m.Children() {
		if err := ValidateDigest(d.Digest); err != nil {
			return nil, fmt.Errorf("manifest references a bad descriptor: %w", err)
		}
		if d.Size < 0 {
			return nil, fmt.Errorf("manifest references %s with negative size: %w", d.Digest, errdef.ErrInvalid)
		}
	}
	return m, nil
}

// IsIndex reports whether m lists other manifests.
func (m *Manifest) IsIndex() bool { return IsIndex(m.MediaType) }

// Children returns the descriptors m references, in the order a copy must
// transfer them before m itself: config then layers, or the index entries.
// The subject is not a child: it is referred to, not contained.
func (m *Manifest) Children() []Descriptor {
	if m.IsIndex() {
		return m.Manifests
	}
	out := make([]Descriptor, 0, len(m.Layers)+1)
	if m.Config != nil {
		out = append(out, *m.Config)
	}
	return append(out, m.Layers...)
}

// Descriptor returns a descriptor addressing m.
func (m *Manifest) Descriptor() Descriptor {
	return Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Raw)), ArtifactType: m.ArtifactType}
}
