package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless"
	"github.com/stevedore-dev/stevedore/engine/sign/keyless/keylesstest"
)

// needCosign fails the test when cosign is missing: the interop rows are
// only green when the oracle ran.
func needCosign(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("cosign"); err != nil {
		t.Fatal("cosign not on PATH; scripts/install-tools.sh builds it")
	}
}

// keylessEnv is the real keyless vectors in a layout and on our registry,
// with the trust files cosign needs.
type keylessEnv struct {
	v                *keylesstest.Vectors
	dir              string
	publicGood, pgi  string // trusted roots
	repoBundle       string // registry repository holding the empty image and its keyless attestation
	repoLegacy       string // registry repository holding the legacy .sig tag (the image's blobs are not part of the vector)
	bundleRef        string // repoBundle@digest
	legacyRef        string // repoLegacy@digest
	layoutEmpty      string // oci:DIR:empty
	layoutLegacy     string // oci:DIR:legacy
	bundleIdentity   []string
	legacyIdentity   []string
	strangerIdentity []string
}

func newKeylessEnv(t *testing.T, name string) *keylessEnv {
	t.Helper()
	needCosign(t)
	e := &keylessEnv{dir: t.TempDir()}
	e.v = keylesstest.Write(t, filepath.Join(e.dir, "oci"), nil)
	e.publicGood = filepath.Join(e.dir, "public-good.json")
	if err := os.WriteFile(e.publicGood, keyless.PublicGood, 0o644); err != nil {
		t.Fatal(err)
	}
	e.pgi = keylesstest.TestData("cosign/trusted_root_pgi.json")
	host := sharedServer(t).Registry
	e.repoBundle, e.repoLegacy = host+"/keyless/"+name+"-bundle", host+"/keyless/"+name+"-legacy"
	e.layoutEmpty, e.layoutLegacy = "oci:"+e.v.Dir+":empty", "oci:"+e.v.Dir+":legacy"
	sdCopy(t, "--referrers", e.layoutEmpty, e.repoBundle+":v1")
	sdCopy(t, "oci:"+e.v.Dir+":"+e.v.LegacySig, e.repoLegacy+":"+e.v.LegacySig)
	e.bundleRef, e.legacyRef = e.repoBundle+"@"+e.v.Bundle.Digest.String(), e.repoLegacy+"@"+e.v.Legacy.Digest.String()
	id := func(i sign.Identity) []string {
		return []string{"--certificate-identity", i.Subject, "--certificate-oidc-issuer", i.Issuer}
	}
	e.bundleIdentity, e.legacyIdentity = id(keylesstest.BundleIdentity), id(keylesstest.LegacyIdentity)
	e.strangerIdentity = id(sign.Identity{Subject: "someone@example.com", Issuer: "https://github.com/login/oauth"})
	return e
}

// TestKeylessVectors: the real keyless signatures (testdata/SOURCES.md in
// keyless/) verify with stevedore and with cosign v3 (--trusted-root, on
// our registry) for their signer, and fail on both for another identity.
// Rows of the EXAMPLES.md table "keyless bundle" and "keyless legacy".
func TestKeylessVectors(t *testing.T) {
	e := newKeylessEnv(t, "vectors")
	const att = keylesstest.BundlePredicateType
	t.Run("keyless bundle attestation", func(t *testing.T) {
		for _, tc := range []struct {
			id   []string
			want bool
		}{{e.bundleIdentity, true}, {e.strangerIdentity, false}} {
			sdArgs := append([]string{"verify-attestation", "--json", "--type", att, "--trusted-root", e.pgi}, tc.id...)
			checkVerdict(t, nil, stevedoreBin, append(sdArgs, e.repoBundle+":v1"), tc.want)
			checkVerdict(t, nil, stevedoreBin, append(sdArgs, e.layoutEmpty), tc.want)
			coArgs := append([]string{"verify-attestation", "--type", att, "--trusted-root", e.pgi}, tc.id...)
			checkVerdict(t, nil, "cosign", append(coArgs, e.bundleRef), tc.want)
		}
	})
	t.Run("keyless legacy signature", func(t *testing.T) {
		for _, tc := range []struct {
			id   []string
			want bool
		}{{e.legacyIdentity, true}, {e.strangerIdentity, false}} {
			// The embedded public-good root is the default for stevedore;
			// cosign is given the same file.
			checkVerdict(t, nil, stevedoreBin, append(append([]string{"verify", "--json"}, tc.id...), e.layoutLegacy), tc.want)
			coArgs := append([]string{"verify", "--trusted-root", e.publicGood}, tc.id...)
			checkVerdict(t, nil, "cosign", append(coArgs, e.legacyRef), tc.want)
		}
	})
}

// certEnv is a private CA, a key pair in cosign's format and a certificate
// for it, naming alice.
type certEnv struct {
	dir, key, pub, cert, chain string
	root                       string // a trusted root whose only CA is ca
	ca                         *keylesstest.CA
	env                        []string
	verify                     []string // identity flags, the same for both tools
}

const certIssuer = "https://issuer.example.com"

func newCertEnv(t *testing.T, ca *keylesstest.CA, subject string) *certEnv {
	t.Helper()
	c := &certEnv{dir: t.TempDir(), ca: ca, env: []string{"COSIGN_PASSWORD=" + signPassword}}
	prefix := filepath.Join(c.dir, "signer")
	mustRun(t, c.env, stevedoreBin, "generate-key-pair", "--output-prefix", prefix)
	c.key, c.pub = prefix+".key", prefix+".pub"
	raw, err := os.ReadFile(c.pub)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParsePublicKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	c.cert, c.chain = filepath.Join(c.dir, "signer.pem"), filepath.Join(c.dir, "chain.pem")
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(c.cert, ca.Issue(t, pub, subject, certIssuer))
	write(c.chain, ca.ChainPEM())
	c.root = filepath.Join(c.dir, "ca-trusted-root.json")
	write(c.root, ca.TrustedRootJSON())
	c.verify = []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", certIssuer,
		"--insecure-ignore-tlog", "--insecure-ignore-sct"}
	return c
}

// TestCertificateInterop: signatures made with a private CA's certificate
// (sign --key --certificate --certificate-chain), bundle and legacy, by
// cosign and by stevedore: each tool verifies the other's against the CA
// (a trusted root for bundles, the chain for legacy signatures) for alice,
// and neither accepts them for another identity. Rows of
// the EXAMPLES.md table "certificate (private CA)".
func TestCertificateInterop(t *testing.T) {
	needCosign(t)
	fx := sharedFixtures(t)
	c := newCertEnv(t, keylesstest.NewCA(t, "interop"), "alice@example.com")
	host := sharedServer(t).Registry
	cases := []struct{ signer, format string }{
		{"cosign", "bundle"}, {"cosign", "legacy"}, {"stevedore", "bundle"}, {"stevedore", "legacy"},
	}
	for i, tc := range cases {
		t.Run(tc.signer+" signs "+tc.format, func(t *testing.T) {
			repo := host + "/certsign/case" + string(rune('a'+i))
			img := sdCopy(t, fx.image(t, "oci").Ref(), repo+":v1").Result.Digest
			ref := repo + "@" + img
			if tc.signer == "cosign" {
				args := []string{"sign", "--key", c.key, "--certificate", c.cert, "--certificate-chain", c.chain, "--use-signing-config=false", "--tlog-upload=false", "-y"}
				if tc.format == "legacy" {
					args = append(args, "--new-bundle-format=false")
				}
				mustRun(t, c.env, "cosign", append(args, ref)...)
			} else {
				mustRun(t, c.env, stevedoreBin, "sign", "--key", c.key, "--certificate", c.cert, "--certificate-chain", c.chain, "--format", tc.format, ref)
			}
			// cosign takes a private CA as --certificate-chain for legacy
			// signatures but only in a trusted root for bundles; stevedore
			// takes either, and is given the same as cosign.
			trust := []string{"--certificate-chain", c.chain}
			if tc.format == "bundle" {
				trust = []string{"--trusted-root", c.root}
			}
			for _, who := range []string{"alice@example.com", "mallory@example.com"} {
				args := append(append([]string(nil), trust...), c.verify...)
				args[3] = who
				want := who == "alice@example.com"
				checkVerdict(t, nil, stevedoreBin, append(append([]string{"verify", "--json", "--format", tc.format}, args...), repo+":v1"), want)
				coArgs := []string{"verify"}
				if tc.format == "bundle" {
					// cosign and stevedore both write the intermediate into a
					// v0.3 bundle; cosign reads it only when told to.
					coArgs = append(coArgs, "--allow-certificate-chain")
				}
				checkVerdict(t, nil, "cosign", append(append(coArgs, args...), ref), want)
			}
		})
	}
}

// TestCopyVerifyPolicyIdentity: copy --verify-policy with identity rules
// copies a keyless-signed image and refuses it when the signer is another
// identity. The only real keyless signature of an image whose blobs we
// have is cosign's keyless attestation of the empty image (Fulcio
// certificate, Rekor entry), so those rules require that attestation
// (predicateType): with its signer named, the image is copied; with someone
// else named, refused. The same image re-signed through one private CA by
// alice is copied and by mallory refused (identity).
func TestCopyVerifyPolicyIdentity(t *testing.T) {
	e := newKeylessEnv(t, "policy")
	host := sharedServer(t).Registry
	ca := keylesstest.NewCA(t, "policy")
	alice, mallory := newCertEnv(t, ca, "alice@example.com"), newCertEnv(t, ca, "mallory@example.com")
	if err := os.WriteFile(filepath.Join(e.dir, "ca.pem"), ca.ChainPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same empty image, signed by alice in one repository and by
	// mallory in another, both with certificates of the one CA.
	for _, s := range []struct {
		c    *certEnv
		repo string
	}{{alice, "/keyless-ca/alice"}, {mallory, "/keyless-ca/mallory"}} {
		sdCopy(t, e.layoutEmpty, host+s.repo+":v1")
		mustRun(t, s.c.env, stevedoreBin, "sign", "--key", s.c.key, "--certificate", s.c.cert, host+s.repo+":v1")
	}
	pol := filepath.Join(e.dir, "policy.yaml")
	doc := `repositories:
  - pattern: '*/keyless/policy-bundle'
    predicateType: ` + keylesstest.BundlePredicateType + `
    trustedRoot: ` + e.pgi + `
    identities:
      - subject: cody@soyland.com
        issuer: https://github.com/login/oauth
  - pattern: '*/keyless/policy-other'
    predicateType: ` + keylesstest.BundlePredicateType + `
    trustedRoot: ` + e.pgi + `
    identities:
      - subject: someone@example.com
        issuer: https://github.com/login/oauth
  - pattern: '*/keyless-ca/**'
    certificateChain: ca.pem
    insecureIgnoreTlog: true
    insecureIgnoreSCT: true
    identities:
      - subjectRegExp: ^alice@example\.com$
        issuer: ` + certIssuer + `
`
	if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	sdCopy(t, "--referrers", e.layoutEmpty, host+"/keyless/policy-other:v1")

	copied := mustRun(t, nil, stevedoreBin, "copy", "--verify-policy", pol, e.repoBundle+":v1", host+"/keyless-dest/bundle:v1")
	if got := strings.TrimSpace(string(copied)); got != e.v.Bundle.Digest.String() {
		t.Errorf("copied %s, want %s", got, e.v.Bundle.Digest)
	}
	mustRun(t, nil, stevedoreBin, "copy", "--verify-policy", pol, host+"/keyless-ca/alice:v1", host+"/keyless-dest/alice:v1")
	for _, tc := range []struct{ src, why string }{
		{host + "/keyless/policy-other:v1", "identity check failed"},
		{host + "/keyless-ca/mallory:v1", "identity check failed"},
	} {
		r, err := run(nil, stevedoreBin, "copy", "--verify-policy", pol, tc.src, host+"/keyless-dest/refused:v1")
		if err != nil {
			t.Fatal(err)
		}
		if r.Code == 0 || !strings.Contains(string(r.Stderr), "trust policy refuses") || !strings.Contains(string(r.Stderr), tc.why) {
			t.Errorf("copy --verify-policy of %s: exit %d, stderr %s; want a refusal saying %q", tc.src, r.Code, r.Stderr, tc.why)
		}
	}
}
