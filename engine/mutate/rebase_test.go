package mutate

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

func TestRebase(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	b0, b1 := r.layer("etc/", "", "etc/os", "old"), r.layer("lib", "old")
	n0 := r.layer("etc/", "", "etc/os", "new")
	app := r.layer("app", "app")
	oldBase := r.image("old", oci.MediaTypeImageManifest, "amd64", b0, b1)
	newBase := r.image("new", oci.MediaTypeImageManifest, "amd64", n0)
	src := r.image("app", oci.MediaTypeImageManifest, "amd64", b0, b1, app)

	// A second repository holds the new base: rebase borrows its layer.
	other := newRepo(t)
	other.fs.Put(ctx, n0.desc, mustOpen(t, r, n0.desc))
	other.image("new", oci.MediaTypeImageManifest, "amd64", n0)

	tests := []struct {
		name    string
		oldBase Image
		newBase Image
		err     error
	}{
		{"same repository", r.img("old"), Image{Src: r.l, Ref: "new", Name: "example.com/base:new"}, nil},
		{"new base elsewhere", r.img("old"), Image{Src: other.l, Ref: "new", Name: "example.com/base:new"}, nil},
		{"not built on it", r.img("new"), r.img("old"), errdef.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Apply(ctx, r.img("app"), r.l, "rebased", Options{}, Rebase{OldBase: tt.oldBase, NewBase: tt.newBase})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, cfg := r.manifest(res.Digest)
			if diff := cmp.Diff([]digest.Digest{n0.desc.Digest, app.desc.Digest}, layerDigests(m.Layers)); diff != "" {
				t.Error(diff)
			}
			want(t, cfg, "rootfs.diff_ids", []any{string(n0.diffID), string(app.diffID)})
			var hist []string
			for _, h := range cfg["history"].([]any) {
				hist = append(hist, h.(map[string]any)["created_by"].(string))
			}
			// the new base's entries, then the app's after those making the old base's two layers.
			if diff := cmp.Diff([]string{"new layer 0", "new ENV", "app layer 2", "app ENV"}, hist); diff != "" {
				t.Error(diff)
			}
			if m.Annotations[AnnotationBaseDigest] != newBase.Digest.String() || m.Annotations[AnnotationBaseName] != "example.com/base:new" {
				t.Errorf("annotations %v", m.Annotations)
			}
			if r.resolve("app") != src.Digest || r.resolve("old") != oldBase.Digest {
				t.Error("a source tag moved")
			}
			r.valid(res.Digest)
		})
	}
}

func TestRebaseAnnotationMismatch(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	b0 := r.layer("a", "a")
	r.image("old", oci.MediaTypeImageManifest, "amd64", b0)
	r.image("new", oci.MediaTypeImageManifest, "amd64", r.layer("b", "b"))
	r.image("app", oci.MediaTypeImageManifest, "amd64", b0, r.layer("c", "c"))
	// Claim another base than the old one.
	if _, err := Apply(ctx, r.img("app"), r.l, "app", Options{}, Annotations{Set: map[string]string{AnnotationBaseDigest: digest.FromString("another base").String()}}); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(ctx, r.img("app"), r.l, "x", Options{}, Rebase{OldBase: r.img("old"), NewBase: r.img("new")})
	if !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}
