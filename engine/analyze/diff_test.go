package analyze_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

func TestDiff(t *testing.T) {
	ctx := context.Background()
	base := gzLayer(t, dir("etc/"), file("etc/same", "same"), file("etc/gone", "x"), file("etc/edit", "aaaa"), file("etc/grow", "a"))
	a := newImage(t, "", base)
	b := newImage(t, "", base, gzLayer(t,
		file("etc/.wh.gone", ""),
		file("etc/edit", "bbbb"), // same size, other content
		file("etc/grow", "abc"),
		file("etc/new", "n"),
		file("etc/same", "same"), // rewritten, identical content
	))
	rep, err := analyze.Diff(ctx, a.src, "v1", b.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths := func(fs []analyze.FileInfo) []string {
		out := []string{}
		for _, f := range fs {
			out = append(out, f.Path)
		}
		return out
	}
	type change struct {
		Path string
		What []string
	}
	var changed []change
	for _, c := range rep.Changed {
		changed = append(changed, change{c.Path, c.What})
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"added", paths(rep.Added), []string{"etc/new"}},
		{"removed", paths(rep.Removed), []string{"etc/gone"}},
		{"changed", changed, []change{{"etc/edit", []string{"content"}}, {"etc/grow", []string{"size"}}}},
		{"shared layers", rep.SharedLayers, 1},
		// The configs differ only in rootfs, which the diff leaves out.
		{"config", len(rep.Config), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestDiffConfig(t *testing.T) {
	ctx := context.Background()
	l := gzLayer(t, file("a", "a"))
	a := newImage(t, "", l)
	b := newImage(t, "", l)
	b.setConfig(t, map[string]any{"os": "linux", "architecture": "arm64", "config": map[string]any{"Env": []string{"A=1"}, "Labels": map[string]string{"v": "2"}}})
	rep, err := analyze.Diff(ctx, a.src, "v1", b.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]string{}
	for _, f := range rep.Config {
		got[f.Field] = [2]string{string(f.A), string(f.B)}
	}
	want := map[string][2]string{
		"architecture": {`"amd64"`, `"arm64"`},
		"config":       {`null`, `{"Env":["A=1"],"Labels":{"v":"2"}}`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if len(rep.Added)+len(rep.Removed)+len(rep.Changed) != 0 {
		t.Errorf("files differ: %+v", rep)
	}
}

// configJSON returns the image's config as generic JSON.
func (img *image) configJSON(t *testing.T) map[string]any {
	t.Helper()
	rc, err := img.src.Fetch(context.Background(), img.config)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.NewDecoder(rc).Decode(&v); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	return v
}

// setConfig replaces the image's config (keeping its rootfs when cfg has
// none) and re-tags v1 to a manifest naming it.
func (img *image) setConfig(t *testing.T, cfg map[string]any) {
	t.Helper()
	ctx := context.Background()
	if _, ok := cfg["rootfs"]; !ok {
		cfg["rootfs"] = img.configJSON(t)["rootfs"]
	}
	fs, err := store.OpenFS(img.dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(mt string, v any) oci.Descriptor {
		b, _ := json.Marshal(v)
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	img.config = put(img.config.MediaType, cfg)
	img.manifest = put(img.manifest.MediaType, map[string]any{"schemaVersion": 2, "mediaType": img.manifest.MediaType, "config": img.config, "layers": img.layers})
	if err := fs.Tag(ctx, img.manifest, "v1"); err != nil {
		t.Fatal(err)
	}
}
