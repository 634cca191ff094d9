package mutate

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Formats Convert converts to.
const (
	FormatOCI    = "oci"
	FormatDocker = "docker"
)

// Layer media types engine/oci does not name.
const (
	mediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeOCINondistrib      = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	mediaTypeOCINondistribGzip  = mediaTypeOCINondistrib + "+gzip"
	mediaTypeDockerForeignPlain = "application/vnd.docker.image.rootfs.foreign.diff.tar"
)

// Convert is a Step that rewrites media types between the OCI and Docker
// families: manifest, config and layer descriptors (and, on an index, the
// index itself and its entries). Layer bytes are untouched, so layer
// digests stay; the manifests' and configs' digests change. Docker has no
// zstd layer type and no subject, so those refuse to convert to Docker.
//
// image-spec v1.1.1 media-types.md §Compatibility Matrix:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/media-types.md#compatibility-matrix
type Convert struct {
	// To is FormatOCI or FormatDocker.
	To string
}

// layerTypes maps each layer media type to its counterpart.
var (
	toDocker = map[string]string{
		oci.MediaTypeLayer:         mediaTypeDockerLayer,
		oci.MediaTypeLayerGzip:     oci.MediaTypeDockerLayerGzip,
		mediaTypeOCINondistrib:     mediaTypeDockerForeignPlain,
		mediaTypeOCINondistribGzip: oci.MediaTypeDockerForeignLayer,
	}
	toOCI = map[string]string{
		mediaTypeDockerLayer:            oci.MediaTypeLayer,
		oci.MediaTypeDockerLayerGzip:    oci.MediaTypeLayerGzip,
		mediaTypeDockerForeignPlain:     mediaTypeOCINondistrib,
		oci.MediaTypeDockerForeignLayer: mediaTypeOCINondistribGzip,
	}
)

func (c Convert) check() error {
	if c.To != FormatOCI && c.To != FormatDocker {
		return fmt.Errorf("convert to %q: want %s or %s: %w", c.To, FormatOCI, FormatDocker, errdef.ErrInvalid)
	}
	return nil
}

func (c Convert) apply(_ context.Context, _ *stage, img *image) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := img.needConfig("convert"); err != nil {
		return err
	}
	table, manifestType, configType := toOCI, oci.MediaTypeImageManifest, oci.MediaTypeImageConfig
	if c.To == FormatDocker {
		table, manifestType, configType = toDocker, oci.MediaTypeDockerManifest, oci.MediaTypeDockerConfig
		if _, ok := img.manifest["subject"]; ok {
			return fmt.Errorf("a Docker manifest cannot carry a subject: %w", errdef.ErrUnsupported)
		}
		delete(img.manifest, "artifactType")
	}
	for i, l := range img.layers {
		if nt, ok := table[l.MediaType]; ok {
			img.layers[i].MediaType = nt
			continue
		}
		if _, ok := toDocker[l.MediaType]; ok && c.To == FormatOCI {
			continue
		}
		if _, ok := toOCI[l.MediaType]; ok && c.To == FormatDocker {
			continue
		}
		return fmt.Errorf("layer %d (%s) of media type %q has no %s equivalent (recompress zstd layers to gzip first): %w", i, l.Digest, l.MediaType, c.To, errdef.ErrUnsupported)
	}
	img.mediaType, img.config.MediaType = manifestType, configType
	// Both families carry mediaType in the document; schema 2 requires it.
	return img.manifest.set("mediaType", manifestType)
}

func (c Convert) applyIndex(_ context.Context, idx object, mediaType *string) error {
	if err := c.check(); err != nil {
		return err
	}
	*mediaType = oci.MediaTypeImageIndex
	if c.To == FormatDocker {
		*mediaType = oci.MediaTypeDockerManifestList
		if _, ok := idx["subject"]; ok {
			return fmt.Errorf("a Docker manifest list cannot carry a subject: %w", errdef.ErrUnsupported)
		}
		delete(idx, "artifactType")
	}
	return idx.set("mediaType", *mediaType)
}
