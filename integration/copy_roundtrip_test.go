package integration

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyRoundTrip is issue 4's acceptance 1: distribution → our registry
// → oci: → oci-archive: → docker-archive: → distribution again, all with
// `stevedore copy`, each intermediate read by peers.
//
// What is compared, hop by hop:
//   - registry, oci:, oci-archive: the manifest digest, which must be the
//     source's (every byte is carried, nothing re-encoded). Our registry is
//     read by crane (digest, validate --remote), skopeo inspect and oras
//     manifest fetch; the layout and archive by skopeo inspect and oras
//     manifest fetch --oci-layout (oras reads a layout tarball too);
//     skopeo only for the OCI-typed image (its oci: transport skips
//     index.json entries with Docker media types).
//   - docker-archive: the format has no place for a manifest (docker save's
//     manifest.json lists file names), so a manifest read from it is
//     synthesised and has a new digest. docker save defines the archive by
//     the config (stored as <config-hex>.json) and the uncompressed layers
//     (<diff-id-hex>.tar); so the config digest must be the source's, and
//     the layer digests skopeo reports for the archive must be the config's
//     rootfs.diff_ids (for the gzip layers of the source, the uncompressed
//     digests, not the source's layer digests). crane validate --tarball
//     reads the archive whole, hashing every layer against its diff ID.
//   - back at distribution: the pushed manifest is the one read from the
//     archive (digest as stevedore reported it); its config digest is the
//     source's, its layers are the diff IDs (uncompressed Docker layers),
//     every blob is re-hashed by skopeo copy to dir: (crane validate
//     --remote assumes gzip layers, so it runs with --fast there).
func TestCopyRoundTrip(t *testing.T) {
	f := sharedFixtures(t)
	s := sharedServer(t)
	for _, name := range []string{"oci", "docker"} {
		t.Run(name, func(t *testing.T) {
			src := f.image(t, name).Ref()
			orig := craneSees(t, src)
			cfg := craneConfig(t, src)
			want := orig.Digest
			dir := t.TempDir()

			// Hop 1: distribution → our registry.
			ours := s.Registry + "/roundtrip/" + name + ":v1"
			hop(t, "registry", sdCopy(t, src, ours).Result.Digest, want)
			hop(t, "crane digest", craneSees(t, ours).Digest, want)
			crane(t, "validate", "--remote", ours)
			hop(t, "skopeo inspect", skopeoDigest(t, "--tls-verify=false", "docker://"+ours), want)
			hop(t, "oras manifest fetch", sha256Digest(mustRun(t, nil, "oras", "manifest", "fetch", "--plain-http", ours)), want)

			// Hop 2: our registry → oci: layout.
			layoutDir := filepath.Join(dir, "layout")
			hop(t, "oci:", sdCopy(t, ours, "oci:"+layoutDir+":v1").Result.Digest, want)
			// skopeo's oci: transport only looks at index.json entries of OCI
			// media types, so it cannot see the Docker-typed image there.
			if orig.Manifest.MediaType != dockerManifestType {
				hop(t, "skopeo inspect oci:", skopeoDigest(t, "oci:"+layoutDir+":v1"), want)
			}
			hop(t, "oras --oci-layout", sha256Digest(mustRun(t, nil, "oras", "manifest", "fetch", "--oci-layout", layoutDir+":v1")), want)

			// Hop 3: oci: → oci-archive:.
			ociTar := filepath.Join(dir, "oci.tar")
			hop(t, "oci-archive:", sdCopy(t, "oci:"+layoutDir+":v1", "oci-archive:"+ociTar+":v1").Result.Digest, want)
			if orig.Manifest.MediaType != dockerManifestType {
				hop(t, "skopeo inspect oci-archive:", skopeoDigest(t, "oci-archive:"+ociTar+":v1"), want)
			}
			hop(t, "oras --oci-layout tar", sha256Digest(mustRun(t, nil, "oras", "manifest", "fetch", "--oci-layout", ociTar+":v1")), want)

			// Hop 4: oci-archive: → docker-archive:.
			dockerTar := filepath.Join(dir, "docker.tar")
			sdCopy(t, "oci-archive:"+ociTar+":v1", "docker-archive:"+dockerTar+":example.com/roundtrip/"+name+":v1")
			var sk struct {
				Layers   []string
				RepoTags []string
			}
			if err := json.Unmarshal(mustRun(t, nil, "skopeo", "inspect", "docker-archive:"+dockerTar), &sk); err != nil {
				t.Fatal(err)
			}
			equalList(t, "docker-archive layers (skopeo) vs source diff_ids", sk.Layers, cfg.RootFS.DiffIDs)
			var skRaw manifest
			if err := json.Unmarshal(mustRun(t, nil, "skopeo", "inspect", "--raw", "docker-archive:"+dockerTar), &skRaw); err != nil || skRaw.Config == nil {
				t.Fatalf("skopeo inspect --raw docker-archive: %v", err)
			}
			hop(t, "docker-archive config (skopeo)", skRaw.Config.Digest, orig.Manifest.Config.Digest)
			crane(t, "validate", "--tarball", dockerTar)

			// Hop 5: docker-archive: → distribution.
			back := f.Dist.Host + "/roundtrip/" + name + "-back:v1"
			res := sdCopy(t, "docker-archive:"+dockerTar+":example.com/roundtrip/"+name+":v1", back)
			got := craneSees(t, back)
			hop(t, "back at distribution", got.Digest, res.Result.Digest)
			hop(t, "back at distribution: config", got.Manifest.Config.Digest, orig.Manifest.Config.Digest)
			var layers []string
			for _, l := range got.Manifest.Layers {
				layers = append(layers, l.Digest)
			}
			equalList(t, "back at distribution: layers vs source diff_ids", layers, cfg.RootFS.DiffIDs)
			// crane validate assumes registry layers are compressed and
			// fails on these uncompressed ones ("gzip: invalid header"), so
			// it checks structure only; skopeo pulls every blob, verifying
			// each against its digest.
			crane(t, "validate", "--fast", "--remote", back)
			mustRun(t, nil, "skopeo", "copy", "--src-tls-verify=false", "docker://"+back, "dir:"+filepath.Join(dir, "pulled-back"))
			if c := craneConfig(t, back); !equalStrings(c.RootFS.DiffIDs, cfg.RootFS.DiffIDs) {
				t.Errorf("config diff_ids changed: %v, want %v", c.RootFS.DiffIDs, cfg.RootFS.DiffIDs)
			}
		})
	}
}

// dockerManifestType is Docker's image manifest media type (schema 2).
const dockerManifestType = "application/vnd.docker.distribution.manifest.v2+json"

func hop(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: digest %q, want %s", what, got, want)
	}
}

func skopeoDigest(t *testing.T, args ...string) string {
	t.Helper()
	var sk struct{ Digest string }
	if err := json.Unmarshal(mustRun(t, nil, "skopeo", append([]string{"inspect"}, args...)...), &sk); err != nil {
		t.Fatalf("skopeo inspect %s: %v", strings.Join(args, " "), err)
	}
	return sk.Digest
}

func equalList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 || !equalStrings(got, want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
