package copy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// TestCopyReferrers: --referrers brings an SBOM attached to the image, a
// signature attached to the SBOM, and a legacy cosign tag, to every kind of
// target, where they can be listed again.
func TestCopyReferrers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fs, err := store.OpenFS(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(v any) oci.Descriptor {
		raw, _ := json.Marshal(v)
		mt := oci.MediaTypeImageManifest
		if _, ok := v.(map[string]any)["schemaVersion"]; !ok {
			mt = oci.MediaTypeEmptyJSON
		}
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
		if err := fs.Put(ctx, d, bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	empty := put(map[string]any{})
	art := func(at string, subject oci.Descriptor) oci.Descriptor {
		d := put(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "artifactType": at, "config": empty, "layers": []any{empty}, "subject": subject})
		if err := fs.AddRoot(ctx, d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	sbom := art("application/spdx+json", f.image)
	sig := art("application/vnd.dev.sigstore.bundle+json", sbom)
	legacy := put(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": empty, "layers": []any{empty}})
	if err := fs.Tag(ctx, legacy, transport.FallbackTag(f.image)+".sig"); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dst := tg.new(t)
			res, err := copy.Copy(ctx, f.src, "v1", dst, "v1", copy.Options{Referrers: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Referrers != 3 || res.Digest != f.image.Digest {
				t.Errorf("result %+v, want 3 referrers", res)
			}
			for _, d := range []oci.Descriptor{sbom, sig, legacy} {
				if !has(t, dst, d) {
					t.Errorf("destination lacks %s", d.Digest)
				}
			}
			lister := dst.(transport.ReferrerLister)
			refs, err := lister.Referrers(ctx, f.image)
			if err != nil || len(refs) != 2 {
				t.Fatalf("referrers of the image at the destination: %v, %v", refs, err)
			}
			refs, err = lister.Referrers(ctx, sbom)
			if err != nil || len(refs) != 1 || refs[0].Digest != sig.Digest {
				t.Fatalf("referrers of the SBOM at the destination: %v, %v", refs, err)
			}
		})
	}
	// Without the option, none travel.
	dst := layout.New(mustCreate(t))
	res, err := copy.Copy(ctx, f.src, "v1", dst, "v1", copy.Options{})
	if err != nil || res.Referrers != 0 {
		t.Fatalf("%+v, %v", res, err)
	}
	if ok, _ := dst.Exists(ctx, sbom); ok {
		t.Error("referrer copied without Referrers")
	}
}

func mustCreate(t *testing.T) *store.FS {
	t.Helper()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
