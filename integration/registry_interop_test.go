package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRegistryInterop pushes to stevedore's OCI port with crane, oras,
// skopeo and regctl and pulls back with all of them: every tool must see the
// same manifest bytes and digests, what oras attaches must be listed by
// `oras discover` from the referrers API, and everything pushed over the OCI
// port must be visible through gRPC Inspect and, since each repository is an
// OCI image layout, through `stevedore inspect oci:` and `skopeo inspect oci:`.
//
// distribution-spec v1.1.1: https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md
func TestRegistryInterop(t *testing.T) {
	needTools(t, "regctl")
	s, err := startStevedore(t, "stevedore-interop", serveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Registry
	dir := t.TempDir()
	layer := func(name string) string {
		p := filepath.Join(dir, name+".tar")
		if err := writeLayerTar(p, name, 3); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := t.TempDir() // oras and regctl keep config and caches under $HOME
	env := []string{"HOME=" + home}
	regctlHost := "reg=" + h + ",tls=disabled"

	// digestsAgree checks that all four tools read ref's manifest as the
	// same bytes, hashing to want.
	digestsAgree := func(t *testing.T, ref, want string) {
		t.Helper()
		raw := crane(t, "manifest", ref)
		if got := sha256Digest(raw); got != want {
			t.Fatalf("crane manifest %s hashes to %s, want %s", ref, got, want)
		}
		for _, c := range []struct {
			tool string
			args []string
			raw  bool // output is the manifest, not its digest
		}{
			{"crane", []string{"digest", ref}, false},
			{"oras", []string{"resolve", "--plain-http", ref}, false},
			{"regctl", []string{"image", "digest", "--host", regctlHost, ref}, false},
			{"oras", []string{"manifest", "fetch", "--plain-http", ref}, true},
			{"regctl", []string{"manifest", "get", "--host", regctlHost, "--format", "raw-body", ref}, true},
			{"skopeo", []string{"inspect", "--raw", "--tls-verify=false", "docker://" + ref}, true},
		} {
			out := mustRun(t, env, c.tool, c.args...)
			got := strings.TrimSpace(string(out))
			if c.raw {
				if !bytes.Equal(out, raw) {
					t.Errorf("%s %s: manifest bytes differ from crane's:\n%s\nvs\n%s", c.tool, strings.Join(c.args, " "), out, raw)
				}
				got = sha256Digest(out)
			}
			if got != want {
				t.Errorf("%s %s: %s, want %s", c.tool, strings.Join(c.args, " "), got, want)
			}
		}
	}
	// visibleInside checks that the server itself sees repo:tag with digest
	// want: over gRPC (the engine pulling from its own port) and in the
	// repository's layout directory, read by stevedore and by skopeo.
	visibleInside := func(t *testing.T, repo, tag, want string) {
		t.Helper()
		got, err := newGRPCView(s).Inspect(h+"/"+repo+":"+tag, "")
		if err != nil {
			t.Errorf("gRPC Inspect %s/%s:%s: %v", h, repo, tag, err)
		} else if got.Digest != want {
			t.Errorf("gRPC Inspect %s:%s: digest %s, want %s", repo, tag, got.Digest, want)
		}
		layout := "oci:" + filepath.Join(s.Data, "repos", filepath.FromSlash(repo), "_oci") + ":" + tag
		var cli restInspect // the CLI prints the REST body
		if err := json.Unmarshal(sd(t, "inspect", layout), &cli); err != nil {
			t.Fatal(err)
		}
		if cli.Digest != want {
			t.Errorf("stevedore inspect %s: digest %s, want %s", layout, cli.Digest, want)
		}
		// skopeo's oci: transport only looks at index.json entries of OCI
		// media types.
		if !strings.HasPrefix(cli.MediaType, "application/vnd.oci.") {
			return
		}
		if got := sha256Digest(mustRun(t, nil, "skopeo", "inspect", "--raw", layout)); got != want {
			t.Errorf("skopeo inspect --raw %s: digest %s, want %s", layout, got, want)
		}
	}

	var image, ociImage, index string // digests, for the subtests that build on them
	t.Run("crane image", func(t *testing.T) {
		// Pushed straight from crane append: OCI media types.
		out := strings.TrimSpace(string(crane(t, "append", "--oci-empty-base", "-f", layer("interop0"), "-t", h+"/interop/crane-oci:v1")))
		_, oci, _ := strings.Cut(out, "@")
		digestsAgree(t, h+"/interop/crane-oci:v1", oci)
		visibleInside(t, "interop/crane-oci", "v1", oci)
		ociImage = oci

		// Built into a tarball first (Docker media types), so the digest is
		// known before the push.
		tarball := filepath.Join(dir, "image.tar")
		crane(t, "append", "--oci-empty-base", "-f", layer("interop1"), "-f", layer("interop2"), "-t", h+"/interop/crane:v1", "-o", tarball)
		local := strings.TrimSpace(string(crane(t, "digest", "--tarball", tarball)))
		crane(t, "push", tarball, h+"/interop/crane:v1")
		image = local
		digestsAgree(t, h+"/interop/crane:v1", local)
		crane(t, "validate", "--remote", h+"/interop/crane:v1")
		// Pull back into a layout and compare it there too.
		crane(t, "pull", "--format", "oci", h+"/interop/crane:v1", filepath.Join(dir, "pulled"))
		if got := sha256Digest(crane(t, "manifest", h+"/interop/crane@"+local)); got != local {
			t.Errorf("by digest: %s", got)
		}
		visibleInside(t, "interop/crane", "v1", local)
	})

	t.Run("crane index", func(t *testing.T) {
		var children []string
		for _, p := range []struct{ arch, plat string }{{"amd64", "linux/amd64"}, {"arm64", "linux/arm64/v8"}} {
			tmp := h + "/interop/multi:" + p.arch + "-tmp"
			crane(t, "append", "--oci-empty-base", "-f", layer("interop-"+p.arch), "-t", tmp)
			crane(t, "mutate", tmp, "--set-platform", p.plat, "-t", h+"/interop/multi:"+p.arch)
			children = append(children, strings.TrimSpace(string(crane(t, "digest", h+"/interop/multi:"+p.arch))))
		}
		crane(t, "index", "append", "-m", h+"/interop/multi:amd64", "-m", h+"/interop/multi:arm64", "-t", h+"/interop/multi:v1")
		v := craneSees(t, h+"/interop/multi:v1")
		index = v.Digest
		if !v.Manifest.isIndex() || len(v.Manifest.Manifests) != 2 {
			t.Fatalf("index has %d manifests: %s", len(v.Manifest.Manifests), v.Raw)
		}
		for i, m := range v.Manifest.Manifests {
			if m.Digest != children[i] {
				t.Errorf("index entry %d: %s, want %s", i, m.Digest, children[i])
			}
			digestsAgree(t, h+"/interop/multi@"+m.Digest, m.Digest)
		}
		digestsAgree(t, h+"/interop/multi:v1", index)
		crane(t, "validate", "--remote", h+"/interop/multi:v1")
		visibleInside(t, "interop/multi", "v1", index)
	})

	t.Run("oras artifact and referrer", func(t *testing.T) {
		if image == "" {
			t.Fatal("needs the crane image, which an earlier subtest failed to push")
		}
		file := filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(file, []byte("artifact pushed by oras\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ref := h + "/interop/oras:v1"
		var pushed struct{ Digest string }
		out := mustRunIn(t, dir, env, "oras", "push", "--plain-http", "--disable-path-validation", "--format", "json",
			"--artifact-type", "application/vnd.stevedore.interop", ref, filepath.Base(file)+":text/plain")
		if err := json.Unmarshal(out, &pushed); err != nil || pushed.Digest == "" {
			t.Fatalf("oras push output %q: %v", out, err)
		}
		digestsAgree(t, ref, pushed.Digest)
		pullDir := t.TempDir()
		mustRun(t, env, "oras", "pull", "--plain-http", "-o", pullDir, ref)
		if b, err := os.ReadFile(filepath.Join(pullDir, filepath.Base(file))); err != nil || string(b) != "artifact pushed by oras\n" {
			t.Errorf("oras pull: %q, %v", b, err)
		}
		visibleInside(t, "interop/oras", "v1", pushed.Digest)

		// A referrer of the crane image, attached and discovered by oras.
		sig := filepath.Join(dir, "sig.txt")
		if err := os.WriteFile(sig, []byte("a signature\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		subject := h + "/interop/crane@" + image
		var attached struct{ Digest string }
		out = mustRunIn(t, dir, env, "oras", "attach", "--plain-http", "--disable-path-validation", "--format", "json",
			"--distribution-spec", "v1.1-referrers-api", "--artifact-type", "application/vnd.stevedore.sig", subject, filepath.Base(sig)+":text/plain")
		if err := json.Unmarshal(out, &attached); err != nil || attached.Digest == "" {
			t.Fatalf("oras attach output %q: %v", out, err)
		}
		var found struct {
			Referrers []descriptor `json:"referrers"`
			Manifests []descriptor `json:"manifests"`
		}
		out = mustRun(t, env, "oras", "discover", "--plain-http", "--format", "json", "--distribution-spec", "v1.1-referrers-api", subject)
		if err := json.Unmarshal(out, &found); err != nil {
			t.Fatalf("oras discover output %q: %v", out, err)
		}
		refs := append(found.Referrers, found.Manifests...)
		if len(refs) != 1 || refs[0].Digest != attached.Digest || refs[0].ArtifactType != "application/vnd.stevedore.sig" {
			t.Errorf("oras discover = %+v, want one %s of type application/vnd.stevedore.sig", refs, attached.Digest)
		}
		// From our API itself, and not through the tag-schema fallback.
		resp, err := http.Get("http://" + h + "/v2/interop/crane/referrers/" + image)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var idx manifest
		if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET referrers: %s, %v", resp.Status, err)
		}
		if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != attached.Digest {
			t.Errorf("referrers API lists %+v", idx.Manifests)
		}
		if tags := lines(crane(t, "ls", h+"/interop/crane")); slices.ContainsFunc(tags, func(s string) bool { return strings.HasPrefix(s, "sha256-") }) {
			t.Errorf("a referrers fallback tag was pushed: %v", tags)
		}
		digestsAgree(t, h+"/interop/crane@"+attached.Digest, attached.Digest)
	})

	t.Run("skopeo copy", func(t *testing.T) {
		if image == "" || ociImage == "" {
			t.Fatal("needs the crane images, which an earlier subtest failed to push")
		}
		mustRun(t, env, "skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
			"docker://"+h+"/interop/crane:v1", "docker://"+h+"/interop/skopeo:v1")
		digestsAgree(t, h+"/interop/skopeo:v1", image)
		visibleInside(t, "interop/skopeo", "v1", image)
		// Through a layout skopeo writes itself, and back.
		layout := "oci:" + filepath.Join(dir, "skopeo-layout") + ":v1"
		mustRun(t, env, "skopeo", "copy", "--src-tls-verify=false", "docker://"+h+"/interop/crane-oci:v1", layout)
		if got := sha256Digest(mustRun(t, env, "skopeo", "inspect", "--raw", layout)); got != ociImage {
			t.Errorf("skopeo pulled %s into a layout, want %s", got, ociImage)
		}
		mustRun(t, env, "skopeo", "copy", "--dest-tls-verify=false", layout, "docker://"+h+"/interop/skopeo:from-layout")
		digestsAgree(t, h+"/interop/skopeo:from-layout", ociImage)
	})

	t.Run("regctl copy", func(t *testing.T) {
		if index == "" {
			t.Fatal("needs the crane index, which an earlier subtest failed to push")
		}
		mustRun(t, env, "regctl", "image", "copy", "--host", regctlHost, h+"/interop/multi:v1", h+"/interop/regctl:v1")
		digestsAgree(t, h+"/interop/regctl:v1", index)
		visibleInside(t, "interop/regctl", "v1", index)
		// Pull back into a layout of regctl's own and read its digest there.
		layout := "ocidir://" + filepath.Join(dir, "regctl-layout") + ":v1"
		mustRun(t, env, "regctl", "image", "copy", "--host", regctlHost, h+"/interop/regctl:v1", layout)
		if got := strings.TrimSpace(string(mustRun(t, env, "regctl", "image", "digest", layout))); got != index {
			t.Errorf("regctl pulled %s into a layout, want %s", got, index)
		}
	})
}

// mustRunIn runs a command in dir, which must succeed, and returns its
// stdout. oras records a pushed file's path as its title, so files are
// pushed by relative name from their directory.
func mustRunIn(t testing.TB, dir string, env []string, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\nstderr: %s", bin, strings.Join(args, " "), dir, err, stderr.Bytes())
	}
	return out
}
