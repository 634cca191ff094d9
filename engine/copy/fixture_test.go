package copy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// fixture is a source layout: tag "v1" is an image with a small layer and a
// 3 MiB one; tag "multi" is an index over a linux/amd64 and a linux/arm64/v8
// image that share a base layer.
type fixture struct {
	dir                 string
	src                 *layout.Layout
	image, index        oci.Descriptor
	amd64, arm64        oci.Descriptor
	bigLayer, armLayer  oci.Descriptor
	amdLayer, baseLayer oci.Descriptor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir()}
	fs, err := store.CreateFS(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.src = layout.New(fs)
	put := func(mt string, b []byte) oci.Descriptor {
		t.Helper()
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	js := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	image := func(arch string, layers ...oci.Descriptor) oci.Descriptor {
		cfg := put(oci.MediaTypeImageConfig, js(map[string]any{"os": "linux", "architecture": arch, "rootfs": map[string]any{"type": "layers", "diff_ids": []string{}}}))
		return put(oci.MediaTypeImageManifest, js(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": layers}))
	}
	big := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	f.bigLayer = put(oci.MediaTypeLayer, big)
	f.image = image("amd64", put(oci.MediaTypeLayer, []byte("small layer")), f.bigLayer)
	if err := fs.Tag(ctx, f.image, "v1"); err != nil {
		t.Fatal(err)
	}
	f.baseLayer = put(oci.MediaTypeLayer, []byte("shared base"))
	f.amdLayer = put(oci.MediaTypeLayer, []byte("amd64 only"))
	f.armLayer = put(oci.MediaTypeLayer, []byte("arm64 only"))
	f.amd64 = image("amd64", f.baseLayer, f.amdLayer)
	f.arm64 = image("arm64", f.baseLayer, f.armLayer)
	amd, arm := f.amd64, f.arm64
	amd.Platform = &oci.Platform{OS: "linux", Architecture: "amd64"}
	arm.Platform = &oci.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	f.index = put(oci.MediaTypeImageIndex, js(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{amd, arm}}))
	if err := fs.Tag(ctx, f.index, "multi"); err != nil {
		t.Fatal(err)
	}
	return f
}

// corrupt flips the last byte of d's blob file.
func (f *fixture) corrupt(t *testing.T, d oci.Descriptor) {
	t.Helper()
	p := filepath.Join(f.dir, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1]++
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// endpoint is a copy destination that can be read back.
type endpoint interface {
	transport.Source
	transport.Target
}

// newLayout returns an empty layout target.
func newLayout(t *testing.T) endpoint {
	t.Helper()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "dst"))
	if err != nil {
		t.Fatal(err)
	}
	return layout.New(fs)
}

// newRegistry returns a repository of a fresh in-process registry.
func newRegistry(t *testing.T) endpoint {
	t.Helper()
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return registry.New(strings.TrimPrefix(srv.URL, "http://"), "copy/test", registry.Options{})
}

// has reports whether ep holds d, reading it whole (and so verifying it).
func has(t *testing.T, ep endpoint, d oci.Descriptor) bool {
	t.Helper()
	ok, err := ep.Exists(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return false
	}
	rc, err := ep.Fetch(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatalf("reading back %s: %v", d.Digest, err)
	}
	return true
}
