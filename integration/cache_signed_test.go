package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCacheSignedImage: an image signed at the upstream (cosign, in the
// bundle format — an OCI 1.1 referrer, which the distribution upstream
// keeps under the referrers tag schema — and in the legacy .sig tag format)
// verifies through the cache with `cosign verify` and `stevedore verify`,
// the signer's key passing and a stranger's failing: the cache proxies
// referrers and signature tags. The cached image is then ordinary content:
// stevedore tree reads it through the registry, and the API reads it as a
// store: reference.
func TestCacheSignedImage(t *testing.T) {
	if _, err := exec.LookPath("cosign"); err != nil {
		t.Fatal("cosign not on PATH: scripts/install-tools.sh builds it")
	}
	rig := startCacheRig(t, "")
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=" + signPassword}
	key := filepath.Join(dir, "cosign")
	mustRun(t, env, "cosign", "generate-key-pair", "--output-key-prefix", key)
	stranger := filepath.Join(dir, "stranger")
	mustRun(t, env, stevedoreBin, "generate-key-pair", "--output-prefix", stranger)
	layer := filepath.Join(dir, "layer.tar")
	if err := writeLayerTar(layer, "signed", 4); err != nil {
		t.Fatal(err)
	}

	for _, format := range []string{"bundle", "legacy"} {
		t.Run(format, func(t *testing.T) {
			up := rig.upRef("signed/" + format)
			crane(t, "append", "--insecure", "--oci-empty-base", "-f", layer, "-t", up+":v1")
			img := strings.TrimSpace(string(crane(t, "digest", "--insecure", up+":v1")))
			args := []string{"sign", "--key", key + ".key", "--use-signing-config=false", "--tlog-upload=false", "--allow-insecure-registry", "-y"}
			if format == "legacy" {
				args = append(args, "--new-bundle-format=false")
			}
			mustRun(t, env, "cosign", append(args, up+"@"+img)...)

			cached := rig.ref("signed/" + format)
			for _, pub := range []string{key + ".pub", stranger + ".pub"} {
				want := pub == key+".pub"
				checkVerdict(t, nil, "cosign", []string{"verify", "--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", cached + "@" + img}, want)
				checkVerdict(t, nil, stevedoreBin, []string{"verify", "--key", pub, "--json", "--format", format, cached + ":v1"}, want)
			}
			checkTree(t, cached+":v1", format)
			var described struct{ Digest string }
			if err := json.Unmarshal(sd(t, "inspect", cached+":v1"), &described); err != nil || described.Digest != img {
				t.Errorf("stevedore inspect through the cache: %+v (%v), want %s", described, err, img)
			}
			if ls := string(sd(t, "ls", cached+":v1")); !strings.Contains(ls, "data/signed/file0.bin") {
				t.Errorf("stevedore ls through the cache:\n%s", ls)
			}

			// Pulled whole, the cached image is the store's like any other
			// (each blob committed just after its last byte went out).
			crane(t, "pull", "--insecure", cached+":v1", filepath.Join(t.TempDir(), "img.tar"))
			inspect := "http://" + rig.sd.HTTP + "/v1/images:inspect?ref=" + url.QueryEscape("store:up/signed/"+format+":v1")
			var status string
			var body []byte
			waitFor(t, 10*time.Second, "the API to read the cached image", func() bool {
				resp, err := http.Get(inspect)
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				status = resp.Status
				return resp.StatusCode == http.StatusOK
			})
			var got struct{ Digest string }
			if err := json.Unmarshal(body, &got); err != nil || got.Digest != img {
				t.Errorf("API inspect of store:up/signed/%s:v1: %s %s, want digest %s", format, status, body, img)
			}

			// The API may not push under the prefix either: what the cache
			// serves is the upstream's, on every port.
			req, _ := http.NewRequest(http.MethodPost, "http://"+rig.sd.HTTP+"/v1/copy", strings.NewReader(
				`{"source":"store:up/signed/`+format+`:v1","destination":"store:up/signed/`+format+`:forged"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "pull-through cache") {
				t.Errorf("API copy into the cache's prefix: %s %s, want 403 naming the cache", resp.Status, body)
			}
		})
	}
}
