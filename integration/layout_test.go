package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
)

// layoutWriters are the peer tools that copy a registry image into an OCI
// image layout (image-spec v1.1.1 image-layout.md,
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md).
var layoutWriters = []struct {
	name string
	args func(src, dir, tag string) (string, []string)
}{
	{"skopeo", func(src, dir, tag string) (string, []string) {
		return "skopeo", []string{"copy", "--all", "--src-tls-verify=false", "docker://" + src, "oci:" + dir + ":" + tag}
	}},
	{"oras", func(src, dir, tag string) (string, []string) {
		return "oras", []string{"copy", "--from-plain-http", src, "--to-oci-layout", dir + ":" + tag}
	}},
}

// TestLayoutInterop reads layouts skopeo and oras wrote, through every
// interface, and checks them against crane's view of the source image.
func TestLayoutInterop(t *testing.T) {
	f := sharedFixtures(t)
	views := allViews(t)
	for _, w := range layoutWriters {
		for _, name := range []string{"oci", "index"} {
			img := f.image(t, name)
			t.Run(w.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				dir := filepath.Join(t.TempDir(), "layout")
				bin, args := w.args(img.Ref(), dir, "v1")
				mustRun(t, nil, bin, args...)
				want := craneSees(t, img.Ref())
				tagged, err := layoutTagged(dir, "v1")
				if err != nil {
					t.Fatal(err)
				}
				if tagged.Digest != want.Digest {
					// skopeo 1.9 re-encodes an index (dropping the entries'
					// artifactType); the children are copied exactly. The
					// layout's own bytes are then the oracle for the top level.
					t.Logf("%s rewrote %s: layout %s, registry %s", w.name, img.Ref(), tagged.Digest, want.Digest)
					if want, err = layoutSees(dir, tagged); err != nil {
						t.Fatal(err)
					}
				}
				for _, v := range views {
					t.Run(v.Name(), func(t *testing.T) {
						checkImage(t, v, img, want, "oci:"+dir+":v1", func(d string) string { return "oci:" + dir + "@" + d })
						tags, err := v.Tags("oci:" + dir)
						if err != nil {
							t.Fatalf("tags: %v", err)
						}
						if diff := cmp.Diff([]string{"v1"}, tags); diff != "" {
							t.Errorf("tags of the layout (-want +got):\n%s", diff)
						}
					})
				}
			})
		}
	}
}

// layoutSees reads the manifest d names straight from a layout's files.
func layoutSees(dir string, d descriptor) (craneView, error) {
	raw, err := os.ReadFile(layoutBlobPath(dir, d.Digest))
	if err != nil {
		return craneView{}, err
	}
	v := craneView{Raw: raw, Digest: d.Digest}
	if got := sha256Digest(raw); got != d.Digest {
		return v, fmt.Errorf("layout blob %s hashes to %s", d.Digest, got)
	}
	return v, json.Unmarshal(raw, &v.Manifest)
}

// TestLayoutCorruptBlob flips one byte of a layer in a layout: reading the
// blob must fail as a digest mismatch (DataLoss), never return bad bytes as good.
func TestLayoutCorruptBlob(t *testing.T) {
	f := sharedFixtures(t)
	img := f.image(t, "oci")
	dir := filepath.Join(t.TempDir(), "layout")
	mustRun(t, nil, "oras", "copy", "--from-plain-http", img.Ref(), "--to-oci-layout", dir+":v1")
	want := craneSees(t, img.Ref())
	layer := want.Manifest.Layers[0]
	path := layoutBlobPath(dir, layer.Digest)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "oci:" + dir + "@" + layer.Digest
	runErrCases(t, allViews(t), []errCase{
		{"blob", blobCall(ref), codes.DataLoss, "digest mismatch"},
	})
	t.Run("cli writes no file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "blob")
		r, err := run(nil, stevedoreBin, "blob", ref, "-o", out)
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 1 {
			t.Fatalf("exit %d, want 1; stderr: %s", r.Code, r.Stderr)
		}
		if !bytes.Contains(bytes.ToLower(r.Stderr), []byte("digest mismatch")) {
			t.Errorf("stderr does not say digest mismatch: %s", r.Stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("-o %s exists after a failed, unverified read", out)
		}
	})
	t.Run("ranged read still works", func(t *testing.T) {
		// A range cannot be verified, so it is served; the bytes are what is on disk.
		var got bytes.Buffer
		if _, err := grpcBlob(newGRPCView(sharedServer(t)).c, ref, 10, 100, &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), b[10:110]) {
			t.Errorf("range [10,110) differs from the file")
		}
	})
}
