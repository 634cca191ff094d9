package analyze

import (
	"archive/tar"
	"context"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// SizeReport says where an image's bytes go.
type SizeReport struct {
	// Digest is the image manifest reported on.
	Digest digest.Digest `json:"digest"`
	// Layers, from the base up.
	Layers []LayerSize `json:"layers"`
	// Totals over the layers.
	Compressed   int64 `json:"compressed"`
	Uncompressed int64 `json:"uncompressed"`
	Wasted       int64 `json:"wasted"`
}

// LayerSize is one layer's share.
type LayerSize struct {
	Layer     int           `json:"layer"`
	Digest    digest.Digest `json:"digest"`
	MediaType string        `json:"mediaType"`
	// Compressed is the blob's size; Uncompressed the tar's.
	Compressed   int64 `json:"compressed"`
	Uncompressed int64 `json:"uncompressed"`
	// Files counts the layer's regular files.
	Files int `json:"files"`
	// Wasted is the content bytes of this layer's regular files that the
	// final image does not show: overwritten or deleted by a later layer
	// (or by a later entry of the same tar). They are still downloaded.
	Wasted int64 `json:"wasted"`
}

// Size reads every layer of the image once (verifying each) and reports
// compressed and uncompressed sizes and the bytes wasted on files that
// later layers overwrite or delete.
func Size(ctx context.Context, src transport.Source, ref string, opts Options) (*SizeReport, error) {
	opts = opts.withDefaults()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return nil, &Error{Op: "size", Err: err}
	}
	rep := &SizeReport{Digest: m.Digest, Layers: []LayerSize{}}
	t := &tree{files: map[string]*FileInfo{}}
	// sized[i] lists layer i's regular files: path, entry ordinal, size.
	type sized struct {
		path    string
		ordinal int
		size    int64
	}
	files := make([][]sized, len(m.Layers))
	for i, l := range m.Layers {
		ls := LayerSize{Layer: i, Digest: l.Digest, MediaType: l.MediaType, Compressed: l.Size}
		var entries []entry
		n, err := walkLayerCounted(ctx, src, l, opts, func(e entry) {
			entries = append(entries, e)
			if e.kind == kindFile && (e.hdr.Typeflag == tar.TypeReg || e.hdr.Typeflag == tar.TypeRegA) {
				files[i] = append(files[i], sized{e.path, e.ordinal, e.hdr.Size})
				ls.Files++
			}
		})
		if err != nil {
			return nil, &Error{Op: "size", Layer: l.Digest, Err: err}
		}
		ls.Uncompressed = n
		t.apply(i, l.Digest, entries)
		rep.Layers = append(rep.Layers, ls)
	}
	for i := range rep.Layers {
		for _, f := range files[i] {
			if fi, ok := t.files[f.path]; ok && fi.Layer == i && fi.ordinal == f.ordinal {
				continue
			}
			rep.Layers[i].Wasted += f.size
		}
		rep.Compressed += rep.Layers[i].Compressed
		rep.Uncompressed += rep.Layers[i].Uncompressed
		rep.Wasted += rep.Layers[i].Wasted
	}
	return rep, nil
}

// walkLayerCounted is walkLayer for callers that need only headers, and the
// uncompressed size of the whole tar (padding and trailer included).
func walkLayerCounted(ctx context.Context, src transport.Source, desc oci.Descriptor, opts Options, fn func(e entry)) (int64, error) {
	ls, err := openLayer(ctx, src, desc, opts)
	if err != nil {
		return 0, err
	}
	defer ls.Close()
	tr := tar.NewReader(ls)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, ls.blame(tarError(err))
		}
		e, err := classify(i, hdr)
		if err != nil {
			return 0, ls.blame(err)
		}
		fn(e)
	}
	if err := ls.finish(); err != nil {
		return 0, err
	}
	return ls.out.n, nil
}
