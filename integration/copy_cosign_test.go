package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyCosignReferrers is issue 4's acceptance 3: an image signed by
// cosign (bundle format, an OCI 1.1 referrer; legacy format, the
// sha256-<hex>.sig tag) and carrying an `oras attach`ed SBOM is copied
// with `stevedore copy --referrers` to our registry (referrers API) and to
// a distribution registry (none: the sha256-<hex> tag schema); at both,
// `cosign verify` passes with the signer's key and `oras discover` lists
// the SBOM. Each format gets its own source repository: cosign ignores
// legacy signatures once a bundle exists.
func TestCopyCosignReferrers(t *testing.T) {
	needTools(t, "cosign")
	f := sharedFixtures(t)
	srcHost := secondDistribution(t).Host
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=" + signPassword}
	key := filepath.Join(dir, "cosign")
	mustRun(t, env, "cosign", "generate-key-pair", "--output-key-prefix", key)
	sbom := filepath.Join(dir, "sbom.spdx.json")
	if err := os.WriteFile(sbom, []byte(`{"spdxVersion":"SPDX-2.3","name":"copy-cosign"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const sbomType = "application/spdx+json"

	for _, format := range []string{"bundle", "legacy"} {
		t.Run(format, func(t *testing.T) {
			src := srcHost + "/cosign-src/" + format
			img := sdCopy(t, f.image(t, "oci").Ref(), src+":v1").Result.Digest
			args := []string{"sign", "--key", key + ".key", "--use-signing-config=false", "--tlog-upload=false", "--allow-insecure-registry", "-y"}
			if format == "legacy" {
				args = append(args, "--new-bundle-format=false")
			}
			mustRun(t, env, "cosign", append(args, src+"@"+img)...)
			mustRun(t, nil, "oras", "attach", "--plain-http", "--disable-path-validation", "--artifact-type", sbomType, src+":v1", sbom+":"+sbomType)

			for _, dst := range []struct{ name, repo string }{
				{"stevedore", sharedServer(t).Registry + "/cosign/" + format},
				{"distribution", f.Dist.Host + "/cosign/" + format},
			} {
				t.Run(dst.name, func(t *testing.T) {
					out := sdCopy(t, "--referrers", src+":v1", dst.repo+":v1")
					if out.Result.Digest != img {
						t.Fatalf("copy digest %s, want %s", out.Result.Digest, img)
					}
					checkVerdict(t, nil, "cosign", []string{"verify", "--key", key + ".pub", "--insecure-ignore-tlog", "--allow-insecure-registry", dst.repo + "@" + img}, true)
					disc := string(mustRun(t, nil, "oras", "discover", "--plain-http", "--artifact-type", sbomType, dst.repo+"@"+img))
					if !strings.Contains(disc, "sha256:") {
						t.Errorf("oras discover at %s found no SBOM:\n%s", dst.name, disc)
					}
					// A stranger's key must not verify what arrived.
					other := filepath.Join(t.TempDir(), "other")
					mustRun(t, env, "cosign", "generate-key-pair", "--output-key-prefix", other)
					checkVerdict(t, nil, "cosign", []string{"verify", "--key", other + ".pub", "--insecure-ignore-tlog", "--allow-insecure-registry", dst.repo + "@" + img}, false)
				})
			}
		})
	}
}
