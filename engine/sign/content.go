package sign

import (
	"bytes"
	"context"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Repo is where an image and its signatures live, read and written: a
// registry repository or an OCI layout (both transports implement it).
type Repo interface {
	transport.Source
	transport.Target
}

// smallLimit bounds every signature manifest, bundle, payload and envelope
// read: they are all small JSON documents.
const smallLimit = oci.DefaultManifestLimit

// wireDesc is a descriptor with its fields in the order cosign's library
// (go-containerregistry) writes them, so what we push reads like cosign's.
type wireDesc struct {
	MediaType    string            `json:"mediaType"`
	Size         int64             `json:"size"`
	Digest       digest.Digest     `json:"digest"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// wireManifest is an OCI image manifest as cosign writes one.
//
// image-spec v1.1.1 manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md
type wireManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        wireDesc          `json:"config"`
	Layers        []wireDesc        `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Subject       *wireDesc         `json:"subject,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
}

func toWire(d oci.Descriptor) wireDesc {
	return wireDesc{MediaType: d.MediaType, Size: d.Size, Digest: d.Digest, Annotations: d.Annotations}
}

// blobDesc describes raw as content of media type mt.
func blobDesc(mt string, raw []byte) oci.Descriptor {
	return oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
}

// put pushes raw as desc unless the target already has it.
func put(ctx context.Context, dst transport.Target, desc oci.Descriptor, raw []byte) error {
	ok, err := dst.Exists(ctx, desc)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	return dst.Push(ctx, desc, bytes.NewReader(raw))
}

// rootAdder is implemented by targets that list their manifests (an OCI
// layout's index.json): a referrer must be recorded there to be found.
type rootAdder interface {
	AddRoot(ctx context.Context, desc oci.Descriptor) error
}

// pushManifest marshals m, pushes it by digest and returns its descriptor.
// A manifest with a subject is recorded as a root of a layout, where
// referrers are looked for; a registry without the referrers API gets the
// tag schema index from the transport itself.
//
// distribution-spec v1.1.1 §Pushing Manifests with Subject:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests-with-subject
func pushManifest(ctx context.Context, dst transport.Target, m *wireManifest) (oci.Descriptor, error) {
	raw, err := marshalCompact(m)
	if err != nil {
		return oci.Descriptor{}, err
	}
	desc := blobDesc(m.MediaType, raw)
	desc.ArtifactType = m.ArtifactType
	if err := put(ctx, dst, desc, raw); err != nil {
		return oci.Descriptor{}, err
	}
	if ra, ok := dst.(rootAdder); ok && m.Subject != nil {
		if err := ra.AddRoot(ctx, desc); err != nil {
			return oci.Descriptor{}, err
		}
	}
	return desc, nil
}

// fetch reads desc's content whole, bounded; Fetch verifies it.
func fetch(ctx context.Context, src transport.Source, desc oci.Descriptor) ([]byte, error) {
	return transport.FetchAll(ctx, src, desc, smallLimit)
}

// fetchManifest reads and parses the manifest desc.
func fetchManifest(ctx context.Context, src transport.Source, desc oci.Descriptor) (*oci.Manifest, error) {
	return transport.FetchManifest(ctx, src, desc, smallLimit)
}
