package oci

import (
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest and config media types of both families stevedore reads.
// image-spec v1.1.1 media-types.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/media-types.md
const (
	MediaTypeImageManifest = v1.MediaTypeImageManifest
	MediaTypeImageIndex    = v1.MediaTypeImageIndex
	MediaTypeImageConfig   = v1.MediaTypeImageConfig
	MediaTypeEmptyJSON     = v1.MediaTypeEmptyJSON
	MediaTypeLayer         = v1.MediaTypeImageLayer
	MediaTypeLayerGzip     = v1.MediaTypeImageLayerGzip
	MediaTypeLayerZstd     = v1.MediaTypeImageLayerZstd

	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

	// Docker schema1 is refused, but recognised so the error can say so.
	MediaTypeDockerSchema1       = "application/vnd.docker.distribution.manifest.v1+json"
	MediaTypeDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// ManifestMediaTypes lists every manifest media type stevedore can read, in the
// order a registry client offers them in its Accept header.
var ManifestMediaTypes = []string{
	MediaTypeImageIndex,
	MediaTypeImageManifest,
	MediaTypeDockerManifestList,
	MediaTypeDockerManifest,
}

// IsIndex reports whether mediaType is a list of manifests (OCI index or Docker manifest list).
func IsIndex(mediaType string) bool {
	return mediaType == MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// IsManifest reports whether mediaType is any manifest or index media type stevedore reads.
func IsManifest(mediaType string) bool {
	switch mediaType {
	case MediaTypeImageIndex, MediaTypeImageManifest, MediaTypeDockerManifestList, MediaTypeDockerManifest:
		return true
	}
	return false
}

// IsSchema1 reports whether mediaType is the retired Docker schema1 format.
func IsSchema1(mediaType string) bool {
	return mediaType == MediaTypeDockerSchema1 || mediaType == MediaTypeDockerSchema1Signed
}
