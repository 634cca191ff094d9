package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The helpers below write OCI image layouts by hand, for content no peer
// tool will produce (oversized manifests, gigabyte blobs).
// image-spec v1.1.1 image-layout.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md

// initLayout creates dir with its oci-layout marker and an empty index.
func initLayout(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return err
	}
	return writeLayoutIndex(dir, nil)
}

// writeLayoutBlob stores r's bytes under their digest, streaming.
func writeLayoutBlob(dir, mediaType string, r io.Reader) (descriptor, error) {
	tmp, err := os.CreateTemp(filepath.Join(dir, "blobs", "sha256"), ".tmp-")
	if err != nil {
		return descriptor{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tmp, h), r, make([]byte, 1<<20))
	if err != nil {
		tmp.Close()
		return descriptor{}, err
	}
	if err := tmp.Close(); err != nil {
		return descriptor{}, err
	}
	hexd := hex.EncodeToString(h.Sum(nil))
	if err := os.Rename(tmp.Name(), filepath.Join(dir, "blobs", "sha256", hexd)); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + hexd, Size: n}, nil
}

// writeLayoutImage stores an image manifest over config and layers (with
// extra annotations to pad it, when pad > 0) and tags it in index.json.
func writeLayoutImage(dir, tag string, config descriptor, layers []descriptor, pad int) (descriptor, error) {
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        config,
		"layers":        layers,
	}
	if pad > 0 {
		m["annotations"] = map[string]string{"org.example.padding": strings.Repeat("x", pad)}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return descriptor{}, err
	}
	d, err := writeLayoutBlob(dir, "application/vnd.oci.image.manifest.v1+json", strings.NewReader(string(raw)))
	if err != nil {
		return descriptor{}, err
	}
	idx, err := readLayoutIndex(dir)
	if err != nil {
		return descriptor{}, err
	}
	tagged := d
	tagged.Annotations = map[string]string{"org.opencontainers.image.ref.name": tag}
	return d, writeLayoutIndex(dir, append(idx, tagged))
}

func readLayoutIndex(dir string) ([]descriptor, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	var idx manifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s/index.json: %w", dir, err)
	}
	return idx.Manifests, nil
}

func writeLayoutIndex(dir string, ms []descriptor) error {
	if ms == nil {
		ms = []descriptor{}
	}
	b, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     ms,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644)
}

// layoutTagged returns the descriptor index.json tags with tag.
func layoutTagged(dir, tag string) (descriptor, error) {
	idx, err := readLayoutIndex(dir)
	if err != nil {
		return descriptor{}, err
	}
	for _, d := range idx {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			return d, nil
		}
	}
	return descriptor{}, fmt.Errorf("%s: no manifest tagged %q", dir, tag)
}

// layoutBlobPath is where a layout keeps the blob d names.
func layoutBlobPath(dir, d string) string {
	algo, hexd, _ := strings.Cut(d, ":")
	return filepath.Join(dir, "blobs", algo, hexd)
}
