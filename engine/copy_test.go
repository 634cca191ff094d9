package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/build"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// TestCopyRefs checks what Engine.Copy makes of its references: a layout
// destination is created on demand, tagged or untagged, and a digest
// destination or an unwritable transport is refused before anything moves.
func TestCopyRefs(t *testing.T) {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	want := seedImage(t, src)
	for _, tc := range []struct {
		name, dst string
		class     error // nil: success
		check     string
	}{
		{"tagged layout", "oci:" + dir + "/a:v2", nil, "oci:" + dir + "/a:v2"},
		{"untagged layout", "oci:" + dir + "/b", nil, "oci:" + dir + "/b"},
		{"digest destination", "oci:" + dir + "/c@" + string(want), errdef.ErrInvalid, ""},
		{"registry digest destination", "127.0.0.1:1/x@" + string(want), errdef.ErrInvalid, ""},
		{"archive destination", "oci-archive:" + dir + "/a.tar", nil, "oci-archive:" + dir + "/a.tar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Copy(ctx, ref(t, "oci:"+src+":v1"), ref(t, tc.dst), engine.CopyOptions{})
			if tc.class != nil {
				var eerr *engine.Error
				if !errors.Is(err, tc.class) || !errors.As(err, &eerr) {
					t.Errorf("error %v, want an *engine.Error matching %v", err, tc.class)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m, err := e.GetManifest(ctx, ref(t, tc.check))
			if err != nil || res.Digest != want || m.Digest != want {
				t.Errorf("copied %v, reads back %v (%v); want %s", res, m, err, want)
			}
		})
	}
}

// seedImage writes a one-layer image tagged v1 into a new layout at dir.
func seedImage(t *testing.T, dir string) digest.Digest {
	t.Helper()
	ctx := context.Background()
	fs, err := store.CreateFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	put := func(mt string, b []byte) oci.Descriptor {
		d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := fs.Put(ctx, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := put(oci.MediaTypeImageConfig, []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`))
	layer := put(oci.MediaTypeLayer, []byte("layer"))
	raw, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": []oci.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	m := put(oci.MediaTypeImageManifest, raw)
	if err := fs.Tag(ctx, m, "v1"); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

// TestCopyConvertCounts: a converting copy reports what it sent, as any
// copy does (it used to report 0 blobs and 0 manifests).
func TestCopyConvertCounts(t *testing.T) {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	rootfs := t.TempDir()
	if err := os.WriteFile(filepath.Join(rootfs, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "oci:" + filepath.Join(t.TempDir(), "src") + ":v1"
	built, err := e.Build(ctx, ref(t, src), engine.BuildOptions{Options: build.Options{Layers: []build.Input{{Dir: rootfs}}, Reproducible: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := built.Digest
	for _, opts := range []engine.CopyOptions{{Format: "docker"}, {Compress: "zstd"}} {
		res, err := e.Copy(ctx, ref(t, src), ref(t, "oci:"+t.TempDir()+":v1"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.SourceDigest != want || res.Digest == want || res.BlobsCopied != 2 || res.ManifestsCopied != 1 || res.Bytes == 0 {
			t.Errorf("%+v: result %+v", opts, res.Result)
		}
	}
}
