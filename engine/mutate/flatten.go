package mutate

import (
	"context"
	"io"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Flatten is a Step that squashes every layer into one: the merged root
// filesystem (analyze.Export: whiteouts applied, nothing hidden kept),
// written as a single layer. History becomes one entry; the base
// annotations go, since the image no longer has a base's layers.
type Flatten struct {
	// Compression of the new layer; "" means gzip.
	Compression layer.Compression
	// TempDir is where the layer is spooled; "" means os.TempDir().
	TempDir string
	// Analyze bounds the layer reads (bomb limits).
	Analyze analyze.Options
}

func (f Flatten) apply(ctx context.Context, st *stage, img *image) error {
	if err := img.needConfig("flatten"); err != nil {
		return err
	}
	docker := img.mediaType == oci.MediaTypeDockerManifest
	c := f.Compression
	if c == "" {
		c = layer.Gzip
	}
	// The image as the steps before this one left it: they may have
	// removed layers or borrowed a new base's.
	cur, err := img.write(st)
	if err != nil {
		return err
	}
	lf, err := layer.Write(ctx, func(w io.Writer) error {
		return analyze.Export(ctx, st, cur.Digest.String(), w, f.Analyze)
	}, layer.WriteOptions{Compression: c, MediaType: layer.MediaType(c, docker), TempDir: f.TempDir})
	if err != nil {
		return err
	}
	st.putFile(lf.Desc.Digest, lf.Path)
	img.layers = []oci.Descriptor{lf.Desc}
	rootfs, _, err := img.diffIDs()
	if err != nil {
		return err
	}
	if err := img.setDiffIDs(rootfs, []digest.Digest{lf.DiffID}); err != nil {
		return err
	}
	entry := object{}
	var created time.Time
	if ok, _ := img.cfg.get("created", &created); ok {
		entry.set("created", created.UTC().Format(time.RFC3339Nano))
	}
	entry.set("created_by", "stevedore flatten")
	entry.set("comment", "flattened from "+img.desc.Digest.String())
	if err := img.cfg.set("history", []object{entry}); err != nil {
		return err
	}
	delete(img.annotations, AnnotationBaseDigest)
	delete(img.annotations, AnnotationBaseName)
	return nil
}
