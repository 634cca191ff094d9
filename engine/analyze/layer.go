package analyze

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Layer media types beyond those engine/oci names, from engine/layer.
const (
	mediaTypeDockerLayer     = layer.MediaTypeDockerLayer
	mediaTypeDockerLayerZstd = layer.MediaTypeDockerLayerZstd
)

// isLayerMediaType reports whether mediaType is a layer engine/layer can
// decompress.
func isLayerMediaType(mediaType string) bool {
	_, err := layer.CompressionOf(mediaType)
	return err == nil
}

// layerStream is the uncompressed tar stream of one layer, bounded against
// bombs. The compressed stream is the source's verified Fetch: only reading
// it to the end (finish) proves the digest.
type layerStream struct {
	raw io.ReadCloser
	in  *countingReader // compressed bytes consumed
	out *boundedReader  // uncompressed bytes produced
	dec io.ReadCloser   // the decompressor
}

// openLayer fetches desc from src and decompresses it by media type.
func openLayer(ctx context.Context, src transport.Source, desc oci.Descriptor, opts Options) (*layerStream, error) {
	comp, err := layer.CompressionOf(desc.MediaType)
	if err != nil {
		return nil, err
	}
	raw, err := src.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	raw = newReadAhead(raw)
	l := &layerStream{raw: raw, in: &countingReader{r: raw}}
	dec, err := layer.NewReader(l.in, comp)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	l.dec = dec
	l.out = &boundedReader{r: dec, in: l.in, max: opts.MaxLayerSize, ratio: opts.MaxRatio}
	if comp == layer.None {
		l.out.ratio = 0
	}
	return l, nil
}

// Read reads uncompressed tar bytes.
func (l *layerStream) Read(p []byte) (int, error) { return l.out.Read(p) }

// finish reads whatever follows the tar's end (padding, the compressed
// trailer) so the verifying reader sees EOF and checks size and digest.
func (l *layerStream) finish() error {
	if _, err := io.Copy(io.Discard, l.out); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, l.in)
	return err
}

// blame returns the verification failure of the compressed stream, if it
// has one, in place of err: a corrupt blob makes a malformed tar, and the
// corruption is the cause to report. Bounds and cancellations stand as they are.
func (l *layerStream) blame(err error) error {
	if !errors.Is(err, errdef.ErrInvalid) {
		return err
	}
	if _, verr := io.Copy(io.Discard, l.in); verr != nil && (errors.Is(verr, errdef.ErrDigestMismatch) || errors.Is(verr, errdef.ErrSizeMismatch)) {
		return verr
	}
	return err
}

// Close releases the decompressor and the source stream.
func (l *layerStream) Close() error {
	l.dec.Close()
	return l.raw.Close()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// boundedReader fails with errdef.ErrTooLarge once its output passes max
// bytes, or ratio times the compressed input (after ratioFloor bytes).
type boundedReader struct {
	r          io.Reader
	in         *countingReader
	n          int64
	max, ratio int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n, fmt.Errorf("layer decompresses to more than %d bytes: %w", b.max, errdef.ErrTooLarge)
	}
	if b.ratio > 0 && b.n > ratioFloor && b.n/b.ratio > b.in.n {
		return n, fmt.Errorf("layer decompresses %d bytes from %d, over the %d:1 ratio limit (a decompression bomb?): %w", b.n, b.in.n, b.ratio, errdef.ErrTooLarge)
	}
	return n, err
}
