package artifact

import (
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Annotations and defaults of the artifact format. The io.deis.oras ones are
// oras's (oras-go v2 content/file), so that oras unpacks our directories and
// we unpack its.
const (
	// AnnotationTitle names a layer's file, relative to the pull directory.
	AnnotationTitle = v1.AnnotationTitle
	// AnnotationCreated is the manifest's creation time, RFC 3339.
	AnnotationCreated = v1.AnnotationCreated
	// AnnotationContentDigest is the digest of a directory layer's tar before
	// compression.
	AnnotationContentDigest = "io.deis.oras.content.digest"
	// AnnotationUnpack, "true", marks a layer as a gzipped tar of a directory
	// to be unpacked under its title.
	AnnotationUnpack = "io.deis.oras.content.unpack"
	// AnnotationFileMode records a regular file's permission bits in octal
	// ("0755"); oras ignores it, stevedore restores it.
	AnnotationFileMode = "dev.stevedore.file.mode"

	// DefaultArtifactType is what oras sets when an artifact with an empty
	// config names no type; image-spec requires one in that case.
	DefaultArtifactType = "application/vnd.unknown.artifact.v1"
	// DefaultFileMediaType is a file layer's media type unless one is given.
	DefaultFileMediaType = v1.MediaTypeImageLayer
	// DefaultDirMediaType is a directory layer's media type unless one is given.
	DefaultDirMediaType = v1.MediaTypeImageLayerGzip
)
