package analyze_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		img      func(t *testing.T) *image
		problems int
		wantErr  error // of the first problem
	}{
		{"valid", whiteoutImage, 0, nil},
		{"corrupt layer", func(t *testing.T) *image {
			img := whiteoutImage(t)
			img.corrupt(t, img.layers[0])
			return img
		}, 1, errdef.ErrDigestMismatch},
		{"corrupt config", func(t *testing.T) *image {
			img := whiteoutImage(t)
			img.corrupt(t, img.config)
			return img
		}, 1, errdef.ErrDigestMismatch},
		{"wrong diff_id", func(t *testing.T) *image {
			l := gzLayer(t, file("a", "a"))
			l.diffID = digest.FromString("something else")
			return newImage(t, "", l)
		}, 1, nil},
		{"docker manifest with an OCI layer", func(t *testing.T) *image {
			return newImage(t, oci.MediaTypeDockerManifest, gzLayer(t, file("a", "a")))
		}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := tt.img(t)
			rep, err := analyze.Validate(context.Background(), img.src, "v1", analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != tt.problems || rep.Valid() != (tt.problems == 0) {
				t.Fatalf("problems %+v, want %d", rep.Problems, tt.problems)
			}
			if tt.wantErr != nil && !errors.Is(rep.Problems[0].Err, tt.wantErr) {
				t.Errorf("problem %v, want %v", rep.Problems[0].Err, tt.wantErr)
			}
			if rep.Digest != img.manifest.Digest || rep.Checked == 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}
