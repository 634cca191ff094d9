package mutate

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

func TestFlatten(t *testing.T) {
	tests := []struct {
		name  string
		steps []Step
		files []string
	}{
		{"whiteouts applied", []Step{Flatten{}}, []string{"etc", "etc/b", "etc/c"}},
		{"zstd", []Step{Flatten{Compression: layer.Zstd}}, []string{"etc", "etc/b", "etc/c"}},
		{"after removing the top layer", []Step{RemoveLayers{Indexes: []int{-1}}, Flatten{}}, []string{"etc", "etc/a", "etc/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRepo(t)
			src := r.image("v1", oci.MediaTypeImageManifest, "amd64",
				r.layer("etc/", "", "etc/a", "a", "etc/b", "b"),
				r.layer("etc/.wh.a", "", "etc/c", "c"))
			res, err := Apply(ctx, r.img("v1"), r.l, "flat", Options{}, tt.steps...)
			if err != nil {
				t.Fatal(err)
			}
			m, cfg := r.manifest(res.Digest)
			if len(m.Layers) != 1 {
				t.Fatalf("%d layers", len(m.Layers))
			}
			if c, _ := layer.CompressionOf(m.Layers[0].MediaType); (c == layer.Zstd) != (tt.name == "zstd") {
				t.Errorf("layer media type %s", m.Layers[0].MediaType)
			}
			if h := cfg["history"].([]any); len(h) != 1 {
				t.Errorf("history %v", h)
			}
			files, err := analyze.Files(ctx, r.l, res.Digest.String(), analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range files {
				got = append(got, f.Path)
			}
			if diff := cmp.Diff(tt.files, got); diff != "" {
				t.Error(diff)
			}
			want(t, cfg, "x-unknown", map[string]any{"kept": true})
			if r.resolve("v1") != src.Digest {
				t.Error("the source tag moved")
			}
			r.valid(res.Digest)
		})
	}
}

func TestRecompress(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	ls := []testLayer{r.layer("a", "a"), r.layer("b", "bb")}
	src := r.image("v1", oci.MediaTypeImageManifest, "amd64", ls...)
	_, srcCfg := r.manifest(src.Digest)
	z, err := Apply(ctx, r.img("v1"), r.l, "zstd", Options{}, Recompress{To: layer.Zstd})
	if err != nil {
		t.Fatal(err)
	}
	m, cfg := r.manifest(z.Digest)
	for i, l := range m.Layers {
		if l.MediaType != oci.MediaTypeLayerZstd || l.Digest == ls[i].desc.Digest {
			t.Errorf("layer %d: %s %s", i, l.MediaType, l.Digest)
		}
	}
	want(t, cfg, "rootfs", srcCfg["rootfs"])
	r.valid(z.Digest)

	// And back: gzip again, diff_ids unchanged.
	g, err := Apply(ctx, r.img("zstd"), r.l, "gzip", Options{}, Recompress{To: layer.Gzip}, Convert{To: FormatDocker})
	if err != nil {
		t.Fatal(err)
	}
	m, cfg = r.manifest(g.Digest)
	for i, l := range m.Layers {
		if l.MediaType != oci.MediaTypeDockerLayerGzip {
			t.Errorf("layer %d: %s", i, l.MediaType)
		}
	}
	want(t, cfg, "rootfs", srcCfg["rootfs"])
	r.valid(g.Digest)
	if r.resolve("v1") != src.Digest {
		t.Error("the source tag moved")
	}
}
