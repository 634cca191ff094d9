package mutate

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// repo is an OCI layout under t.TempDir() that tests write images into.
type repo struct {
	t  *testing.T
	fs *store.FS
	l  *layout.Layout
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	fs, err := store.CreateFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &repo{t: t, fs: fs, l: layout.New(fs)}
}

func (r *repo) put(mt string, b []byte) oci.Descriptor {
	r.t.Helper()
	d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := r.fs.Put(context.Background(), d, bytes.NewReader(b)); err != nil {
		r.t.Fatal(err)
	}
	return d
}

func (r *repo) putJSON(mt string, v any) oci.Descriptor {
	r.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.put(mt, b)
}

func (r *repo) tag(d oci.Descriptor, tag string) {
	r.t.Helper()
	if err := r.fs.Tag(context.Background(), d, tag); err != nil {
		r.t.Fatal(err)
	}
}

// testLayer is a gzip layer with its diff_id.
type testLayer struct {
	desc   oci.Descriptor
	diffID digest.Digest
}

// layer stores a gzip layer holding files (name → content; a name ending
// in "/" is a directory, ".wh." names are whiteouts).
func (r *repo) layer(files ...string) testLayer {
	r.t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for i := 0; i+1 < len(files); i += 2 {
		h := &tar.Header{Name: files[i], Mode: 0o644, ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg, Size: int64(len(files[i+1]))}
		if files[i][len(files[i])-1] == '/' {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		tw.WriteHeader(h)
		tw.Write([]byte(files[i+1])[:h.Size])
	}
	tw.Close()
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(tb.Bytes())
	zw.Close()
	return testLayer{r.put(oci.MediaTypeLayerGzip, gb.Bytes()), digest.FromBytes(tb.Bytes())}
}

// image stores an image of the given layers, with a history entry per layer
// plus one empty entry, a config holding fields stevedore does not model,
// and tags it.
func (r *repo) image(tag, mt, arch string, layers ...testLayer) oci.Descriptor {
	r.t.Helper()
	cfgType := oci.MediaTypeImageConfig
	if mt == oci.MediaTypeDockerManifest {
		cfgType = oci.MediaTypeDockerConfig
	}
	ids := []digest.Digest{}
	descs := []oci.Descriptor{}
	hist := []map[string]any{}
	for i, l := range layers {
		ids = append(ids, l.diffID)
		descs = append(descs, l.desc)
		hist = append(hist, map[string]any{"created_by": tag + " layer " + string(rune('0'+i))})
	}
	hist = append(hist, map[string]any{"created_by": tag + " ENV", "empty_layer": true})
	cfg := r.putJSON(cfgType, map[string]any{
		"created": "2024-01-02T03:04:05Z", "os": "linux", "architecture": arch,
		"x-unknown": map[string]any{"kept": true},
		"config": map[string]any{
			"Env":         []string{"PATH=/usr/bin", "A=1"},
			"Cmd":         []string{"/bin/sh"},
			"Labels":      map[string]string{"keep": "me", "drop": "me"},
			"Healthcheck": map[string]any{"Test": []string{"CMD", "true"}},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": ids},
		"history": hist,
	})
	m := r.putJSON(mt, map[string]any{"schemaVersion": 2, "mediaType": mt, "config": cfg, "layers": descs, "annotations": map[string]string{"a": "1"}})
	if tag != "" {
		r.tag(m, tag)
	}
	return m
}

// index stores and tags an index of the given entries.
func (r *repo) index(tag string, entries ...oci.Descriptor) oci.Descriptor {
	r.t.Helper()
	d := r.putJSON(oci.MediaTypeImageIndex, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": entries, "x-index-extra": 1})
	r.tag(d, tag)
	return d
}

// entry is an index entry for m on linux/arch.
func entry(m oci.Descriptor, arch string) oci.Descriptor {
	m.Platform = &oci.Platform{OS: "linux", Architecture: arch}
	return m
}

func (r *repo) img(ref string) Image { return Image{Src: r.l, Ref: ref} }

// manifest reads back a manifest and its config as generic JSON.
func (r *repo) manifest(d digest.Digest) (*oci.Manifest, map[string]any) {
	r.t.Helper()
	ctx := context.Background()
	desc, err := r.l.Resolve(ctx, d.String())
	if err != nil {
		r.t.Fatal(err)
	}
	m, err := transport.FetchManifest(ctx, r.l, desc, 1<<20)
	if err != nil {
		r.t.Fatal(err)
	}
	if m.IsIndex() {
		return m, nil
	}
	b, err := transport.FetchAll(ctx, r.l, *m.Config, 1<<20)
	if err != nil {
		r.t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		r.t.Fatal(err)
	}
	return m, cfg
}

// resolve returns what tag names now.
func (r *repo) resolve(tag string) digest.Digest {
	r.t.Helper()
	d, err := r.l.Resolve(context.Background(), tag)
	if err != nil {
		r.t.Fatal(err)
	}
	return d.Digest
}

// valid runs analyze.Validate on d (every platform of an index).
func (r *repo) valid(d digest.Digest) {
	r.t.Helper()
	rep, err := analyze.Validate(context.Background(), r.l, d.String(), analyze.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	if !rep.Valid() {
		r.t.Fatalf("result %s is not valid: %+v", d, rep.Problems)
	}
}

func layerDigests(ls []oci.Descriptor) []digest.Digest {
	var out []digest.Digest
	for _, l := range ls {
		out = append(out, l.Digest)
	}
	return out
}

// mustOpen opens a blob of r for copying into another layout.
func mustOpen(t *testing.T, r *repo, d oci.Descriptor) io.Reader {
	t.Helper()
	rc, err := r.l.Fetch(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return rc
}
