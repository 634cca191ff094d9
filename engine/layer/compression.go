package layer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Compression names how a layer's tar is compressed.
type Compression string

// The compressions stevedore writes and reads.
const (
	None Compression = "none"
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
)

// ParseCompression checks a --compress value; "" means Gzip, the default
// every runtime reads.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case "":
		return Gzip, nil
	case None, Gzip, Zstd:
		return c, nil
	}
	return "", fmt.Errorf("compression %q: want gzip, zstd or none: %w", s, errdef.ErrInvalid)
}

// Layer media types beyond those engine/oci names.
const (
	MediaTypeDockerLayer     = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd"
	MediaTypeNondistrib      = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	MediaTypeNondistribGzip  = MediaTypeNondistrib + "+gzip"
	MediaTypeNondistribZstd  = MediaTypeNondistrib + "+zstd"
)

// CompressionOf maps a layer media type to its compression. Only media
// types are trusted, not magic bytes: a layer labelled wrongly is a bad image.
//
// image-spec v1.1.1 layer.md §Distributable Format and media-types.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#distributable-format
func CompressionOf(mediaType string) (Compression, error) {
	switch mediaType {
	case oci.MediaTypeLayer, MediaTypeDockerLayer, MediaTypeNondistrib:
		return None, nil
	case oci.MediaTypeLayerGzip, oci.MediaTypeDockerLayerGzip, oci.MediaTypeDockerForeignLayer, MediaTypeNondistribGzip:
		return Gzip, nil
	case oci.MediaTypeLayerZstd, MediaTypeDockerLayerZstd, MediaTypeNondistribZstd:
		return Zstd, nil
	}
	return "", fmt.Errorf("layer media type %q: not a tar layer stevedore can decompress: %w", mediaType, errdef.ErrUnsupported)
}

// IsDockerMediaType reports whether a layer media type is of the Docker family.
func IsDockerMediaType(mediaType string) bool {
	switch mediaType {
	case MediaTypeDockerLayer, MediaTypeDockerLayerZstd, oci.MediaTypeDockerLayerGzip, oci.MediaTypeDockerForeignLayer:
		return true
	}
	return false
}

// MediaType is the layer media type for compression c in the OCI family or,
// when docker is set, the Docker one (zstd there is moby's extension).
func MediaType(c Compression, docker bool) string {
	switch {
	case docker && c == None:
		return MediaTypeDockerLayer
	case docker && c == Zstd:
		return MediaTypeDockerLayerZstd
	case docker:
		return oci.MediaTypeDockerLayerGzip
	case c == None:
		return oci.MediaTypeLayer
	case c == Zstd:
		return oci.MediaTypeLayerZstd
	}
	return oci.MediaTypeLayerGzip
}

// ConvertMediaType returns the media type meaning the same bytes as
// mediaType in the other family (docker or OCI): a base layer keeps its
// bytes and digest when the new manifest is of another family. Foreign and
// non-distributable layers, and anything unknown, are returned as they are.
func ConvertMediaType(mediaType string, docker bool) string {
	if mediaType == oci.MediaTypeDockerForeignLayer {
		return mediaType
	}
	c, err := CompressionOf(mediaType)
	if err != nil || IsDockerMediaType(mediaType) == docker {
		return mediaType
	}
	switch mediaType {
	case MediaTypeNondistrib, MediaTypeNondistribGzip, MediaTypeNondistribZstd:
		return mediaType
	}
	return MediaType(c, docker)
}

// NewReader returns the decompressed stream of r, compressed with c. Closing
// it releases the decompressor, not r.
func NewReader(r io.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case None:
		return io.NopCloser(r), nil
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %v: %w", err, errdef.ErrInvalid)
		}
		return zr, nil
	case Zstd:
		// One goroutine, and a window bound: a frame may not demand more
		// memory than this however it is crafted.
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			return nil, fmt.Errorf("zstd: %v: %w", err, errdef.ErrInvalid)
		}
		return zr.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("compression %q: %w", c, errdef.ErrUnsupported)
}

// Magic numbers of the compressed formats a layer file given on the
// command line may come in (RFC 1952 §2.3.1; RFC 8878 §3.1.1).
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect returns the uncompressed stream of a tar file that may be gzip or
// zstd compressed, judged by its magic bytes. Unlike blobs, whose media type
// says how they are compressed, a local file comes with no label.
func Detect(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return NewReader(br, Gzip)
	case bytes.HasPrefix(head, zstdMagic):
		return NewReader(br, Zstd)
	}
	return io.NopCloser(br), nil
}
