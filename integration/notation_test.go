package integration

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/sign/notation/notationtest"
)

var (
	oracleOnce sync.Once
	oracleBin  string
	oracleErr  error
)

// notationOracle builds integration/internal/notationoracle, the notation-go
// program that signs and verifies as the notation CLI does; a build failure
// fails the test.
func notationOracle(t *testing.T) string {
	t.Helper()
	oracleOnce.Do(func() {
		oracleBin = filepath.Join(pkg.dir, "notationoracle")
		out, err := exec.Command("go", "build", "-o", oracleBin, "github.com/stevedore-dev/stevedore/integration/internal/notationoracle").CombinedOutput()
		if err != nil {
			oracleErr = err
			t.Logf("%s", out)
		}
	})
	if oracleErr != nil {
		t.Fatalf("building the notation-go oracle: %v", oracleErr)
	}
	return oracleBin
}

// notationTrust is a signer's files and the verify flags of both tools.
type notationTrust struct {
	files     notationtest.Files
	stevedore []string // --trust-policy P --trust-store D
	oracle    []string // -trust-policy P -trust-store D
}

func newNotationTrust(t *testing.T, s *notationtest.Signer, scopes ...string) notationTrust {
	t.Helper()
	f := s.Write(t, t.TempDir(), scopes...)
	return notationTrust{files: f,
		stevedore: []string{"--trust-policy", f.TrustPolicy, "--trust-store", f.TrustStore},
		oracle:    []string{"-trust-policy", f.TrustPolicy, "-trust-store", f.TrustStore}}
}

// TestNotationInterop: Notary Project signatures, JWS and COSE, made by
// notation-go are verified by stevedore, and stevedore's by notation-go, on
// our registry (referrers API) and on the CNCF distribution registry (no
// referrers API: the tag schema), with the signed user metadata; neither
// accepts them under another signer's trust store. Rows "notation JWS"
// and "notation COSE" of the EXAMPLES.md table.
func TestNotationInterop(t *testing.T) {
	oracle := notationOracle(t)
	fx := sharedFixtures(t)
	alice, mallory := notationtest.NewSigner(t, "alice"), notationtest.NewSigner(t, "mallory")
	type tcase struct{ reg, host, signer, envelope, repo string }
	var cases []tcase
	var scopes []string
	for _, reg := range []struct{ name, host string }{{"stevedore", sharedServer(t).Registry}, {"distribution", secondDistribution(t).Host}} {
		for _, signer := range []string{"notation-go", "stevedore"} {
			for _, env := range []string{"jws", "cose"} {
				repo := reg.host + "/notation/" + signer + "-" + env
				cases = append(cases, tcase{reg.name, reg.host, signer, env, repo})
				scopes = append(scopes, repo)
			}
		}
	}
	trustAlice, trustMallory := newNotationTrust(t, alice, scopes...), newNotationTrust(t, mallory, scopes...)
	for _, tc := range cases {
		t.Run(tc.reg+"/"+tc.signer+" signs "+tc.envelope, func(t *testing.T) {
			img := sdCopy(t, fx.image(t, "oci").Ref(), tc.repo+":v1").Result.Digest
			ref := tc.repo + "@" + img
			if tc.signer == "notation-go" {
				mustRun(t, nil, oracle, "sign", "-key", trustAlice.files.Key, "-chain", trustAlice.files.Chain, "-envelope", tc.envelope, "-m", "team=web", ref)
			} else {
				sd(t, "sign", "--format", "notation", "--signature-format", tc.envelope, "--key", trustAlice.files.Key,
					"--certificate-chain", trustAlice.files.Chain, "-a", "team=web", tc.repo+":v1")
			}
			for _, trust := range []struct {
				nt   notationTrust
				want bool
			}{{trustAlice, true}, {trustMallory, false}} {
				checkVerdict(t, nil, stevedoreBin, append(append([]string{"verify", "--json", "-a", "team=web"}, trust.nt.stevedore...), tc.repo+":v1"), trust.want)
				checkVerdict(t, nil, oracle, append(append([]string{"verify"}, trust.nt.oracle...), ref), trust.want)
			}
			checkVerdict(t, nil, stevedoreBin, append(append([]string{"verify", "--json", "-a", "team=db"}, trustAlice.stevedore...), tc.repo+":v1"), false)
			checkTree(t, tc.repo+":v1", "notation")
			// The referrers API on our registry, the tag schema on distribution.
			fallback := "sha256-" + strings.TrimPrefix(img, "sha256:")
			tags := string(sd(t, "tags", tc.repo))
			if strings.Contains(tags, fallback) != (tc.reg == "distribution") {
				t.Errorf("tags of %s: %s (tag schema expected only on distribution)", tc.repo, tags)
			}
		})
	}
}

// TestNotationVectors: the real notation signatures of notation-go's
// testdata (engine/sign/notation/testdata/README.md), stored in a layout as
// notation stores them, verify with stevedore and notation-go for the
// trusted identity and with neither for another. Row "notation (real
// vectors)".
func TestNotationVectors(t *testing.T) {
	oracle := notationOracle(t)
	v := notationtest.WriteVectors(t, filepath.Join(t.TempDir(), "oci"))
	policy, store := notationtest.TestData("trustpolicy.json"), notationtest.TestData("truststore")
	for _, tc := range []struct {
		scope string
		want  bool
	}{{notationtest.VectorScope, true}, {"registry.example/other", false}} {
		checkVerdict(t, nil, stevedoreBin, []string{"verify", "--json", "--trust-policy", policy, "--trust-store", store, "--scope", tc.scope, "oci:" + v.Dir + ":" + notationtest.VectorTag}, tc.want)
		checkVerdict(t, nil, oracle, []string{"verify", "-trust-policy", policy, "-trust-store", store, "-oci-layout", v.Dir, tc.scope + "@" + v.Subject.Digest.String()}, tc.want)
	}
}

// TestNotationPolicy: copy --verify-policy with a notation rule copies an
// image notation-signed by the trusted signer and refuses the same image
// signed by another (the chain check), or not signed.
func TestNotationPolicy(t *testing.T) {
	fx := sharedFixtures(t)
	host := sharedServer(t).Registry
	alice, mallory := notationtest.NewSigner(t, "alice"), notationtest.NewSigner(t, "mallory")
	repos := map[string]*notationtest.Signer{host + "/notation-policy/alice": alice, host + "/notation-policy/mallory": mallory, host + "/notation-policy/unsigned": nil}
	var scopes []string
	for r := range repos {
		scopes = append(scopes, r)
	}
	dir := t.TempDir()
	alice.Write(t, dir, scopes...)
	mf := mallory.Write(t, t.TempDir(), scopes...)
	for repo, s := range repos {
		sdCopy(t, fx.image(t, "oci").Ref(), repo+":v1")
		if s != nil {
			chain := filepath.Join(dir, "alice.crt")
			key := filepath.Join(dir, "alice.key")
			if s == mallory {
				chain, key = mf.Chain, mf.Key
			}
			sd(t, "sign", "--format", "notation", "--key", key, "--certificate-chain", chain, repo+":v1")
		}
	}
	pol := filepath.Join(dir, "policy.yaml")
	doc := "repositories:\n  - pattern: '*/notation-policy/**'\n    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, nil, stevedoreBin, "copy", "--verify-policy", pol, host+"/notation-policy/alice:v1", host+"/notation-dest/alice:v1")
	for _, tc := range []struct{ src, why string }{
		{host + "/notation-policy/mallory:v1", "chain check failed"},
		{host + "/notation-policy/unsigned:v1", "no signatures found"},
	} {
		r, err := run(nil, stevedoreBin, "copy", "--verify-policy", pol, tc.src, host+"/notation-dest/refused:v1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code == 0 || !strings.Contains(string(r.Stderr), "trust policy refuses") || !strings.Contains(string(r.Stderr), tc.why) {
			t.Errorf("copy --verify-policy of %s: exit %d, stderr %s; want a refusal saying %q", tc.src, r.Code, r.Stderr, tc.why)
		}
	}
}

// TestNotationPullPolicy: serve --pull-policy with a notation rule serves a
// manifest notation-signed by the trusted signer, answers 403 for one
// signed by another or unsigned, and notation-go verifies the served image.
func TestNotationPullPolicy(t *testing.T) {
	oracle := notationOracle(t)
	fx := sharedFixtures(t)
	alice, mallory := notationtest.NewSigner(t, "alice"), notationtest.NewSigner(t, "mallory")
	dir := t.TempDir()
	af := alice.Write(t, dir, "*")
	mf := mallory.Write(t, t.TempDir(), "*")
	pol := filepath.Join(dir, "policy.yaml")
	doc := "repositories:\n  - pattern: '*/notary/**'\n    notation: {trustPolicy: trustpolicy.json, trustStore: truststore}\n"
	if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := startStevedore(t, "stevedore-notation-pull-policy", serveOptions{Args: []string{"--pull-policy", pol}})
	if err != nil {
		t.Fatal(err)
	}
	src := fx.image(t, "oci").Ref()
	digests := map[string]string{}
	for name, f := range map[string]*notationtest.Files{"alice": &af, "mallory": &mf, "unsigned": nil} {
		repo := s.Registry + "/notary/" + name
		digests[name] = sdCopy(t, src, repo+":v1").Result.Digest
		if f != nil {
			sd(t, "sign", "--format", "notation", "--key", f.Key, "--certificate-chain", f.Chain, repo+":v1")
		}
	}
	for name, want := range map[string]int{"alice": http.StatusOK, "mallory": http.StatusForbidden, "unsigned": http.StatusForbidden} {
		if got := httpGet(t, "http://"+s.Registry+"/v2/notary/"+name+"/manifests/v1"); got != want {
			t.Errorf("GET notary/%s: %d, want %d", name, got, want)
		}
	}
	checkVerdict(t, nil, oracle, []string{"verify", "-trust-policy", af.TrustPolicy, "-trust-store", af.TrustStore, s.Registry + "/notary/alice@" + digests["alice"]}, true)
}
