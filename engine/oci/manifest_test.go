package oci

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestParseManifest(t *testing.T) {
	tests := []struct {
		file      string
		mediaType string // as a transport reported it
		wantType  string
		children  int
		wantErr   error
	}{
		{"oci-manifest.json", "", MediaTypeImageManifest, 3, nil},
		{"oci-manifest.json", MediaTypeImageManifest, MediaTypeImageManifest, 3, nil},
		{"oci-index.json", "", MediaTypeImageIndex, 2, nil},
		{"docker-manifest.json", "", MediaTypeDockerManifest, 2, nil},
		{"docker-list.json", "application/json", MediaTypeDockerManifestList, 2, nil},
		{"artifact.json", "", MediaTypeImageManifest, 2, nil},
		{"schema1.json", "", "", 0, errdef.ErrUnsupported},
		{"no-config.json", MediaTypeImageManifest, "", 0, errdef.ErrInvalid},
		{"bad-digest.json", "", "", 0, errdef.ErrInvalid},
		{"not-json.json", "", "", 0, errdef.ErrInvalid},
		{"unknown-type.json", "", "", 0, errdef.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := ParseManifest(tt.mediaType, raw)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != tt.wantType || len(m.Children()) != tt.children {
				t.Errorf("got %s with %d children", m.MediaType, len(m.Children()))
			}
			if m.Digest != digest.FromBytes(raw) || string(m.Raw) != string(raw) {
				t.Error("raw bytes or digest not kept")
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	entries, _ := os.ReadDir("testdata")
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil && !e.IsDir() {
			f.Add("", b)
		}
	}
	f.Fuzz(func(t *testing.T, mediaType string, raw []byte) {
		m, err := ParseManifest(mediaType, raw)
		if err != nil {
			return
		}
		for _, c := range m.Children() {
			if c.Digest.Validate() != nil || c.Size < 0 {
				t.Fatalf("accepted a bad child %v", c)
			}
		}
	})
}
