package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport/archive"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// image is a one-image OCI layout whose layers are a gzip tar and an
// uncompressed one, with a config whose diff IDs are right.
type image struct {
	src               *layout.Layout
	manifest, config  oci.Descriptor
	gzLayer, rawLayer oci.Descriptor
	diffIDs           []digest.Digest
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for n, c := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Size: int64(len(c)), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(c))
	}
	tw.Close()
	return b.Bytes()
}

func newImage(t *testing.T) *image {
	t.Helper()
	ctx := context.Background()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "src"))
	if err != nil {
		t.Fatal(err)
	}
	im := &image{src: layout.New(fs)}
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	t1 := tarOf(t, map[string]string{"a.txt": strings.Repeat("compressible ", 50000)})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(t1)
	zw.Close()
	t2 := tarOf(t, map[string]string{"b.txt": "raw"})
	im.gzLayer = put(oci.MediaTypeLayerGzip, gz.Bytes())
	im.rawLayer = put(oci.MediaTypeLayer, t2)
	im.diffIDs = []digest.Digest{digest.FromBytes(t1), digest.FromBytes(t2)}
	cfg, _ := json.Marshal(map[string]any{"os": "linux", "architecture": "amd64", "rootfs": map[string]any{"type": "layers", "diff_ids": im.diffIDs}})
	im.config = put(oci.MediaTypeImageConfig, cfg)
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": im.config, "layers": []oci.Descriptor{im.gzLayer, im.rawLayer}})
	im.manifest = put(oci.MediaTypeImageManifest, m)
	if err := fs.Tag(ctx, im.manifest, "v1"); err != nil {
		t.Fatal(err)
	}
	return im
}

func newLayout(t *testing.T) *layout.Layout {
	t.Helper()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "dst"))
	if err != nil {
		t.Fatal(err)
	}
	return layout.New(fs)
}

// TestOCIArchiveRoundTrip: layout → oci-archive → layout keeps every digest,
// and a second tag of the same image shares its blobs.
func TestOCIArchiveRoundTrip(t *testing.T) {
	ctx := context.Background()
	im := newImage(t)
	path := filepath.Join(t.TempDir(), "img.tar")
	w, err := createOCI(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("archive visible before Commit: %v", err)
	}
	res, err := imgcopy.Copy(ctx, im.src, "v1", w, "t1", imgcopy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("archive visible before Commit: %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if res.Digest != im.manifest.Digest || res.BlobsCopied != 3 {
		t.Fatalf("result %+v", res)
	}
	r, err := openOCI(t, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"t1", "", im.manifest.Digest.String()} {
		got, err := r.Resolve(ctx, ref)
		if err != nil || got.Digest != im.manifest.Digest {
			t.Errorf("Resolve(%q) = %v, %v", ref, got.Digest, err)
		}
	}
	if _, err := r.Resolve(ctx, "nope"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Resolve(nope) = %v", err)
	}
	rc, err := r.FetchRange(ctx, im.rawLayer, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if len(b) != 5 {
		t.Errorf("FetchRange read %d bytes", len(b))
	}
	dst := newLayout(t)
	res, err = imgcopy.Copy(ctx, r, "t1", dst, "back", imgcopy.Options{})
	if err != nil || res.Digest != im.manifest.Digest {
		t.Fatalf("copy back: %+v, %v", res, err)
	}
	for _, d := range []oci.Descriptor{im.gzLayer, im.rawLayer, im.config} {
		if ok, _ := dst.Exists(ctx, d); !ok {
			t.Errorf("round trip lost %s", d.Digest)
		}
	}
}

// TestOCIWriterRollback: a blob that fails verification leaves no entry,
// the archive stays readable, and Abort leaves no file.
func TestOCIWriterRollback(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.tar")
	w, err := createOCI(t, path)
	if err != nil {
		t.Fatal(err)
	}
	good := []byte("good blob")
	gd := oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: digest.FromBytes(good), Size: int64(len(good))}
	bad := oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: digest.FromString("other"), Size: int64(len(good))}
	for _, tc := range []struct {
		name string
		d    oci.Descriptor
		body string
		want error
	}{
		{"digest mismatch", bad, string(good), errdef.ErrDigestMismatch},
		{"short", gd, "good", errdef.ErrSizeMismatch},
		{"long", gd, "good blob!", errdef.ErrSizeMismatch},
		{"good", gd, string(good), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := w.Push(ctx, tc.d, strings.NewReader(tc.body))
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("Push = %v, want %v", err, tc.want)
			}
		})
	}
	if ok, _ := w.Exists(ctx, bad); ok {
		t.Error("failed blob recorded")
	}
	if err := w.Tag(ctx, bad, "x"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Tag of an absent manifest = %v", err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := openOCI(t, path)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.Fetch(ctx, gd)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rc); err != nil || !bytes.Equal(b, good) {
		t.Errorf("read back %q, %v", b, err)
	}
	rc.Close()
	if _, err := r.Fetch(ctx, bad); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("failed blob is in the archive: %v", err)
	}

	p2 := filepath.Join(t.TempDir(), "b.tar")
	w2, _ := createOCI(t, p2)
	w2.Push(ctx, gd, bytes.NewReader(good))
	if err := w2.Abort(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p2)); len(ents) != 0 {
		t.Errorf("abort left %d files", len(ents))
	}
}

// TestDockerArchiveRoundTrip: an OCI image with a gzip layer written as a
// docker-archive holds the config and the layers uncompressed, named by
// diff ID; read back, it is a Docker schema2 image with the same config
// and diff IDs, under both of its names.
func TestDockerArchiveRoundTrip(t *testing.T) {
	ctx := context.Background()
	im := newImage(t)
	path := filepath.Join(t.TempDir(), "d.tar")
	w, err := createDocker(t, path, "example.com/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imgcopy.Copy(ctx, im.src, "v1", w, "v1", imgcopy.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err == nil {
		t.Error("second Commit succeeded")
	}

	r, err := openDocker(t, path, "")
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := r.Tags(ctx)
	if strings.Join(tags, ",") != "example.com/app:v1" {
		t.Errorf("tags %q", tags)
	}
	for _, ref := range []string{"", "v1", "example.com/app:v1"} {
		desc, err := r.Resolve(ctx, ref)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", ref, err)
		}
		if desc.MediaType != oci.MediaTypeDockerManifest {
			t.Errorf("media type %s", desc.MediaType)
		}
	}
	desc, _ := r.Resolve(ctx, "")
	rc, err := r.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := oci.ReadAllVerified(rc, desc.Digest, desc.Size, 1<<20)
	rc.Close()
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != im.config.Digest || len(m.Layers) != 2 || m.Layers[0].Digest != im.diffIDs[0] || m.Layers[1].Digest != im.diffIDs[1] || m.Layers[0].MediaType != archive.MediaTypeDockerLayer {
		t.Fatalf("synthesised manifest %s", raw)
	}
	dst := newLayout(t)
	res, err := imgcopy.Copy(ctx, r, "", dst, "back", imgcopy.Options{})
	if err != nil || res.Digest != desc.Digest || res.BlobsCopied != 3 {
		t.Fatalf("copy back: %+v, %v", res, err)
	}

	// Docker archives hold single images; an index is refused, and nothing is left behind.
	p2 := filepath.Join(t.TempDir(), "i.tar")
	w2, _ := createDocker(t, p2, "")
	idx := oci.Descriptor{MediaType: oci.MediaTypeImageIndex, Digest: digest.FromString("{}"), Size: 2}
	if err := w2.Push(ctx, idx, strings.NewReader("{}")); !errors.Is(err, errdef.ErrUnsupported) {
		t.Errorf("pushing an index = %v", err)
	}
	w2.Abort()
	if _, err := os.Stat(p2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("aborted archive exists: %v", err)
	}
}

// TestDockerWriterCorruptGzip: a gzip layer whose bytes do not match its
// digest fails, and the archive can still be completed.
func TestDockerWriterCorruptGzip(t *testing.T) {
	ctx := context.Background()
	im := newImage(t)
	rc, _ := im.src.Fetch(ctx, im.gzLayer)
	b, _ := io.ReadAll(rc)
	rc.Close()
	b[len(b)-6] ^= 0xff // in the gzip trailer's CRC or size
	w, err := createDocker(t, filepath.Join(t.TempDir(), "c.tar"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Push(ctx, im.gzLayer, bytes.NewReader(b)); err == nil {
		t.Fatal("corrupt layer accepted")
	}
	if ok, _ := w.Exists(ctx, im.gzLayer); ok {
		t.Error("corrupt layer recorded")
	}
}

// The archive package opens nothing by path itself: these open what the
// engine would, a file to read or its directory to write in.

func createOCI(t *testing.T, path string) (*archive.OCIWriter, error) {
	dir, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	return archive.CreateOCI(dir, filepath.Base(path))
}

func openOCI(t *testing.T, path string) (*archive.OCIReader, error) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return archive.OpenOCI(f, path)
}

func createDocker(t *testing.T, path, name string) (*archive.DockerWriter, error) {
	dir, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	return archive.CreateDocker(dir, filepath.Base(path), name)
}

func openDocker(t *testing.T, path, name string) (*archive.DockerReader, error) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return archive.OpenDocker(f, path, name)
}
