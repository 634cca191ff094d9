package mirror_test

import (
	"context"
	"fmt"
	"testing"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// TestMirrorPlatformsFilteredIndex: several platforms mirror as an index of
// just those platforms (the digest copy.FilterIndex promises), without the
// other platforms' content; a second run finds it up to date, and a dry
// run reports the filtered digest.
func TestMirrorPlatformsFilteredIndex(t *testing.T) {
	src, dst := newServer(t), newServer(t)
	app := src.repo(t, "org/multi")
	var entries []oci.Descriptor
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		d := app.image(arch, "base", arch+" layer")
		d.Platform = &oci.Platform{OS: "linux", Architecture: arch}
		entries = append(entries, d)
	}
	index := app.json(oci.MediaTypeImageIndex, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": entries})
	app.tag(index, "v1")
	rc, err := app.repo.Fetch(context.Background(), index)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := oci.ReadAllVerified(rc, index.Digest, index.Size, oci.DefaultManifestLimit)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := imgcopy.FilterIndex(index, raw, []string{"linux/amd64", "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
destination: {registry: %q}
platforms: [linux/amd64, linux/arm64]
sources:
  - images: [%s/org/multi:v1]
`, dst.host, src.host)
	for _, tc := range []struct {
		name   string
		opts   mirror.Options
		action string
	}{
		{"dry run", mirror.Options{DryRun: true}, mirror.ActionWouldCopy},
		{"first run", mirror.Options{}, mirror.ActionCopied},
		{"second run", mirror.Options{}, mirror.ActionSkipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := run(t, cfg, tc.opts)
			if len(rep.Images) != 1 {
				t.Fatalf("report %+v", rep.Images)
			}
			im := rep.Images[0]
			if im.Action != tc.action || im.SourceDigest != want.Digest {
				t.Errorf("%s %s (%+v), want %s %s", im.Action, im.SourceDigest, im.Error, tc.action, want.Digest)
			}
		})
	}
	out := dst.repo(t, "org/multi")
	got, err := out.resolve("v1")
	if err != nil || got.Digest != want.Digest {
		t.Fatalf("destination v1 is %v (%v), want the filtered index %s", got.Digest, err, want.Digest)
	}
	if ok, _ := out.repo.Exists(context.Background(), entries[2]); ok {
		t.Error("the s390x manifest was copied")
	}
	for _, e := range entries[:2] {
		if ok, _ := out.repo.Exists(context.Background(), e); !ok {
			t.Errorf("%s manifest missing", e.Platform.Architecture)
		}
	}
}
