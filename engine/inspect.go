package engine

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// InspectOptions select what Inspect describes.
type InspectOptions struct {
	// Platform picks the manifest of an index to describe, as os/arch[/variant].
	// Empty means linux on the host's architecture; when an index has no such
	// entry, only the index itself is described.
	Platform string
}

// ImageInfo is what Inspect reports: what `skopeo inspect` shows, plus the
// platforms of an index.
type ImageInfo struct {
	// Ref is the normalised reference that was inspected.
	Ref string `json:"ref"`
	// Digest and MediaType describe what Ref resolved to (possibly an index).
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	// Platforms lists the entries of an index, in index order; empty otherwise.
	Platforms []oci.Platform `json:"platforms,omitempty"`
	// ManifestDigest is the image manifest described below: Digest itself, or
	// the index entry chosen for the platform. Empty when none was chosen.
	ManifestDigest digest.Digest     `json:"manifestDigest,omitempty"`
	ArtifactType   string            `json:"artifactType,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	// Config summarises the image configuration; nil for an index with no
	// matching platform or an artifact whose config is not an image config.
	Config *oci.ImageConfig `json:"config,omitempty"`
	// Layers are the layer descriptors of the chosen manifest.
	Layers []oci.Descriptor `json:"layers,omitempty"`
}

// Inspect resolves ref and describes the image: digest, media type, the
// platforms of an index, and the chosen platform's config and layers.
func (e *Engine) Inspect(ctx context.Context, ref transport.Ref, opts InspectOptions) (info *ImageInfo, err error) {
	err = e.read(ctx, "inspect", ref, func(src transport.Source) error {
		info, err = e.inspect(ctx, src, ref.Identifier(), opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	info.Ref = ref.String()
	return info, nil
}

func (e *Engine) inspect(ctx context.Context, src transport.Source, id string, opts InspectOptions) (*ImageInfo, error) {
	m, err := e.resolveManifest(ctx, src, id)
	if err != nil {
		return nil, err
	}
	info := &ImageInfo{Digest: m.Digest, MediaType: m.MediaType, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if m.IsIndex() {
		want := oci.DefaultPlatform()
		if opts.Platform != "" {
			if want, err = oci.ParsePlatform(opts.Platform); err != nil {
				return nil, err
			}
		}
		for _, d := range m.Manifests {
			if d.Platform != nil {
				info.Platforms = append(info.Platforms, *d.Platform)
			}
		}
		if _, ok := oci.ChoosePlatform(m, want); !ok && opts.Platform == "" {
			return info, nil
		}
		if m, err = transport.FetchPlatformManifest(ctx, src, m, want, e.opts.ManifestLimit); err != nil {
			return nil, err
		}
		info.ArtifactType, info.Annotations = m.ArtifactType, m.Annotations
	}
	info.ManifestDigest = m.Digest
	info.Layers = m.Layers
	if m.Config.MediaType == oci.MediaTypeImageConfig || m.Config.MediaType == oci.MediaTypeDockerConfig {
		raw, err := e.fetchSmall(ctx, src, *m.Config)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
		if info.Config, err = oci.ParseImageConfig(raw); err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
	}
	return info, nil
}
