package sign

import (
	"context"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// TreeEntry is one artifact attached to an image.
type TreeEntry struct {
	// Manifest is the referrer or legacy tag manifest.
	Manifest oci.Descriptor `json:"manifest"`
	// Format is FormatBundle for a cosign referrer, FormatNotation for a
	// Notary Project signature, FormatLegacy for a cosign tag.
	Format Format `json:"format"`
	// Tag is the legacy tag; empty for a referrer.
	Tag string `json:"tag,omitempty"`
	// ArtifactType is the referrer's artifact type.
	ArtifactType string `json:"artifactType,omitempty"`
	// PredicateType is a bundle's predicate type annotation.
	PredicateType string `json:"predicateType,omitempty"`
	// Layers are the manifest's layers (for a legacy tag, one per signature).
	Layers []oci.Descriptor `json:"layers,omitempty"`
}

// Tree is what `cosign tree` shows: what is attached to an image, by kind.
// Nothing is verified.
type Tree struct {
	Subject      oci.Descriptor `json:"subject"`
	Signatures   []TreeEntry    `json:"signatures"`
	Attestations []TreeEntry    `json:"attestations"`
	SBOMs        []TreeEntry    `json:"sboms"`
	Other        []TreeEntry    `json:"other"`
}

// ListTree resolves ref in src and sorts the referrers and legacy cosign
// tags of its digest into signatures (cosign's and the Notary Project's),
// attestations, SBOMs and the rest.
func ListTree(ctx context.Context, src transport.Source, ref string) (*Tree, error) {
	subj, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	subj = oci.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}
	cands, err := discover(ctx, src, subj)
	if err != nil {
		return nil, fmt.Errorf("listing what refers to %s: %w", subj.Digest, err)
	}
	t := &Tree{Subject: subj, Signatures: []TreeEntry{}, Attestations: []TreeEntry{}, SBOMs: []TreeEntry{}, Other: []TreeEntry{}}
	for _, c := range cands {
		e := TreeEntry{Manifest: oci.Descriptor{MediaType: c.MediaType, Digest: c.Digest, Size: c.Size}, Format: FormatBundle,
			Tag: c.Annotations[transport.AnnotationLegacyTag], ArtifactType: c.ArtifactType}
		m, err := fetchManifest(ctx, src, e.Manifest)
		if err != nil {
			return nil, fmt.Errorf("referrer %s: %w", c.Digest, err)
		}
		e.Layers = m.Layers
		if e.ArtifactType == "" {
			e.ArtifactType = transport.ReferrerDescriptor(c, m).ArtifactType
		}
		e.PredicateType = m.Annotations[AnnotationBundlePredicateType]
		if e.Tag != "" {
			e.Format = FormatLegacy
			e.ArtifactType = ""
		}
		if e.ArtifactType == ArtifactTypeNotation {
			e.Format = FormatNotation
		}
		switch {
		case e.Format == FormatNotation:
			t.Signatures = append(t.Signatures, e)
		case strings.HasSuffix(e.Tag, ".sig"), e.Tag == "" && IsBundleType(e.ArtifactType) && e.PredicateType == PredicateSign:
			t.Signatures = append(t.Signatures, e)
		case strings.HasSuffix(e.Tag, ".att"), e.Tag == "" && IsBundleType(e.ArtifactType):
			t.Attestations = append(t.Attestations, e)
		case strings.HasSuffix(e.Tag, ".sbom"), isSBOMType(e.ArtifactType):
			t.SBOMs = append(t.SBOMs, e)
		default:
			t.Other = append(t.Other, e)
		}
	}
	return t, nil
}

// isSBOMType recognises the SBOM artifact types in use (SPDX, CycloneDX,
// Syft).
func isSBOMType(at string) bool {
	at = strings.ToLower(at)
	return strings.Contains(at, "spdx") || strings.Contains(at, "cyclonedx") || strings.Contains(at, "syft")
}
