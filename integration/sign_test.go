package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// signPassword protects every key the interop test makes.
const signPassword = "stevedore-interop-pw"

// TestSignInterop: cosign v3 and stevedore verify what the other signed or
// attested, in both formats, on our registry (referrers API) and on CNCF
// distribution (none: the tag schema), each with the other tool's keys;
// a stranger's key fails on both sides.
func TestSignInterop(t *testing.T) {
	needTools(t, "cosign")
	fx := sharedFixtures(t)
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=" + signPassword}
	// Keys made by each tool, and a stranger's.
	cosignKey := filepath.Join(dir, "bycosign")
	mustRun(t, env, "cosign", "generate-key-pair", "--output-key-prefix", cosignKey)
	sdKey := filepath.Join(dir, "bystevedore")
	mustRun(t, env, stevedoreBin, "generate-key-pair", "--output-prefix", sdKey)
	stranger := filepath.Join(dir, "stranger")
	mustRun(t, env, stevedoreBin, "generate-key-pair", "--output-prefix", stranger)
	pred := filepath.Join(dir, "predicate.json")
	if err := os.WriteFile(pred, []byte(`{"builder":{"id":"interop"},"note":"hello"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	const attType = "https://example.com/stevedore/interop/v1"

	registries := []struct{ name, host string }{
		{"stevedore", sharedServer(t).Registry},
		{"distribution", secondDistribution(t).Host},
	}
	// Each signer uses the key the other tool made, so key files are
	// exercised across tools too.
	cases := []struct {
		name     string
		signer   string // "cosign" or "stevedore"
		format   string // "bundle" or "legacy"
		attest   bool
		key, pub string
	}{
		{"cosign signs bundle", "cosign", "bundle", false, sdKey + ".key", sdKey + ".pub"},
		{"cosign signs legacy", "cosign", "legacy", false, sdKey + ".key", sdKey + ".pub"},
		{"stevedore signs bundle", "stevedore", "bundle", false, cosignKey + ".key", cosignKey + ".pub"},
		{"stevedore signs legacy", "stevedore", "legacy", false, cosignKey + ".key", cosignKey + ".pub"},
		{"cosign attests bundle", "cosign", "bundle", true, sdKey + ".key", sdKey + ".pub"},
		{"cosign attests legacy", "cosign", "legacy", true, sdKey + ".key", sdKey + ".pub"},
		{"stevedore attests bundle", "stevedore", "bundle", true, cosignKey + ".key", cosignKey + ".pub"},
		{"stevedore attests legacy", "stevedore", "legacy", true, cosignKey + ".key", cosignKey + ".pub"},
	}
	for _, reg := range registries {
		t.Run(reg.name, func(t *testing.T) {
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					// A repository per case: cosign ignores legacy signatures
					// once any bundle exists, so cases must not share one.
					repo := fmt.Sprintf("%s/sign/case%d", reg.host, i)
					img := sdCopy(t, fx.image(t, "oci").Ref(), repo+":v1").Result.Digest
					ref := repo + "@" + img

					var args []string
					switch {
					case tc.signer == "cosign" && !tc.attest:
						args = []string{"sign", "--key", tc.key, "--use-signing-config=false", "--tlog-upload=false", "-a", "env=prod", "-y"}
					case tc.signer == "cosign":
						args = []string{"attest", "--key", tc.key, "--predicate", pred, "--type", attType, "--use-signing-config=false", "--tlog-upload=false", "-y"}
					case !tc.attest:
						args = []string{"sign", "--key", tc.key, "--format", tc.format, "-a", "env=prod"}
					default:
						args = []string{"attest", "--key", tc.key, "--predicate", pred, "--type", attType, "--format", tc.format}
					}
					if tc.signer == "cosign" && tc.format == "legacy" {
						args = append(args, "--new-bundle-format=false")
					}
					bin := "cosign"
					if tc.signer == "stevedore" {
						bin = stevedoreBin
					}
					mustRun(t, env, bin, append(args, ref)...)

					// Both tools verify, with the right key and with a stranger's.
					for _, pub := range []string{tc.pub, stranger + ".pub"} {
						want := pub == tc.pub
						sdArgs := []string{"verify", "--key", pub, "--json", "--format", tc.format, "-a", "env=prod"}
						coArgs := []string{"verify", "--key", pub, "--insecure-ignore-tlog", "-a", "env=prod"}
						if tc.attest {
							sdArgs = []string{"verify-attestation", "--key", pub, "--json", "--format", tc.format, "--type", attType}
							coArgs = []string{"verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--type", attType}
						}
						checkVerdict(t, nil, stevedoreBin, append(sdArgs, repo+":v1"), want)
						checkVerdict(t, nil, "cosign", append(coArgs, ref), want)
					}
					if !tc.attest {
						checkTree(t, repo+":v1", tc.format)
					}
				})
			}
		})
	}
}

// checkVerdict runs a verifier and checks its exit status: 0 when want,
// non-zero otherwise (for stevedore exactly 1: a verdict, not a usage
// error; cosign has several codes). A stevedore --json report must agree.
func checkVerdict(t *testing.T, env []string, bin string, args []string, want bool) {
	t.Helper()
	r, err := run(env, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	if (r.Code == 0) != want || (!want && bin == stevedoreBin && r.Code != 1) {
		t.Errorf("%s %s: exit %d, want success=%v\nstdout: %s\nstderr: %s", filepath.Base(bin), strings.Join(args, " "), r.Code, want, r.Stdout, r.Stderr)
		return
	}
	if bin != stevedoreBin {
		return
	}
	var rep struct {
		Verified bool
		Findings []struct {
			Verified bool
			Reason   string
		}
	}
	if err := json.Unmarshal(r.Stdout, &rep); err != nil || rep.Verified != want || len(rep.Findings) == 0 {
		t.Errorf("stevedore report %s (%v), want verified=%v with findings", r.Stdout, err, want)
	}
	for _, f := range rep.Findings {
		if !f.Verified && f.Reason == "" {
			t.Errorf("rejected finding without a reason: %s", r.Stdout)
		}
	}
}

// checkTree: stevedore tree lists the one signature in its format.
func checkTree(t *testing.T, ref, format string) {
	t.Helper()
	var tree struct {
		Signatures []struct{ Format string }
	}
	if err := json.Unmarshal(sd(t, "tree", "--json", ref), &tree); err != nil {
		t.Fatal(err)
	}
	if len(tree.Signatures) != 1 || tree.Signatures[0].Format != format {
		t.Errorf("tree of %s: %+v, want one %s signature", ref, tree, format)
	}
}

// TestVerifyLayout: cosign's signatures (both formats) travel with
// `stevedore copy --referrers` into an OCI layout, where `stevedore verify`
// checks them offline.
func TestVerifyLayout(t *testing.T) {
	needTools(t, "cosign")
	fx := sharedFixtures(t)
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=" + signPassword}
	key := filepath.Join(dir, "k")
	mustRun(t, env, "cosign", "generate-key-pair", "--output-key-prefix", key)
	repo := secondDistribution(t).Host + "/sign/layout"
	img := sdCopy(t, fx.image(t, "oci").Ref(), repo+":v1").Result.Digest
	for _, extra := range [][]string{nil, {"--new-bundle-format=false"}} {
		args := append([]string{"sign", "--key", key + ".key", "--use-signing-config=false", "--tlog-upload=false", "-y"}, extra...)
		mustRun(t, env, "cosign", append(args, repo+"@"+img)...)
	}
	lay := "oci:" + filepath.Join(dir, "layout") + ":v1"
	sdCopy(t, "--referrers", repo+":v1", lay)
	for _, format := range []string{"bundle", "legacy"} {
		checkVerdict(t, nil, stevedoreBin, []string{"verify", "--key", key + ".pub", "--json", "--format", format, lay}, true)
	}
	other := filepath.Join(dir, "other")
	mustRun(t, env, stevedoreBin, "generate-key-pair", "--output-prefix", other)
	checkVerdict(t, nil, stevedoreBin, []string{"verify", "--key", other + ".pub", "--json", lay}, false)
}
