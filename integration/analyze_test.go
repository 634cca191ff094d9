package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// analyzeTar writes an uncompressed layer tar of the given entries: a name
// ending in "/" is a directory, anything else a file with that content.
func analyzeTar(t *testing.T, path string, entries [][2]string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e[1]))}
		if strings.HasSuffix(e[0], "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rootfs reads an exported tar into path → sha256 of content ("dir" for
// directories), ignoring the root entry.
func rootfs(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Clean("/"+h.Name), "/"), "/")
		if name == "" {
			continue
		}
		if h.Typeflag == tar.TypeDir {
			out[name] = "dir"
			continue
		}
		sum := sha256.New()
		io.Copy(sum, tr)
		out[name] = hex.EncodeToString(sum.Sum(nil))
	}
}

// TestAnalyze builds a two-layer image with crane (the second layer deletes
// and replaces files of the first) and checks stevedore's export, listing and
// validation against crane's.
func TestAnalyze(t *testing.T) {
	f := sharedFixtures(t)
	dir := t.TempDir()
	l1, l2 := filepath.Join(dir, "l1.tar"), filepath.Join(dir, "l2.tar")
	analyzeTar(t, l1, [][2]string{
		{"etc/", ""}, {"etc/os-release", "ID=test\n"}, {"etc/gone", "deleted later\n"},
		{"app/", ""}, {"app/old/", ""}, {"app/old/a", "a"}, {"app/config", "v1\n"},
	})
	analyzeTar(t, l2, [][2]string{
		{"etc/.wh.gone", ""}, {"app/.wh.old", ""}, {"app/config", "v2\n"}, {"app/new", "new\n"},
	})
	ref := f.Dist.Host + "/analyze/img:v1"
	crane(t, "append", "--oci-empty-base", "-f", l1, "-f", l2, "-t", ref)

	want := rootfs(t, crane(t, "export", ref, "-"))
	got := rootfs(t, sd(t, "export", ref))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stevedore export vs crane export (-crane +stevedore):\n%s", diff)
	}
	if _, ok := got["etc/gone"]; ok {
		t.Error("whited-out file exported")
	}

	out := filepath.Join(dir, "rootfs.tar")
	sd(t, "export", "-o", out, ref)
	if b, err := os.ReadFile(out); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(want, rootfs(t, b)); diff != "" {
		t.Errorf("export -o (-crane +stevedore):\n%s", diff)
	}

	var listed []string
	for _, l := range lines(sd(t, "ls", ref)) {
		fields := strings.Fields(l)
		listed = append(listed, strings.TrimPrefix(fields[5], "/"))
	}
	var wantListed []string
	for p := range want {
		wantListed = append(wantListed, p)
	}
	if diff := cmp.Diff(wantListed, listed, cmpSorted); diff != "" {
		t.Errorf("ls (-crane export +ls):\n%s", diff)
	}
	if got := string(sd(t, "cat", ref, "/app/config")); got != "v2\n" {
		t.Errorf("cat /app/config = %q", got)
	}

	crane(t, "validate", "--remote", ref)
	sd(t, "validate", ref)

	layout := filepath.Join(dir, "layout")
	mustRun(t, nil, "oras", "copy", "--from-plain-http", ref, "--to-oci-layout", layout+":v1")
	sd(t, "validate", "oci:"+layout+":v1")
	m := craneSees(t, ref)
	p := layoutBlobPath(layout, m.Manifest.Layers[1].Digest)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := run(nil, stevedoreBin, "validate", "oci:"+layout+":v1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 1 || !strings.Contains(string(r.Stdout), m.Manifest.Layers[1].Digest) {
		t.Errorf("validate of a corrupted layout: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
}

// cmpSorted compares string slices as sets.
var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})
