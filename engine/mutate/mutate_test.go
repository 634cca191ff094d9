package mutate

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

func ptr[T any](v T) *T { return &v }

func TestApplyConfig(t *testing.T) {
	created := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	tests := []struct {
		name  string
		steps []Step
		check func(t *testing.T, m *oci.Manifest, cfg map[string]any)
	}{
		{"env", []Step{Config{Env: []string{"A=2", "B=3"}, UnsetEnv: []string{"PATH"}}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "config.Env", []any{"A=2", "B=3"})
		}},
		{"entrypoint and cmd", []Step{Config{Entrypoint: ptr([]string{"/app", "--serve"}), Cmd: ptr([]string{})}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "config.Entrypoint", []any{"/app", "--serve"})
			want(t, cfg, "config.Cmd", nil)
		}},
		{"user and workdir", []Step{Config{User: ptr("1000:1000"), WorkingDir: ptr("/srv")}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "config.User", "1000:1000")
			want(t, cfg, "config.WorkingDir", "/srv")
		}},
		{"labels", []Step{Config{Labels: map[string]string{"new": "x"}, RemoveLabels: []string{"drop"}}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "config.Labels", map[string]any{"keep": "me", "new": "x"})
		}},
		{"ports and volumes", []Step{Config{ExposedPorts: []string{"8080", "53/udp"}, Volumes: []string{"/data"}}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "config.ExposedPorts", map[string]any{"8080/tcp": map[string]any{}, "53/udp": map[string]any{}})
			want(t, cfg, "config.Volumes", map[string]any{"/data": map[string]any{}})
		}},
		{"platform", []Step{Config{Platform: &oci.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "architecture", "arm")
			want(t, cfg, "variant", "v7")
		}},
		{"created", []Step{Config{Created: &created}}, func(t *testing.T, _ *oci.Manifest, cfg map[string]any) {
			want(t, cfg, "created", "2020-05-06T07:08:09Z")
		}},
		{"annotations", []Step{Annotations{Set: map[string]string{"b": "2"}, Remove: []string{"a"}}}, func(t *testing.T, m *oci.Manifest, _ map[string]any) {
			if diff := cmp.Diff(map[string]string{"b": "2"}, m.Annotations); diff != "" {
				t.Error(diff)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRepo(t)
			l0, l1 := r.layer("etc/", "", "etc/a", "a"), r.layer("etc/b", "b")
			src := r.image("v1", oci.MediaTypeImageManifest, "amd64", l0, l1)
			srcM, srcCfg := r.manifest(src.Digest)
			res, err := Apply(ctx, r.img("v1"), r.l, "v2", Options{}, tt.steps...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest == src.Digest || res.Source != src.Digest || r.resolve("v2") != res.Digest {
				t.Fatalf("result %+v", res)
			}
			if r.resolve("v1") != src.Digest {
				t.Error("the source tag moved")
			}
			m, cfg := r.manifest(res.Digest)
			tt.check(t, m, cfg)
			// Layers are the same blobs; fields no edit named survive.
			if diff := cmp.Diff(srcM.Layers, m.Layers); diff != "" {
				t.Errorf("layers changed: %s", diff)
			}
			want(t, cfg, "x-unknown", map[string]any{"kept": true})
			want(t, cfg, "config.Healthcheck", map[string]any{"Test": []any{"CMD", "true"}})
			want(t, cfg, "rootfs", srcCfg["rootfs"])
			want(t, cfg, "history", srcCfg["history"])
			r.valid(res.Digest)
		})
	}
}

// want compares a dotted path of a decoded JSON object.
func want(t *testing.T, doc map[string]any, path string, v any) {
	t.Helper()
	var cur any = doc
	for _, k := range splitPath(path) {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	if !reflect.DeepEqual(cur, v) {
		t.Errorf("%s = %#v, want %#v", path, cur, v)
	}
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

func TestApplyBadInput(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		steps []Step
		want  error
	}{
		{"bad env", Options{}, []Step{Config{Env: []string{"NOEQUALS"}}}, errdef.ErrInvalid},
		{"bad port", Options{}, []Step{Config{ExposedPorts: []string{"http"}}}, errdef.ErrInvalid},
		{"bad platform scope", Options{Platforms: []string{"linux"}}, []Step{Config{}}, errdef.ErrInvalid},
		{"layer out of range", Options{}, []Step{RemoveLayers{Indexes: []int{5}}}, errdef.ErrInvalid},
		{"index annotations on a manifest", Options{}, []Step{IndexAnnotations{Set: map[string]string{"a": "b"}}}, errdef.ErrInvalid},
		{"convert to nothing", Options{}, []Step{Convert{To: "rpm"}}, errdef.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			src := r.image("v1", oci.MediaTypeImageManifest, "amd64", r.layer("a", "a"))
			_, err := Apply(context.Background(), r.img("v1"), r.l, "v2", tt.opts, tt.steps...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if r.resolve("v1") != src.Digest {
				t.Error("the source tag moved")
			}
		})
	}
}

func TestRemoveLayers(t *testing.T) {
	tests := []struct {
		name    string
		remove  []int
		keep    []int    // layer indexes of the source that remain
		history []string // created_by of the remaining history
	}{
		{"top", []int{-1}, []int{0, 1}, []string{"v1 layer 0", "v1 layer 1", "v1 ENV"}},
		{"base", []int{0}, []int{1, 2}, []string{"v1 layer 1", "v1 layer 2", "v1 ENV"}},
		{"two", []int{0, 2}, []int{1}, []string{"v1 layer 1", "v1 ENV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			ls := []testLayer{r.layer("a", "a"), r.layer("b", "b"), r.layer("c", "c")}
			src := r.image("v1", oci.MediaTypeImageManifest, "amd64", ls...)
			res, err := Apply(context.Background(), r.img("v1"), r.l, "v2", Options{}, RemoveLayers{Indexes: tt.remove})
			if err != nil {
				t.Fatal(err)
			}
			m, cfg := r.manifest(res.Digest)
			var wantLayers, wantIDs []digest.Digest
			for _, i := range tt.keep {
				wantLayers = append(wantLayers, ls[i].desc.Digest)
				wantIDs = append(wantIDs, ls[i].diffID)
			}
			if diff := cmp.Diff(wantLayers, layerDigests(m.Layers)); diff != "" {
				t.Error(diff)
			}
			var ids []any
			for _, d := range wantIDs {
				ids = append(ids, string(d))
			}
			want(t, cfg, "rootfs.diff_ids", ids)
			var hist []string
			for _, h := range cfg["history"].([]any) {
				hist = append(hist, h.(map[string]any)["created_by"].(string))
			}
			if diff := cmp.Diff(tt.history, hist); diff != "" {
				t.Error(diff)
			}
			if r.resolve("v1") != src.Digest {
				t.Error("the source tag moved")
			}
			r.valid(res.Digest)
		})
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name                     string
		from, to                 string
		wantManifest, wantConfig string
		wantLayer                string
	}{
		{"oci to docker", oci.MediaTypeImageManifest, FormatDocker, oci.MediaTypeDockerManifest, oci.MediaTypeDockerConfig, oci.MediaTypeDockerLayerGzip},
		{"docker to oci", oci.MediaTypeDockerManifest, FormatOCI, oci.MediaTypeImageManifest, oci.MediaTypeImageConfig, oci.MediaTypeLayerGzip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRepo(t)
			l := r.layer("a", "a")
			if tt.from == oci.MediaTypeDockerManifest {
				l.desc.MediaType = oci.MediaTypeDockerLayerGzip
			}
			src := r.image("v1", tt.from, "amd64", l)
			res, err := Apply(context.Background(), r.img("v1"), r.l, "v2", Options{}, Convert{To: tt.to})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := r.manifest(res.Digest)
			if m.MediaType != tt.wantManifest || res.MediaType != tt.wantManifest || m.Config.MediaType != tt.wantConfig || m.Layers[0].MediaType != tt.wantLayer {
				t.Errorf("got %s / %s / %s", m.MediaType, m.Config.MediaType, m.Layers[0].MediaType)
			}
			if m.Layers[0].Digest != l.desc.Digest {
				t.Error("layer digest changed")
			}
			if res.Digest == src.Digest {
				t.Error("manifest digest did not change")
			}
			r.valid(res.Digest)
		})
	}
}
