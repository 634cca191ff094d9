package mutate

import (
	"context"
	"fmt"
	"io"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Recompress is a Step that rewrites every layer not already compressed
// with To: the uncompressed tar (and so its diff_id) stays the same, the
// blob, its digest and media type change. Foreign and non-distributable
// layers are left alone.
//
// image-spec v1.1.1 layer.md §Distributable Format:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#distributable-format
type Recompress struct {
	// To is layer.Gzip, layer.Zstd or layer.None.
	To layer.Compression
	// TempDir is where new layers are spooled; "" means os.TempDir().
	TempDir string
	// MaxLayerSize bounds each layer's uncompressed size; <= 0 means
	// analyze.DefaultMaxLayerSize.
	MaxLayerSize int64
}

func (r Recompress) apply(ctx context.Context, st *stage, img *image) error {
	if r.To != layer.Gzip && r.To != layer.Zstd && r.To != layer.None {
		return fmt.Errorf("recompress to %q: want gzip, zstd or none: %w", r.To, errdef.ErrInvalid)
	}
	if err := img.needConfig("recompress"); err != nil {
		return err
	}
	max := r.MaxLayerSize
	if max <= 0 {
		max = analyze.DefaultMaxLayerSize
	}
	_, ids, err := img.diffIDs()
	if err != nil {
		return err
	}
	if len(ids) != len(img.layers) {
		return fmt.Errorf("config lists %d diff_ids for %d layers: %w", len(ids), len(img.layers), errdef.ErrInvalid)
	}
	docker := img.mediaType == oci.MediaTypeDockerManifest
	for i, l := range img.layers {
		c, err := layer.CompressionOf(l.MediaType)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		if c == r.To || l.MediaType == oci.MediaTypeDockerForeignLayer || l.MediaType == layer.MediaTypeNondistrib ||
			l.MediaType == layer.MediaTypeNondistribGzip || l.MediaType == layer.MediaTypeNondistribZstd {
			continue
		}
		lf, err := layer.Write(ctx, func(w io.Writer) error { return decompress(ctx, st, l, c, w, max) },
			layer.WriteOptions{Compression: r.To, MediaType: layer.MediaType(r.To, docker), TempDir: r.TempDir})
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.Digest, err)
		}
		st.putFile(lf.Desc.Digest, lf.Path)
		if lf.DiffID != ids[i] {
			return fmt.Errorf("layer %d (%s) decompresses to %s, the config's diff_id is %s: %w", i, l.Digest, lf.DiffID, ids[i], errdef.ErrDigestMismatch)
		}
		nl := lf.Desc
		nl.Annotations, nl.URLs = l.Annotations, nil
		img.layers[i] = nl
	}
	return nil
}

// decompress streams layer l from the stage (which knows where a
// borrowed layer lives), verified, uncompressed into w, at most max bytes.
func decompress(ctx context.Context, st *stage, l oci.Descriptor, c layer.Compression, w io.Writer, max int64) error {
	rc, err := st.Fetch(ctx, l)
	if err != nil {
		return err
	}
	defer rc.Close()
	zr, err := layer.NewReader(rc, c)
	if err != nil {
		return err
	}
	defer zr.Close()
	n, err := io.Copy(w, io.LimitReader(zr, max+1))
	if err != nil {
		return err
	}
	if n > max {
		return fmt.Errorf("layer decompresses to more than %d bytes: %w", max, errdef.ErrTooLarge)
	}
	// Read the compressed stream to its end so the verifier checks it.
	_, err = io.Copy(io.Discard, rc)
	return err
}
