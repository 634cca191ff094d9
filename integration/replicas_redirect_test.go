package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestS3BlobRedirect serves from versitygw with --blob-redirect and a public
// endpoint that differs from the private one (localhost vs 127.0.0.1, the
// same server): a blob GET answers 307 to a presigned URL on the public
// endpoint, curl and crane follow it to versitygw, and the bytes hash to
// the digest. Manifests are still served by the replica.
//
// distribution-spec v1.1.1 §Pulling blobs (a 307 is allowed):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func TestS3BlobRedirect(t *testing.T) {
	needTools(t, "versitygw", "crane", "curl")
	gw, err := startVersity(t, "versitygw-redirect")
	if err != nil {
		t.Fatal(err)
	}
	public := strings.Replace(gw.Endpoint, "127.0.0.1", "localhost", 1)
	rep := s3Replicas(t, gw, gw.bucket(t), 1, "--blob-redirect", "--s3-public-endpoint", public)[0]

	layer := filepath.Join(t.TempDir(), "layer.tar")
	randomLayer(t, layer, 2<<20, 7)
	ref := rep.Registry + "/redir/img:v1"
	crane(t, "append", "--oci-empty-base", "-f", layer, "-t", ref)
	var m struct {
		Layers []struct {
			Digest digest.Digest `json:"digest"`
			Size   int64         `json:"size"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(crane(t, "manifest", ref), &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("manifest: %v (%d layers)", err, len(m.Layers))
	}
	d := m.Layers[0].Digest
	blobURL := "http://" + rep.Registry + "/v2/redir/img/blobs/" + d.String()

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(blobURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("blob GET: %s, want 307", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := url.Parse(public); loc.Host != want.Host {
		t.Errorf("redirect to host %q, want the public endpoint's %q", loc.Host, want.Host)
	}
	if loc.Query().Get("X-Amz-Signature") == "" {
		t.Errorf("redirect URL is not presigned: %s", loc)
	}

	hashOf := func(b []byte) digest.Digest {
		s := sha256.Sum256(b)
		return digest.Digest("sha256:" + hex.EncodeToString(s[:]))
	}
	t.Run("curl follows", func(t *testing.T) {
		out, err := exec.Command("curl", "-sfL", blobURL).Output()
		if err != nil {
			t.Fatalf("curl -L: %v", err)
		}
		if got := hashOf(out); got != d || int64(len(out)) != m.Layers[0].Size {
			t.Fatalf("curl got %d bytes hashing to %s, want %s", len(out), got, d)
		}
	})
	t.Run("crane follows", func(t *testing.T) {
		out := crane(t, "blob", rep.Registry+"/redir/img@"+d.String())
		if got := hashOf(out); got != d {
			t.Fatalf("crane blob hashes to %s, want %s", got, d)
		}
		crane(t, "pull", ref, filepath.Join(t.TempDir(), "img.tar"))
	})
	t.Run("manifest not redirected", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+rep.Registry+"/v2/redir/img/manifests/v1", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("manifest GET: %s, want 200", resp.Status)
		}
	})
}
