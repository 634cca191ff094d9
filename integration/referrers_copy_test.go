package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyReferrers: an artifact `oras attach`ed to an image in our
// registry travels with `stevedore copy --referrers` to a distribution
// registry (no referrers API: the tag schema), where `oras discover` finds
// it; and back again to our registry.
func TestCopyReferrers(t *testing.T) {
	f := sharedFixtures(t)
	s := sharedServer(t)
	d2 := secondDistribution(t)
	src := s.Registry + "/referrers/app:v1"
	sdCopy(t, f.image(t, "oci").Ref(), src)

	sbom := filepath.Join(t.TempDir(), "sbom.json")
	if err := os.WriteFile(sbom, []byte(`{"spdxVersion":"SPDX-2.3"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, nil, "oras", "attach", "--plain-http", "--disable-path-validation", "--artifact-type", "application/spdx+json", src, sbom+":application/spdx+json")

	dst := d2.Host + "/referrers/app:v1"
	out := sdCopy(t, "--referrers", src, dst)
	if out.Result.Digest == "" {
		t.Fatal("no digest")
	}
	disc := string(mustRun(t, nil, "oras", "discover", "--plain-http", "--artifact-type", "application/spdx+json", dst))
	if !strings.Contains(disc, "sha256:") {
		t.Errorf("oras discover at distribution found no SBOM:\n%s", disc)
	}

	back := s.Registry + "/referrers/back:v1"
	sdCopy(t, "--referrers", dst, back)
	disc = string(mustRun(t, nil, "oras", "discover", "--plain-http", "--artifact-type", "application/spdx+json", back))
	if !strings.Contains(disc, "sha256:") {
		t.Errorf("oras discover back at stevedore found no SBOM:\n%s", disc)
	}
}
