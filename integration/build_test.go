package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildTree writes a directory with files, nested directories, an
// executable, a symlink and a hardlink, and returns it.
func buildTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dirView is path → "dir", "link:TARGET" or the sha256 of the content, for
// a directory on disk.
func dirView(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir():
			out[rel] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link:" + target
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = sum(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tarView is dirView for an exported tar: hardlinks take their target's
// content, as the file system would show them.
func tarView(t *testing.T, b []byte) map[string]string {
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
		name := strings.Trim(filepath.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			out[name] = "dir"
		case tar.TypeSymlink:
			out[name] = "link:" + h.Linkname
		case tar.TypeLink:
			out[name] = out[strings.Trim(filepath.Clean("/"+h.Linkname), "/")]
		default:
			c, _ := io.ReadAll(tr)
			out[name] = sum(c)
		}
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// buildResult is `stevedore build --json`'s output.
type buildResult struct {
	Digest string
	Layers []struct{ Digest, DiffID string }
}

func sdBuild(t *testing.T, args ...string) buildResult {
	t.Helper()
	var r buildResult
	if err := json.Unmarshal(sd(t, append(args, "--json")...), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBuild: stevedore build into the distribution registry and an OCI
// layout; crane validates it, crane export gives back the directory, and two
// builds of the same directory have one digest.
func TestBuild(t *testing.T) {
	f := sharedFixtures(t)
	dir := buildTree(t, map[string]string{
		"etc/app.conf": "port=8080\n", "usr/bin/app": "#!/bin/sh\necho hi\n", "var/lib/data/blob": strings.Repeat("data", 10000),
	})
	if err := os.Chmod(filepath.Join(dir, "usr/bin/app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../etc/app.conf", filepath.Join(dir, "usr/app.conf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "etc/app.conf"), filepath.Join(dir, "etc/hard.conf")); err != nil {
		t.Fatal(err)
	}
	want := dirView(t, dir)
	repo := f.Dist.Host + "/build/app"
	layout := filepath.Join(t.TempDir(), "layout")

	for _, tc := range []struct {
		name string
		args []string
		// noCraneValidate: crane validate (v0.22) recomputes diff_ids by
		// gunzipping every layer, so it refuses zstd; crane export (which
		// sniffs the compression) and our validator are the oracles there.
		noCraneValidate bool
	}{
		{"gzip", nil, false},
		{"zstd", []string{"--compress", "zstd"}, true},
		{"docker", []string{"--format", "docker"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			common := append([]string{"build", dir, "--reproducible", "--entrypoint", "/usr/bin/app", "--env", "MODE=prod"}, tc.args...)
			a := sdBuild(t, append(common, "-t", repo+":"+tc.name+"-a")...)
			b := sdBuild(t, append(common, "-t", repo+":"+tc.name+"-b")...)
			l := sdBuild(t, append(common, "-t", "oci:"+layout+":"+tc.name)...)
			if a.Digest != b.Digest || a.Digest != l.Digest {
				t.Errorf("same directory, three digests: %s, %s, %s (layout)", a.Digest, b.Digest, l.Digest)
			}
			ref := repo + ":" + tc.name + "-a"
			if !tc.noCraneValidate {
				crane(t, "validate", "--remote", ref)
			}
			sd(t, "validate", ref)
			if got := strings.TrimSpace(string(crane(t, "digest", ref))); got != a.Digest {
				t.Errorf("crane digest %s, build printed %s", got, a.Digest)
			}
			if diff := cmp.Diff(want, tarView(t, crane(t, "export", ref, "-"))); diff != "" {
				t.Errorf("crane export vs the directory (-dir +export):\n%s", diff)
			}
			sd(t, "validate", "oci:"+layout+":"+tc.name)
			cfg := craneConfig(t, ref)
			if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != a.Layers[0].DiffID {
				t.Errorf("config diff_ids %v, build said %s", cfg.RootFS.DiffIDs, a.Layers[0].DiffID)
			}
		})
	}

	t.Run("append", func(t *testing.T) {
		tmp := t.TempDir()
		l1 := filepath.Join(tmp, "l1.tar")
		analyzeTar(t, l1, [][2]string{{"etc/", ""}, {"etc/os-release", "ID=test\n"}})
		baseRef := f.Dist.Host + "/build/base:v1"
		crane(t, "append", "--oci-empty-base", "-f", l1, "-t", baseRef)
		orig := craneSees(t, baseRef).Digest

		out := f.Dist.Host + "/build/base:v2"
		res := sdBuild(t, "append", baseRef, "-f", dir, "-t", out)
		crane(t, "validate", "--remote", out)
		if got := craneSees(t, baseRef).Digest; got != orig {
			t.Errorf("append changed the source: %s, was %s", got, orig)
		}
		m := craneSees(t, out)
		if m.Digest != res.Digest || len(m.Manifest.Layers) != 2 {
			t.Errorf("appended image %s has %d layers", m.Digest, len(m.Manifest.Layers))
		}
		merged := tarView(t, crane(t, "export", out, "-"))
		if merged["etc/os-release"] == "" || merged["usr/bin/app"] != want["usr/bin/app"] {
			t.Errorf("export of the appended image lacks a layer's files: %v", merged)
		}

		// build --base: the base's layers are referenced, and named.
		based := f.Dist.Host + "/build/based:v1"
		sd(t, "build", dir, "--base", baseRef, "-t", based)
		crane(t, "validate", "--remote", based)
		var man struct {
			Layers      []struct{ Digest string }
			Annotations map[string]string
		}
		if err := json.Unmarshal(crane(t, "manifest", based), &man); err != nil {
			t.Fatal(err)
		}
		baseMan := craneSees(t, baseRef)
		if len(man.Layers) != 2 || man.Layers[0].Digest != baseMan.Manifest.Layers[0].Digest ||
			man.Annotations["org.opencontainers.image.base.digest"] != orig || man.Annotations["org.opencontainers.image.base.name"] != baseRef {
			t.Errorf("based image manifest %+v", man)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		tmp := t.TempDir()
		evil := filepath.Join(tmp, "evil.tar")
		analyzeTar(t, evil, [][2]string{{"../escape", "x"}})
		r, err := run(nil, stevedoreBin, "build", evil, "-t", "oci:"+filepath.Join(tmp, "l")+":x")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 1 || !strings.Contains(string(r.Stderr), "escapes the root") {
			t.Errorf("build of a tar with ../: exit %d, stderr %s", r.Code, r.Stderr)
		}
	})
}
