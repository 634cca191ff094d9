package build

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// newLayout creates an OCI layout target in a temporary directory.
func newLayout(t *testing.T) *layout.Layout {
	t.Helper()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "layout"))
	if err != nil {
		t.Fatal(err)
	}
	return layout.New(fs)
}

// rootDir makes a small directory tree.
func rootDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// image reads back tag's manifest and config from l.
func image(t *testing.T, l *layout.Layout, ref string) (*oci.Manifest, map[string]any) {
	t.Helper()
	ctx := context.Background()
	desc, err := l.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	m, err := transport.FetchManifest(ctx, l, desc, oci.DefaultManifestLimit)
	if err != nil {
		t.Fatal(err)
	}
	if m.IsIndex() {
		return m, nil
	}
	raw, err := transport.FetchAll(ctx, l, *m.Config, oci.DefaultManifestLimit)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return m, cfg
}

// valid runs stevedore's validator over ref.
func valid(t *testing.T, l *layout.Layout, ref string) {
	t.Helper()
	rep, err := analyze.Validate(context.Background(), l, ref, analyze.Options{Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() {
		t.Errorf("%s is not valid: %+v", ref, rep.Problems)
	}
}

func TestBuild(t *testing.T) {
	ctx := context.Background()
	dir := rootDir(t, map[string]string{"app/main": "bin", "etc/conf": "x=1\n"})
	epoch := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name   string
		opts   Options
		mt     string
		layerT string
	}{
		{"oci gzip", Options{Reproducible: true}, oci.MediaTypeImageManifest, oci.MediaTypeLayerGzip},
		{"oci zstd", Options{Reproducible: true, Compression: layer.Zstd}, oci.MediaTypeImageManifest, oci.MediaTypeLayerZstd},
		{"oci none", Options{SourceDateEpoch: &epoch, Compression: layer.None}, oci.MediaTypeImageManifest, oci.MediaTypeLayer},
		{"docker", Options{Reproducible: true, Format: FormatDocker}, oci.MediaTypeDockerManifest, oci.MediaTypeDockerLayerGzip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			tc.opts.Layers = []Input{{Dir: dir}}
			tc.opts.Platform = "linux/amd64"
			tc.opts.Config = Config{Env: []string{"A=1"}, Entrypoint: []string{"/app/main"}, Cmd: []string{"serve"},
				WorkingDir: "/app", User: "1000", Labels: map[string]string{"k": "v"}, ExposedPorts: []string{"8080"}}
			r1, err := Build(ctx, l, "one", nil, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			r2, err := Build(ctx, l, "two", nil, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r1.Digest != r2.Digest {
				t.Errorf("two builds of one directory: %s and %s", r1.Digest, r2.Digest)
			}
			m, cfg := image(t, l, "one")
			if m.MediaType != tc.mt || len(m.Layers) != 1 || m.Layers[0].MediaType != tc.layerT {
				t.Errorf("manifest %s with layers %+v", m.MediaType, m.Layers)
			}
			rootfs := cfg["rootfs"].(map[string]any)
			if ids := rootfs["diff_ids"].([]any); len(ids) != 1 || ids[0] != r1.Layers[0].DiffID.String() {
				t.Errorf("diff_ids %v, want [%s]", ids, r1.Layers[0].DiffID)
			}
			if h := cfg["history"].([]any); len(h) != 1 {
				t.Errorf("history %v", h)
			}
			want := "1970-01-01T00:00:00Z"
			if tc.opts.SourceDateEpoch != nil {
				want = "2023-11-14T22:13:20Z"
			}
			if cfg["created"] != want || cfg["os"] != "linux" || cfg["architecture"] != "amd64" {
				t.Errorf("created %v os %v arch %v", cfg["created"], cfg["os"], cfg["architecture"])
			}
			c := cfg["config"].(map[string]any)
			if c["WorkingDir"] != "/app" || c["User"] != "1000" || c["ExposedPorts"].(map[string]any)["8080/tcp"] == nil {
				t.Errorf("config %v", c)
			}
			valid(t, l, "one")
		})
	}
}

func TestBuildOnBase(t *testing.T) {
	ctx := context.Background()
	baseL := newLayout(t)
	base, err := Build(ctx, baseL, "base", nil, Options{Layers: []Input{{Dir: rootDir(t, map[string]string{"bin/sh": "sh"})}},
		Platform: "linux/amd64", Config: Config{Env: []string{"PATH=/bin", "KEEP=1"}, Cmd: []string{"sh"}}, Format: FormatDocker})
	if err != nil {
		t.Fatal(err)
	}
	dst := newLayout(t)
	res, err := Build(ctx, dst, "app", &Base{Source: baseL, Ref: "base", Name: "example.com/base:1"}, Options{
		Layers: []Input{{Dir: rootDir(t, map[string]string{"app": "app"})}}, Format: FormatOCI,
		Config: Config{Env: []string{"PATH=/app:/bin"}, Entrypoint: []string{"/app"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, cfg := image(t, dst, "app")
	bm, _ := image(t, baseL, "base")
	if len(m.Layers) != 2 || m.Layers[0].Digest != bm.Layers[0].Digest || m.Layers[0].MediaType != oci.MediaTypeLayerGzip {
		t.Errorf("layers %+v; want the base's, as OCI, then the new one", m.Layers)
	}
	if m.Annotations[AnnotationBaseName] != "example.com/base:1" || m.Annotations[AnnotationBaseDigest] != base.Digest.String() {
		t.Errorf("annotations %v", m.Annotations)
	}
	c := cfg["config"].(map[string]any)
	env, _ := json.Marshal(c["Env"])
	if string(env) != `["PATH=/app:/bin","KEEP=1"]` || c["Cmd"].([]any)[0] != "sh" {
		t.Errorf("env %s cmd %v", env, c["Cmd"])
	}
	if ids := cfg["rootfs"].(map[string]any)["diff_ids"].([]any); len(ids) != 2 || ids[1] != res.Layers[0].DiffID.String() {
		t.Errorf("diff_ids %v", ids)
	}
	valid(t, dst, "app")
}

func TestAppendIndex(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	var entries []oci.Descriptor
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		r, err := Build(ctx, l, "", nil, Options{Platform: p, Layers: []Input{{Dir: rootDir(t, map[string]string{"p": p})}}})
		if err != nil {
			t.Fatal(err)
		}
		plat, _ := parsePlatform(p)
		entries = append(entries, oci.Descriptor{MediaType: r.MediaType, Digest: r.Digest, Size: r.Size, Platform: plat})
	}
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": entries})
	idx := oci.Descriptor{MediaType: oci.MediaTypeImageIndex, Digest: digestOf(raw), Size: int64(len(raw))}
	if err := pushBytes(ctx, l, idx, raw); err != nil {
		t.Fatal(err)
	}
	if err := l.Tag(ctx, idx, "multi"); err != nil {
		t.Fatal(err)
	}
	extra := rootDir(t, map[string]string{"extra": "e"})
	for _, tc := range []struct {
		name, platform string
		changed        []bool
	}{
		{"all", "", []bool{true, true}},
		{"scoped", "linux/arm64", []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := newLayout(t)
			res, err := Append(ctx, &Base{Source: l, Ref: "multi"}, dst, "out", Options{Platform: tc.platform, Layers: []Input{{Dir: extra}}})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := image(t, dst, "out")
			if res.Digest != m.Digest || len(m.Manifests) != 2 {
				t.Fatalf("index %+v", m)
			}
			for i, e := range m.Manifests {
				if changed := e.Digest != entries[i].Digest; changed != tc.changed[i] || e.Platform == nil || e.Platform.Architecture != entries[i].Platform.Architecture {
					t.Errorf("entry %d %+v: changed %v, want %v", i, e, changed, tc.changed[i])
				}
				child, err := transport.FetchManifest(ctx, dst, e, oci.DefaultManifestLimit)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{true: 2, false: 1}[tc.changed[i]]; len(child.Layers) != want {
					t.Errorf("entry %d has %d layers, want %d", i, len(child.Layers), want)
				}
			}
			valid(t, dst, "out")
		})
	}
	if _, err := Append(ctx, &Base{Source: l, Ref: "multi"}, newLayout(t), "x", Options{Platform: "linux/s390x", Layers: []Input{{Dir: extra}}}); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("append to a missing platform: %v", err)
	}
	// The source index is untouched.
	if d, err := l.Resolve(ctx, "multi"); err != nil || d.Digest != idx.Digest {
		t.Errorf("source index now %v (%v), was %s", d.Digest, err, idx.Digest)
	}
}

func TestBuildBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		opts  Options
		class error
	}{
		{"missing dir", Options{Layers: []Input{{Dir: "/nonexistent/dir"}}}, errdef.ErrNotFound},
		{"two sources", Options{Layers: []Input{{Dir: ".", Tar: "x.tar"}}}, errdef.ErrInvalid},
		{"bad compression", Options{Compression: "lz4"}, errdef.ErrInvalid},
		{"bad format", Options{Format: "v1"}, errdef.ErrInvalid},
		{"bad platform", Options{Platform: "linux"}, errdef.ErrInvalid},
		{"bad env", Options{Config: Config{Env: []string{"NOVALUE"}}}, errdef.ErrInvalid},
		{"bad port", Options{Config: Config{ExposedPorts: []string{"http"}}}, errdef.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var berr *Error
			if _, err := Build(ctx, newLayout(t), "x", nil, tc.opts); !errors.Is(err, tc.class) || !errors.As(err, &berr) {
				t.Errorf("error %v, want a *build.Error matching %v", err, tc.class)
			}
		})
	}
}

func digestOf(b []byte) digest.Digest { return digest.FromBytes(b) }
