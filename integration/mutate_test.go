package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mutateConfig is the part of an image config the mutate tests read.
type mutateConfig struct {
	Architecture string `json:"architecture"`
	Config       struct {
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		User         string              `json:"User"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

func mutateConfigOf(t *testing.T, ref string) mutateConfig {
	t.Helper()
	var c mutateConfig
	if err := json.Unmarshal(crane(t, "config", ref), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMutate builds images with crane in the distribution registry, edits
// them with stevedore, and checks every result with crane: it validates,
// shows the edits, and the source digest is unchanged.
func TestMutate(t *testing.T) {
	f := sharedFixtures(t)
	dir := t.TempDir()
	tarOf := func(name string, entries [][2]string) string {
		p := filepath.Join(dir, name)
		analyzeTar(t, p, entries)
		return p
	}
	repo := f.Dist.Host + "/mutate/app"
	oldBase, newBase := f.Dist.Host+"/mutate/base:old", f.Dist.Host+"/mutate/base:new"
	crane(t, "append", "--oci-empty-base", "-f", tarOf("b1.tar", [][2]string{{"etc/", ""}, {"etc/os-release", "ID=old\n"}, {"etc/old-only", "x"}}), "-t", oldBase)
	crane(t, "append", "--oci-empty-base", "-f", tarOf("n1.tar", [][2]string{{"etc/", ""}, {"etc/os-release", "ID=new\n"}}), "-t", newBase)
	src := repo + ":v1"
	crane(t, "append", "-b", oldBase, "-f", tarOf("app.tar", [][2]string{{"app/", ""}, {"app/bin", "binary"}, {"etc/.wh.old-only", ""}}), "-t", src)
	orig := strings.TrimSpace(string(crane(t, "digest", src)))

	// check validates the result with crane and that it is what tag names.
	check := func(t *testing.T, out []byte, ref string) {
		t.Helper()
		got := strings.TrimSpace(string(out))
		crane(t, "validate", "--remote", ref)
		if d := strings.TrimSpace(string(crane(t, "digest", ref))); d != got {
			t.Errorf("%s is %s, stevedore printed %s", ref, d, got)
		}
		if d := strings.TrimSpace(string(crane(t, "digest", src))); d != orig {
			t.Errorf("source digest changed: %s -> %s", orig, d)
		}
	}

	t.Run("config", func(t *testing.T) {
		dst := repo + ":mutated"
		out := sd(t, "mutate", src, "-t", dst, "--env", "MODE=prod", "--label", "team=core", "--user", "1000:1000",
			"--workdir", "/srv", "--entrypoint", `["/app/bin","--serve"]`, "--expose", "8080", "--annotation", "note=yes")
		check(t, out, dst)
		c := mutateConfigOf(t, dst)
		if !contains(c.Config.Env, "MODE=prod") || c.Config.Labels["team"] != "core" || c.Config.User != "1000:1000" ||
			c.Config.WorkingDir != "/srv" || !cmp.Equal(c.Config.Entrypoint, []string{"/app/bin", "--serve"}) {
			t.Errorf("config %+v", c.Config)
		}
		if _, ok := c.Config.ExposedPorts["8080/tcp"]; !ok {
			t.Errorf("ports %v", c.Config.ExposedPorts)
		}
		if m := craneSees(t, dst); m.Manifest.Annotations["note"] != "yes" {
			t.Errorf("annotations %v", m.Manifest.Annotations)
		}
		if diff := cmp.Diff(craneSees(t, src).Manifest.Layers, craneSees(t, dst).Manifest.Layers); diff != "" {
			t.Errorf("layers changed: %s", diff)
		}
	})

	t.Run("rebase", func(t *testing.T) {
		dst := repo + ":rebased"
		out := sd(t, "rebase", src, "--old-base", oldBase, "--new-base", newBase, "-t", dst)
		check(t, out, dst)
		got, want := craneSees(t, dst).Manifest.Layers, append(craneSees(t, newBase).Manifest.Layers, craneSees(t, src).Manifest.Layers[1:]...)
		if len(got) != len(want) || got[0].Digest != want[0].Digest || got[1].Digest != want[1].Digest {
			t.Errorf("layers %v, want %v", got, want)
		}
		fs := rootfs(t, crane(t, "export", dst, "-"))
		if fs["etc/os-release"] != sum([]byte("ID=new\n")) || fs["app/bin"] != sum([]byte("binary")) {
			t.Errorf("rebased rootfs %v", fs)
		}
		if c := mutateConfigOf(t, dst); len(c.RootFS.DiffIDs) != 2 {
			t.Errorf("diff_ids %v", c.RootFS.DiffIDs)
		}
		// Not built on the new base: refused.
		if r, _ := run(nil, stevedoreBin, "rebase", src, "--old-base", newBase, "--new-base", oldBase, "-t", repo+":bad"); r.Code != 1 {
			t.Errorf("rebase onto a wrong old base: exit %d, stderr %s", r.Code, r.Stderr)
		}
	})

	t.Run("flatten", func(t *testing.T) {
		dst := repo + ":flat"
		out := sd(t, "flatten", src, "-t", dst)
		check(t, out, dst)
		if n := len(craneSees(t, dst).Manifest.Layers); n != 1 {
			t.Errorf("%d layers", n)
		}
		if diff := cmp.Diff(rootfs(t, crane(t, "export", src, "-")), rootfs(t, crane(t, "export", dst, "-"))); diff != "" {
			t.Errorf("flattened rootfs differs (-source +flat):\n%s", diff)
		}
	})

	t.Run("remove layer, convert, recompress", func(t *testing.T) {
		for _, tc := range []struct {
			tag  string
			args []string
		}{
			{"top-removed", []string{"--remove-layer", "-1"}},
			{"docker", []string{"--convert", "docker"}},
			{"zstd", []string{"--recompress", "zstd"}},
		} {
			dst := repo + ":" + tc.tag
			out := sd(t, append([]string{"mutate", src, "-t", dst}, tc.args...)...)
			if tc.tag == "zstd" {
				// crane validate reads every non-plain layer as gzip
				// (go-containerregistry#1826), so it checks the manifest
				// graph only; stevedore validate checks the diff_ids, and
				// crane export the content.
				crane(t, "validate", "--fast", "--remote", dst)
				sd(t, "validate", dst)
				if diff := cmp.Diff(rootfs(t, crane(t, "export", src, "-")), rootfs(t, crane(t, "export", dst, "-"))); diff != "" {
					t.Errorf("zstd rootfs differs (-source +zstd):\n%s", diff)
				}
				continue
			}
			check(t, out, dst)
		}
		if n := len(craneSees(t, repo+":top-removed").Manifest.Layers); n != 1 {
			t.Errorf("top-removed has %d layers", n)
		}
		if mt := craneSees(t, repo+":docker").Manifest.MediaType; mt != "application/vnd.docker.distribution.manifest.v2+json" {
			t.Errorf("converted media type %s", mt)
		}
		if mt := craneSees(t, repo+":zstd").Manifest.Layers[0].MediaType; mt != "application/vnd.oci.image.layer.v1.tar+zstd" {
			t.Errorf("recompressed media type %s", mt)
		}
	})

	t.Run("index", func(t *testing.T) {
		arm := repo + ":arm64"
		check(t, sd(t, "mutate", src, "-t", arm, "--set-platform", "linux/arm64"), arm)
		if a := mutateConfigOf(t, arm).Architecture; a != "arm64" {
			t.Errorf("architecture %s", a)
		}
		idx := repo + ":multi"
		check(t, sd(t, "index", "create", "-t", idx, src, arm), idx)
		if n := len(craneSees(t, idx).Manifest.Manifests); n != 2 {
			t.Fatalf("index has %d entries", n)
		}
		scoped := repo + ":multi-scoped"
		check(t, sd(t, "mutate", idx, "-t", scoped, "--platform", "linux/arm64", "--env", "ARM=1"), scoped)
		m := craneSees(t, scoped).Manifest.Manifests
		if m[0].Digest != orig || m[1].Digest == craneSees(t, arm).Digest {
			t.Errorf("scoped mutate touched the wrong entry: %+v", m)
		}
		one := repo + ":multi-one"
		check(t, sd(t, "index", "remove", idx, "--platform", "linux/arm64", "-t", one), one)
		if m := craneSees(t, one).Manifest.Manifests; len(m) != 1 || m[0].Digest != orig {
			t.Errorf("after remove: %+v", m)
		}
	})

	t.Run("tag, diff, size, history", func(t *testing.T) {
		if got := strings.TrimSpace(string(sd(t, "tag", src, "extra"))); got != orig {
			t.Errorf("tag printed %s", got)
		}
		if d := strings.TrimSpace(string(crane(t, "digest", repo+":extra"))); d != orig {
			t.Errorf("extra is %s", d)
		}
		var diff struct {
			Config []struct{ Field string } `json:"config"`
		}
		// The images differ: diff exits 1, as diff(1) does.
		r, err := run(nil, stevedoreBin, "diff", "--json", src, repo+":mutated")
		if err != nil || r.Code != 1 {
			t.Fatalf("diff: exit %d, %v; stderr %s", r.Code, err, r.Stderr)
		}
		if err := json.Unmarshal(r.Stdout, &diff); err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, c := range diff.Config {
			fields = append(fields, c.Field)
		}
		if !contains(fields, "config.Env") || !contains(fields, "config.User") {
			t.Errorf("diff fields %v", fields)
		}
		var size struct {
			Layers []struct{ Wasted int64 } `json:"layers"`
		}
		if err := json.Unmarshal(sd(t, "size", "--json", src), &size); err != nil {
			t.Fatal(err)
		}
		if len(size.Layers) != 2 || size.Layers[0].Wasted != 1 {
			t.Errorf("size %+v (etc/old-only, 1 byte, is deleted by the app layer)", size)
		}
		var hist []struct{ Layer int }
		if err := json.Unmarshal(sd(t, "history", "--json", src), &hist); err != nil {
			t.Fatal(err)
		}
		if len(hist) < 2 {
			t.Errorf("history %+v", hist)
		}
	})
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
