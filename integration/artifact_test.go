package integration

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// artifactFiles is the tree the artifact tests push: plain files at the top
// and a directory, which travels as a gzipped tar that keeps modes.
var artifactFiles = []struct {
	path, content string
	mode          fs.FileMode
}{
	{"a.txt", "hello artifact\n", 0o644},
	{"bin/tool", "#!/bin/sh\necho tool\n", 0o755},
	{"site/index.html", "<h1>hi</h1>\n", 0o644},
	{"site/scripts/run.sh", "#!/bin/sh\necho run\n", 0o755},
	{"site/private/key", "secret\n", 0o600},
}

// writeArtifactTree writes artifactFiles under dir with their modes.
func writeArtifactTree(t *testing.T, dir string) {
	t.Helper()
	for _, f := range artifactFiles {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
}

// checkArtifactTree compares dir with artifactFiles: every file's bytes,
// and its mode where withModes says the puller can know it.
func checkArtifactTree(t *testing.T, who, dir string, withModes func(path string) bool) {
	t.Helper()
	for _, f := range artifactFiles {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %s: %v", who, f.path, err)
			continue
		}
		if string(b) != f.content {
			t.Errorf("%s: %s = %q, want %q", who, f.path, b, f.content)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if withModes(f.path) && fi.Mode().Perm() != f.mode {
			t.Errorf("%s: %s mode %v, want %v", who, f.path, fi.Mode().Perm(), f.mode)
		}
	}
}

// runIn runs bin in dir (relative file arguments are titles), which must succeed.
func runIn(t *testing.T, dir, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\nstderr: %s", bin, strings.Join(args, " "), err, stderr)
	}
	return out
}

// artifactRegistries are the registries the artifact tests run on: CNCF
// distribution (no referrers API: the tag schema) and ours (the API).
func artifactRegistries(t *testing.T) map[string]string {
	return map[string]string{
		"distribution": secondDistribution(t).Host,
		"stevedore":    sharedServer(t).Registry,
	}
}

// isInDir reports paths inside the pushed directory, whose modes the tar
// carries; oras records none for plain files and writes them 0666 less umask.
func isInDir(p string) bool { return strings.HasPrefix(p, "site/") }

// TestArtifactOrasPullsOurs: `oras pull` of what `stevedore artifact push`
// pushed gives the same files (bytes, and modes where oras keeps any); our
// own pull restores every mode.
func TestArtifactOrasPullsOurs(t *testing.T) {
	in := t.TempDir()
	writeArtifactTree(t, in)
	for name, host := range artifactRegistries(t) {
		t.Run(name, func(t *testing.T) {
			ref := host + "/artifact/ours:v1"
			dgst := strings.TrimSpace(string(runIn(t, in, stevedoreBin, "artifact", "push", "--artifact-type", "application/vnd.stevedore.test",
				"-a", "purpose=interop", ref, "a.txt:text/plain", "bin/tool", "site")))
			if !strings.HasPrefix(dgst, "sha256:") {
				t.Fatalf("push printed %q", dgst)
			}
			var m struct {
				ArtifactType string
				Config       struct{ MediaType string }
				Layers       []struct {
					MediaType   string
					Annotations map[string]string
				}
				Annotations map[string]string
			}
			if err := json.Unmarshal(mustRun(t, nil, "oras", "manifest", "fetch", "--plain-http", ref), &m); err != nil {
				t.Fatal(err)
			}
			if m.ArtifactType != "application/vnd.stevedore.test" || m.Config.MediaType != "application/vnd.oci.empty.v1+json" ||
				m.Annotations["purpose"] != "interop" || m.Annotations["org.opencontainers.image.created"] == "" || len(m.Layers) != 3 ||
				m.Layers[0].MediaType != "text/plain" || m.Layers[2].Annotations["org.opencontainers.image.title"] != "site" {
				t.Errorf("manifest as oras sees it: %+v", m)
			}

			orasOut := t.TempDir()
			mustRun(t, nil, "oras", "pull", "--plain-http", "-o", orasOut, ref)
			checkArtifactTree(t, "oras pull", orasOut, isInDir)

			ourOut := filepath.Join(t.TempDir(), "out")
			sd(t, "artifact", "pull", ref, "-o", ourOut)
			checkArtifactTree(t, "stevedore artifact pull", ourOut, func(string) bool { return true })
		})
	}
}

// TestArtifactPullOrasPushed: `stevedore artifact pull` of an `oras push`ed
// artifact (files and a directory) gives its files, with the directory's modes.
func TestArtifactPullOrasPushed(t *testing.T) {
	in := t.TempDir()
	writeArtifactTree(t, in)
	for name, host := range artifactRegistries(t) {
		t.Run(name, func(t *testing.T) {
			ref := host + "/artifact/theirs:v1"
			runIn(t, in, "oras", "push", "--plain-http", "--artifact-type", "application/vnd.oras.test", ref, "a.txt", "bin/tool:application/x-tool", "site")
			out := filepath.Join(t.TempDir(), "out")
			var res struct {
				Files []struct {
					Name     string
					Unpacked bool
				}
			}
			if err := json.Unmarshal(sd(t, "artifact", "pull", "--json", ref, "-o", out), &res); err != nil {
				t.Fatal(err)
			}
			if len(res.Files) != 3 || !res.Files[2].Unpacked {
				t.Errorf("pull result %+v, want 3 files, the last unpacked", res)
			}
			checkArtifactTree(t, "stevedore artifact pull", out, isInDir)
		})
	}
}

// TestArtifactAttachDiscover: an `oras attach`ed artifact is listed by
// `stevedore artifact discover`, and ours by `oras discover`, on a registry
// with the referrers API and one without.
func TestArtifactAttachDiscover(t *testing.T) {
	in := t.TempDir()
	writeArtifactTree(t, in)
	const orasType, ourType, sigType = "application/vnd.oras.sbom", "application/vnd.stevedore.sbom", "application/vnd.stevedore.sig"
	for name, host := range artifactRegistries(t) {
		t.Run(name, func(t *testing.T) {
			ref := host + "/artifact/subject:v1"
			runIn(t, in, stevedoreBin, "artifact", "push", ref, "a.txt")
			runIn(t, in, "oras", "attach", "--plain-http", "--artifact-type", orasType, ref, "a.txt")
			ours := strings.TrimSpace(string(runIn(t, in, stevedoreBin, "artifact", "attach", "--artifact-type", ourType, ref, "bin/tool")))
			sig := strings.TrimSpace(string(runIn(t, in, stevedoreBin, "artifact", "attach", "--artifact-type", sigType, host+"/artifact/subject@"+ours, "a.txt")))

			var tree struct {
				Digest    string
				Referrers []struct {
					Digest       string
					ArtifactType string
					Referrers    []struct{ Digest, ArtifactType string }
				}
			}
			if err := json.Unmarshal(sd(t, "artifact", "discover", "--json", ref), &tree); err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			for _, r := range tree.Referrers {
				types[r.ArtifactType]++
				if r.Digest == ours && (len(r.Referrers) != 1 || r.Referrers[0].Digest != sig) {
					t.Errorf("our referrer's own referrers %+v, want the signature %s", r.Referrers, sig)
				}
			}
			if types[orasType] != 1 || types[ourType] != 1 || len(tree.Referrers) != 2 {
				t.Errorf("stevedore artifact discover: %+v, want one %s and one %s", tree, orasType, ourType)
			}
			filtered := string(sd(t, "artifact", "discover", "--artifact-type", orasType, ref))
			if strings.Contains(filtered, ours) || !strings.Contains(filtered, orasType) {
				t.Errorf("discover --artifact-type %s:\n%s", orasType, filtered)
			}

			disc := string(mustRun(t, nil, "oras", "discover", "--plain-http", "--format", "json", ref))
			if !strings.Contains(disc, ours) || !strings.Contains(disc, ourType) || !strings.Contains(disc, sig) {
				t.Errorf("oras discover does not list our attachments %s and %s:\n%s", ours, sig, disc)
			}
		})
	}
}
