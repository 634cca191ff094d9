package mutate

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// multiArch stores amd64 and arm64 images and an index of both, tagged "multi".
func multiArch(t *testing.T) (r *repo, amd, arm, idx oci.Descriptor) {
	r = newRepo(t)
	amd = r.image("", oci.MediaTypeImageManifest, "amd64", r.layer("a", "amd"))
	arm = r.image("", oci.MediaTypeImageManifest, "arm64", r.layer("a", "arm"))
	idx = r.index("multi", entry(amd, "amd64"), entry(arm, "arm64"))
	return r, amd, arm, idx
}

func TestApplyScoped(t *testing.T) {
	tests := []struct {
		name        string
		platforms   []string
		changed     []bool // per entry: amd64, arm64
		indexAnnots map[string]string
	}{
		{"all", nil, []bool{true, true}, nil},
		{"arm64 only", []string{"linux/arm64"}, []bool{false, true}, nil},
		{"index annotations", []string{"linux/amd64"}, []bool{true, false}, map[string]string{"idx": "yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, amd, arm, idx := multiArch(t)
			steps := []Step{Config{Env: []string{"X=1"}}}
			if tt.indexAnnots != nil {
				steps = append(steps, IndexAnnotations{Set: tt.indexAnnots})
			}
			res, err := Apply(context.Background(), r.img("multi"), r.l, "out", Options{Platforms: tt.platforms}, steps...)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := r.manifest(res.Digest)
			if len(m.Manifests) != 2 {
				t.Fatalf("%d entries", len(m.Manifests))
			}
			for i, old := range []oci.Descriptor{amd, arm} {
				e := m.Manifests[i]
				if (e.Digest != old.Digest) != tt.changed[i] {
					t.Errorf("entry %d changed = %v, want %v", i, e.Digest != old.Digest, tt.changed[i])
				}
				if e.Platform == nil || e.Platform.Architecture != []string{"amd64", "arm64"}[i] {
					t.Errorf("entry %d lost its platform: %+v", i, e.Platform)
				}
				_, cfg := r.manifest(e.Digest)
				env := cfg["config"].(map[string]any)["Env"].([]any)
				if got := env[len(env)-1] == "X=1"; got != tt.changed[i] {
					t.Errorf("entry %d env %v", i, env)
				}
			}
			if diff := cmp.Diff(tt.indexAnnots, m.Annotations); diff != "" && tt.indexAnnots != nil {
				t.Error(diff)
			}
			if r.resolve("multi") != idx.Digest {
				t.Error("the source tag moved")
			}
			r.valid(res.Digest)
		})
	}
	t.Run("no such platform", func(t *testing.T) {
		r, _, _, _ := multiArch(t)
		_, err := Apply(context.Background(), r.img("multi"), r.l, "out", Options{Platforms: []string{"linux/s390x"}}, Config{Env: []string{"X=1"}})
		if !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("set platform updates the entry", func(t *testing.T) {
		r, _, _, _ := multiArch(t)
		res, err := Apply(context.Background(), r.img("multi"), r.l, "out", Options{Platforms: []string{"linux/arm64"}}, Config{Platform: &oci.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}})
		if err != nil {
			t.Fatal(err)
		}
		m, _ := r.manifest(res.Digest)
		if p := m.Manifests[1].Platform; p == nil || p.Variant != "v8" {
			t.Errorf("platform %+v", p)
		}
	})
}

func TestIndexOps(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	amd := r.image("amd", oci.MediaTypeImageManifest, "amd64", r.layer("a", "amd"))
	arm := r.image("arm", oci.MediaTypeImageManifest, "arm64", r.layer("a", "arm"))
	arm2 := r.image("arm2", oci.MediaTypeImageManifest, "arm64", r.layer("a", "arm2"))

	// Members may come from another layout.
	other := newRepo(t)
	s390 := other.image("s390", oci.MediaTypeImageManifest, "s390x", other.layer("a", "s390"))

	res, err := CreateIndex(ctx, []Image{r.img("amd"), r.img("arm")}, r.l, "idx", IndexOptions{Annotations: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := r.manifest(res.Digest)
	checkEntries(t, "create", m, amd, arm)
	if m.Annotations["k"] != "v" || m.MediaType != oci.MediaTypeImageIndex {
		t.Errorf("index %s %v", m.MediaType, m.Annotations)
	}
	r.valid(res.Digest)

	tests := []struct {
		name string
		op   func() (*Result, error)
		want []oci.Descriptor
		err  error
	}{
		{"add from another layout", func() (*Result, error) {
			return AddToIndex(ctx, r.img("idx"), []Image{other.img("s390")}, r.l, "idx2", IndexOptions{})
		}, []oci.Descriptor{amd, arm, s390}, nil},
		{"add replaces a platform", func() (*Result, error) {
			return AddToIndex(ctx, r.img("idx"), []Image{r.img("arm2")}, r.l, "idx3", IndexOptions{})
		}, []oci.Descriptor{amd, arm2}, nil},
		{"remove", func() (*Result, error) {
			return RemoveFromIndex(ctx, r.img("idx"), []string{"linux/amd64"}, r.l, "idx4", IndexOptions{})
		}, []oci.Descriptor{arm}, nil},
		{"remove nothing", func() (*Result, error) {
			return RemoveFromIndex(ctx, r.img("idx"), []string{"linux/ppc64le"}, r.l, "idx5", IndexOptions{})
		}, nil, errdef.ErrNotFound},
		{"add to a manifest", func() (*Result, error) {
			return AddToIndex(ctx, r.img("amd"), []Image{r.img("arm")}, r.l, "idx6", IndexOptions{})
		}, nil, errdef.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.op()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, _ := r.manifest(res.Digest)
			checkEntries(t, tt.name, m, tt.want...)
			if m.Annotations["k"] != "v" {
				t.Error("index annotations lost")
			}
			r.valid(res.Digest)
		})
	}
}

func checkEntries(t *testing.T, op string, m *oci.Manifest, want ...oci.Descriptor) {
	t.Helper()
	var got, exp []string
	for _, e := range m.Manifests {
		got = append(got, e.Digest.String()+" "+oci.PlatformString(e.Platform))
		if e.Annotations["org.opencontainers.image.ref.name"] != "" {
			t.Errorf("%s: entry carries the layout's ref.name", op)
		}
	}
	for _, d := range want {
		exp = append(exp, d.Digest.String())
	}
	if len(got) != len(exp) {
		t.Fatalf("%s: entries %v, want %v", op, got, exp)
	}
	for i := range got {
		if got[i][:len(exp[i])] != exp[i] || m.Manifests[i].Platform == nil {
			t.Errorf("%s: entry %d = %s, want %s", op, i, got[i], exp[i])
		}
	}
}

func TestTag(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	src := r.image("v1", oci.MediaTypeImageManifest, "amd64", r.layer("a", "a"))
	res, err := Tag(ctx, r.img("v1"), r.l, []string{"latest", "stable"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != src.Digest || r.resolve("latest") != src.Digest || r.resolve("stable") != src.Digest {
		t.Errorf("tags point elsewhere: %+v", res)
	}
	// A target without the manifest refuses: that is a copy.
	if _, err := Tag(ctx, r.img("v1"), newRepo(t).l, []string{"x"}); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("tag into an empty layout: err = %v", err)
	}
}
