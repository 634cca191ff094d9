package analyze_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// tf is one tar entry of a hand-built layer.
type tf struct {
	name string
	typ  byte   // tar.TypeReg when zero
	body string // content, or link target for links
}

func dir(name string) tf             { return tf{name: name, typ: tar.TypeDir} }
func file(name, body string) tf      { return tf{name: name, body: body} }
func symlink(name, target string) tf { return tf{name: name, typ: tar.TypeSymlink, body: target} }

// tarOf builds an uncompressed layer tar.
func tarOf(t *testing.T, files ...tf) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: 0o644, ModTime: time.Unix(1700000000, 0)}
		switch f.typ {
		case 0:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeSymlink, tar.TypeLink:
			h.Linkname = f.body
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(f.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layer is a layer blob with its media type and uncompressed digest.
type layer struct {
	mediaType string
	blob      []byte
	diffID    digest.Digest
}

func plainLayer(t *testing.T, files ...tf) layer {
	b := tarOf(t, files...)
	return layer{oci.MediaTypeLayer, b, digest.FromBytes(b)}
}

func gzLayer(t *testing.T, files ...tf) layer {
	b := tarOf(t, files...)
	return layer{oci.MediaTypeLayerGzip, gz(t, b), digest.FromBytes(b)}
}

func zstLayer(t *testing.T, files ...tf) layer {
	b := tarOf(t, files...)
	return layer{oci.MediaTypeLayerZstd, zst(t, b), digest.FromBytes(b)}
}

// image is a test image in an OCI layout under t.TempDir(), tagged "v1".
type image struct {
	dir      string
	src      transport.Source
	manifest oci.Descriptor
	config   oci.Descriptor
	layers   []oci.Descriptor
}

// newImage stores layers and a config naming their diff_ids, with the given
// manifest media type (OCI when empty).
func newImage(t *testing.T, manifestType string, layers ...layer) *image {
	t.Helper()
	ctx := context.Background()
	img := &image{dir: t.TempDir()}
	fs, err := store.CreateFS(img.dir)
	if err != nil {
		t.Fatal(err)
	}
	img.src = layout.New(fs)
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
	diffIDs := []digest.Digest{}
	for _, l := range layers {
		img.layers = append(img.layers, put(l.mediaType, l.blob))
		diffIDs = append(diffIDs, l.diffID)
	}
	cfgType := oci.MediaTypeImageConfig
	if manifestType == "" {
		manifestType = oci.MediaTypeImageManifest
	}
	if manifestType == oci.MediaTypeDockerManifest {
		cfgType = oci.MediaTypeDockerConfig
	}
	img.config = put(cfgType, js(map[string]any{"os": "linux", "architecture": "amd64", "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}}))
	img.manifest = put(manifestType, js(map[string]any{"schemaVersion": 2, "mediaType": manifestType, "config": img.config, "layers": img.layers}))
	if err := fs.Tag(ctx, img.manifest, "v1"); err != nil {
		t.Fatal(err)
	}
	return img
}

// corrupt flips the last byte of d's blob file.
func (img *image) corrupt(t *testing.T, d oci.Descriptor) {
	t.Helper()
	p := filepath.Join(img.dir, "blobs", d.Digest.Algorithm().String(), d.Digest.Encoded())
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1]++
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAll reads rc to the end and closes it.
func readAll(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func gzipWriter(w io.Writer) (io.WriteCloser, error) {
	return gzip.NewWriterLevel(w, gzip.BestCompression)
}
func zstdWriter(w io.Writer) (io.WriteCloser, error) { return zstd.NewWriter(w) }
