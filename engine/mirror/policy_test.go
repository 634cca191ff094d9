package mirror_test

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// TestMirrorVerifyPolicy: with a trust policy, an unsigned image fails
// (DENIED) and writes nothing while a signed one is copied with its
// signature, which then verifies at the destination.
func TestMirrorVerifyPolicy(t *testing.T) {
	ctx := context.Background()
	src, dst := newServer(t), newServer(t)
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	signed := src.repo(t, "org/signed")
	sd := signed.image("amd64", "signed layer")
	signed.tag(sd, "v1")
	if _, err := sign.Sign(ctx, signed.repo, "v1", kp.Key, sign.SignOptions{}); err != nil {
		t.Fatal(err)
	}
	unsigned := src.repo(t, "org/unsigned")
	ud := unsigned.image("amd64", "unsigned layer")
	unsigned.tag(ud, "v1")

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k.pub"), kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse([]byte(fmt.Sprintf("repositories:\n- pattern: '%s/**'\n  keys: [k.pub]\n", src.host)), dir, policy.Verifiers{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
destination: {registry: %q}
sources:
  - images: [%s/org/signed:v1, %s/org/unsigned:v1]
`, dst.host, src.host, src.host)
	rep := run(t, cfg, mirror.Options{Policy: pol})
	got := map[string]mirror.ImageReport{}
	for _, im := range rep.Images {
		got[im.Source] = im
	}
	if im := got["docker://"+src.host+"/org/signed:v1"]; im.Action != mirror.ActionCopied || im.Referrers == 0 {
		t.Errorf("signed image: %+v (error %+v), want copied with its signature", im, im.Error)
	}
	if im := got["docker://"+src.host+"/org/unsigned:v1"]; im.Action != mirror.ActionFailed || im.Error == nil || im.Error.Code != "DENIED" {
		t.Errorf("unsigned image: %+v (error %+v), want failed DENIED", im, im.Error)
	}
	if _, err := dst.repo(t, "org/unsigned").resolve("v1"); err == nil {
		t.Error("the unsigned image reached the destination")
	}
	if ok, _ := dst.repo(t, "org/unsigned").repo.Exists(ctx, ud); ok {
		t.Error("the unsigned manifest reached the destination")
	}
	out := dst.repo(t, "org/signed")
	rv, err := sign.Verify(ctx, out.repo, "v1", sign.VerifyOptions{Keys: []crypto.PublicKey{kp.Key.Public()}})
	if err != nil || !rv.Verified {
		t.Errorf("signature at the destination: %v %+v", err, rv)
	}
}
