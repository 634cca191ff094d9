package integration

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestCopyOCIArchive: skopeo writes an oci-archive that stevedore reads
// into a layout with the same digest; stevedore writes one from a registry
// that skopeo inspects with the registry's digest.
func TestCopyOCIArchive(t *testing.T) {
	f := sharedFixtures(t)
	img := f.image(t, "oci")
	want := craneSees(t, img.Ref()).Digest
	dir := t.TempDir()

	skArchive := filepath.Join(dir, "skopeo.tar")
	mustRun(t, nil, "skopeo", "copy", "--src-tls-verify=false", "docker://"+img.Ref(), "oci-archive:"+skArchive+":t")
	if out := sdCopy(t, "oci-archive:"+skArchive+":t", "oci:"+filepath.Join(dir, "layout")+":t"); out.Result.Digest != want {
		t.Errorf("oci-archive → oci: digest %s, want %s", out.Result.Digest, want)
	}

	sdArchive := filepath.Join(dir, "stevedore.tar")
	if out := sdCopy(t, img.Ref(), "oci-archive:"+sdArchive+":t"); out.Result.Digest != want {
		t.Errorf("registry → oci-archive: digest %s, want %s", out.Result.Digest, want)
	}
	var sk struct{ Digest string }
	if err := json.Unmarshal(mustRun(t, nil, "skopeo", "inspect", "oci-archive:"+sdArchive+":t"), &sk); err != nil || sk.Digest != want {
		t.Errorf("skopeo inspect oci-archive: %q (%v), want %s", sk.Digest, err, want)
	}
}

// TestCopyDockerArchive: stevedore writes a docker-archive from a registry
// image that skopeo reads with the same config and layer digests skopeo's
// own docker-archive of that image has; and stevedore reads skopeo's
// archive back into a layout.
func TestCopyDockerArchive(t *testing.T) {
	f := sharedFixtures(t)
	img := f.image(t, "docker")
	dir := t.TempDir()

	type inspect struct {
		Layers   []string
		RepoTags []string
	}
	skArchive := filepath.Join(dir, "skopeo.tar")
	mustRun(t, nil, "skopeo", "copy", "--src-tls-verify=false", "docker://"+img.Ref(), "docker-archive:"+skArchive+":example.com/app:v1")
	var skWant inspect
	if err := json.Unmarshal(mustRun(t, nil, "skopeo", "inspect", "docker-archive:"+skArchive), &skWant); err != nil {
		t.Fatal(err)
	}

	sdArchive := filepath.Join(dir, "stevedore.tar")
	sdCopy(t, img.Ref(), "docker-archive:"+sdArchive+":example.com/app:v1")
	var got inspect
	if err := json.Unmarshal(mustRun(t, nil, "skopeo", "inspect", "docker-archive:"+sdArchive), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Layers) == 0 || len(got.Layers) != len(skWant.Layers) {
		t.Fatalf("layers %v, skopeo's archive has %v", got.Layers, skWant.Layers)
	}
	for i := range got.Layers {
		if got.Layers[i] != skWant.Layers[i] {
			t.Errorf("layer %d: %s, skopeo's archive has %s", i, got.Layers[i], skWant.Layers[i])
		}
	}
	mustRun(t, nil, "skopeo", "copy", "docker-archive:"+sdArchive, "oci:"+filepath.Join(dir, "via-skopeo")+":v1")

	back := sdCopy(t, "docker-archive:"+skArchive+":example.com/app:v1", "oci:"+filepath.Join(dir, "back")+":v1")
	if back.Result.Digest == "" || back.Result.BlobsCopied != len(skWant.Layers)+1 {
		t.Errorf("docker-archive → oci: %+v", back.Result)
	}
}
