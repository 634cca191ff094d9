package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// policyEnv holds what the policy tests share: a key pair made by stevedore
// and a policy trusting it for every repository under */policy/ and
// */protected/ (any registry host).
type policyEnv struct {
	dir, key, pub, policy string
	env                   []string
}

func newPolicyEnv(t *testing.T) *policyEnv {
	t.Helper()
	needTools(t, "cosign")
	p := &policyEnv{dir: t.TempDir(), env: []string{"COSIGN_PASSWORD=" + signPassword}}
	prefix := filepath.Join(p.dir, "release")
	mustRun(t, p.env, stevedoreBin, "generate-key-pair", "--output-prefix", prefix)
	p.key, p.pub = prefix+".key", prefix+".pub"
	p.policy = filepath.Join(p.dir, "policy.yaml")
	doc := "repositories:\n" +
		"  - pattern: '*/policy/**'\n    keys: [release.pub]\n" +
		"  - pattern: '*/protected/**'\n    keys: [release.pub]\n" +
		"unmatched: accept\n"
	if err := os.WriteFile(p.policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cosignVerify runs `cosign verify` with pub against ref and checks the verdict.
func (p *policyEnv) cosignVerify(t *testing.T, pub, ref string, want bool) {
	t.Helper()
	checkVerdict(t, nil, "cosign", []string{"verify", "--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", ref}, want)
}

// TestCopyVerifyPolicy: copy --verify-policy refuses an unsigned image before
// writing anything, and copies a signed one with its signatures so cosign
// verifies it at the destination; copy --sign-with signs the copy there.
func TestCopyVerifyPolicy(t *testing.T) {
	p := newPolicyEnv(t)
	fx := sharedFixtures(t)
	host := sharedServer(t).Registry
	src := fx.image(t, "oci").Ref()
	sdCopy(t, src, host+"/policy/unsigned:v1")
	signed := sdCopy(t, src, host+"/policy/signed:v1").Result.Digest
	mustRun(t, p.env, stevedoreBin, "sign", "--key", p.key, host+"/policy/signed:v1")

	t.Run("unsigned is refused, nothing written", func(t *testing.T) {
		layoutDir := filepath.Join(t.TempDir(), "out")
		for _, dst := range []string{host + "/policy-dest/unsigned:v1", "oci:" + layoutDir + ":v1"} {
			r, err := run(nil, stevedoreBin, "copy", "--verify-policy", p.policy, host+"/policy/unsigned:v1", dst)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code == 0 || !strings.Contains(string(r.Stderr), "trust policy refuses") {
				t.Errorf("copy of an unsigned image to %s: exit %d, stderr %s", dst, r.Code, r.Stderr)
			}
		}
		if _, err := os.Stat(layoutDir); !os.IsNotExist(err) {
			t.Errorf("the refused copy created %s (%v)", layoutDir, err)
		}
		if code := httpGet(t, "http://"+host+"/v2/policy-dest/unsigned/tags/list"); code != http.StatusNotFound {
			t.Errorf("the refused copy created the destination repository: tags/list answered %d", code)
		}
	})

	t.Run("signed is copied with its signature", func(t *testing.T) {
		dst := host + "/policy-dest/signed"
		out := mustRun(t, nil, stevedoreBin, "copy", "--verify-policy", p.policy, host+"/policy/signed:v1", dst+":v1")
		if got := strings.TrimSpace(string(out)); got != signed {
			t.Errorf("copied %s, want %s", got, signed)
		}
		p.cosignVerify(t, p.pub, dst+"@"+signed, true)
		checkVerdict(t, nil, stevedoreBin, []string{"verify", "--key", p.pub, "--json", dst + ":v1"}, true)
	})

	t.Run("a stranger's signature is refused", func(t *testing.T) {
		stranger := filepath.Join(t.TempDir(), "stranger")
		mustRun(t, p.env, stevedoreBin, "generate-key-pair", "--output-prefix", stranger)
		sdCopy(t, src, host+"/policy/stranger:v1")
		mustRun(t, p.env, stevedoreBin, "sign", "--key", stranger+".key", host+"/policy/stranger:v1")
		r, err := run(nil, stevedoreBin, "copy", "--verify-policy", p.policy, host+"/policy/stranger:v1", host+"/policy-dest/stranger:v1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code == 0 || !strings.Contains(string(r.Stderr), "signature") {
			t.Errorf("copy of a stranger-signed image: exit %d, stderr %s", r.Code, r.Stderr)
		}
	})

	t.Run("sign-with signs at the destination", func(t *testing.T) {
		dst := host + "/policy-dest/signed-on-copy"
		out := mustRun(t, p.env, stevedoreBin, "copy", "--sign-with", p.key, host+"/policy/unsigned:v1", dst+":v1")
		d := strings.TrimSpace(string(out))
		p.cosignVerify(t, p.pub, dst+"@"+d, true)
		// A wrong password fails before anything is copied.
		r, err := run([]string{"COSIGN_PASSWORD=wrong"}, stevedoreBin, "copy", "--sign-with", p.key, host+"/policy/unsigned:v1", host+"/policy-dest/never:v1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code == 0 || httpGet(t, "http://"+host+"/v2/policy-dest/never/tags/list") != http.StatusNotFound {
			t.Errorf("copy --sign-with with a wrong password: exit %d, stderr %s", r.Code, r.Stderr)
		}
	})
}

// TestSignServiceInterop: a key pair made and used through the gRPC API
// signs an image cosign verifies; REST Verify agrees, by PEM and by key id.
func TestSignServiceInterop(t *testing.T) {
	p := newPolicyEnv(t)
	fx := sharedFixtures(t)
	s := sharedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := stevedorev1.NewSignServiceClient(s.Conn)
	gen, err := c.GenerateKeyPair(ctx, &stevedorev1.GenerateKeyPairRequest{Password: signPassword})
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(p.dir, "server.pub")
	if err := os.WriteFile(pub, []byte(gen.GetPublicKeyPem()), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := s.Registry + "/signsvc/img"
	d := sdCopy(t, fx.image(t, "oci").Ref(), repo+":v1").Result.Digest
	for _, f := range []stevedorev1.SignatureFormat{stevedorev1.SignatureFormat_SIGNATURE_FORMAT_BUNDLE, stevedorev1.SignatureFormat_SIGNATURE_FORMAT_LEGACY} {
		if _, err := c.Sign(ctx, &stevedorev1.SignRequest{Ref: repo + ":v1", KeyId: gen.GetKeyId(), Password: signPassword, Format: f}); err != nil {
			t.Fatalf("Sign %s: %v", f, err)
		}
	}
	p.cosignVerify(t, pub, repo+"@"+d, true)
	p.cosignVerify(t, p.pub, repo+"@"+d, false)

	// REST: POST with a PEM body, and GET with a key id.
	pemOf := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name     string
		pem      string
		verified bool
	}{{"server key", gen.GetPublicKeyPem(), true}, {"other key", pemOf(p.pub), false}} {
		body, _ := json.Marshal(map[string]any{"ref": repo + ":v1", "publicKeys": []string{tc.pem}})
		rep := restVerify(t, http.MethodPost, "http://"+s.HTTP+"/v1/images:verify", body)
		if rep.Verified != tc.verified || len(rep.Findings) != 2 {
			t.Errorf("REST verify with the %s: %+v, want verified=%v with 2 findings", tc.name, rep, tc.verified)
		}
	}
	q := url.Values{"ref": {repo + ":v1"}, "keyIds": {gen.GetKeyId()}, "format": {"SIGNATURE_FORMAT_BUNDLE"}}
	rep := restVerify(t, http.MethodGet, "http://"+s.HTTP+"/v1/images:verify?"+q.Encode(), nil)
	if !rep.Verified || len(rep.Findings) != 1 || rep.Findings[0].Key != gen.GetKeyId() {
		t.Errorf("REST GET verify by key id: %+v", rep)
	}
}

// restReport is the JSON of a VerifyResponse.
type restReport struct {
	Verified bool
	Subject  struct{ Digest string }
	Findings []struct {
		Verified bool
		Key      string
		Reason   string
	}
}

func restVerify(t *testing.T, method, u string, body []byte) restReport {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		// The REST port takes writes as JSON only (service.HTTPGuard).
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	var rep restReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return rep
}

// TestPullPolicy: with serve --pull-policy, an unsigned image in a protected
// repository cannot be pulled (403 DENIED), a signed one can (and cosign,
// which reads its signatures, verifies it), and other repositories are open.
func TestPullPolicy(t *testing.T) {
	p := newPolicyEnv(t)
	fx := sharedFixtures(t)
	s, err := startStevedore(t, "stevedore-pull-policy", serveOptions{Args: []string{"--pull-policy", p.policy}})
	if err != nil {
		t.Fatal(err)
	}
	src := fx.image(t, "oci").Ref()
	sdCopy(t, src, s.Registry+"/protected/unsigned:v1")
	sdCopy(t, src, s.Registry+"/open/unsigned:v1")
	d := sdCopy(t, src, s.Registry+"/protected/signed:v1").Result.Digest
	mustRun(t, p.env, stevedoreBin, "sign", "--key", p.key, s.Registry+"/protected/signed:v1")
	mustRun(t, p.env, stevedoreBin, "sign", "--key", p.key, "--format", "legacy", s.Registry+"/protected/signed:v1")

	for _, tc := range []struct {
		path string
		want int
	}{
		{"/v2/protected/unsigned/manifests/v1", http.StatusForbidden},
		{"/v2/protected/unsigned/manifests/" + d, http.StatusForbidden},
		{"/v2/protected/signed/manifests/v1", http.StatusOK},
		{"/v2/protected/signed/manifests/" + d, http.StatusOK},
		{"/v2/protected/signed/manifests/sha256-" + strings.TrimPrefix(d, "sha256:") + ".sig", http.StatusOK},
		{"/v2/open/unsigned/manifests/v1", http.StatusOK},
	} {
		if got := httpGet(t, "http://"+s.Registry+tc.path); got != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, got, tc.want)
		}
	}
	// Pushing is not pulling: the unsigned image went in above. Pulling it out fails.
	r, err := run(nil, stevedoreBin, "copy", s.Registry+"/protected/unsigned:v1", "oci:"+filepath.Join(t.TempDir(), "l"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Code == 0 || !strings.Contains(string(r.Stderr), "DENIED") && !strings.Contains(string(r.Stderr), "denied") {
		t.Errorf("pulling an unsigned protected image: exit %d, stderr %s", r.Code, r.Stderr)
	}
	p.cosignVerify(t, p.pub, s.Registry+"/protected/signed@"+d, true)
}

// httpGet returns the status of a GET with an OCI manifest Accept header.
func httpGet(t *testing.T, u string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
