package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMirrorVerifyPolicy: `stevedore mirror` with a trust policy (the
// --verify-policy flag, or the config's verifyPolicy relative to the
// config file) fails the unsigned image with DENIED, keeps going, and
// mirrors the signed one with its signature, which cosign verifies at the
// destination; the exit status says something failed.
func TestMirrorVerifyPolicy(t *testing.T) {
	p := newPolicyEnv(t)
	fx := sharedFixtures(t)
	host := sharedServer(t).Registry
	src := fx.image(t, "oci").Ref()
	sdCopy(t, src, host+"/policy/mirror-unsigned:v1")
	signed := sdCopy(t, src, host+"/policy/mirror-signed:v1").Result.Digest
	mustRun(t, p.env, stevedoreBin, "sign", "--key", p.key, host+"/policy/mirror-signed:v1")

	for _, tc := range []struct {
		name, cfgExtra string
		flag           bool
	}{
		{"flag", "", true},
		{"config key", "verifyPolicy: policy.yaml\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "mirrored-" + map[bool]string{true: "flag", false: "cfg"}[tc.flag]
			cfg := fmt.Sprintf("destination: {registry: %q, prefix: %s}\nsources:\n  - images: [%s/policy/mirror-signed:v1, %s/policy/mirror-unsigned:v1]\n%s",
				host, prefix, host, host, tc.cfgExtra)
			cfgPath := filepath.Join(p.dir, "mirror-"+prefix+".yaml") // beside policy.yaml
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"mirror", "--json"}
			if tc.flag {
				args = append(args, "--verify-policy", p.policy)
			}
			r, err := run(nil, stevedoreBin, append(args, cfgPath)...)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != 1 {
				t.Fatalf("exit %d, want 1 (one image failed); stderr %s", r.Code, r.Stderr)
			}
			var rep struct {
				Images []struct {
					Source, Action string
					Referrers      int
					Error          *struct{ Code string }
				}
			}
			if err := json.Unmarshal(r.Stdout, &rep); err != nil {
				t.Fatalf("report: %v: %s", err, r.Stdout)
			}
			got := map[string]string{}
			for _, im := range rep.Images {
				v := im.Action
				if im.Error != nil {
					v += " " + im.Error.Code
				}
				if im.Referrers > 0 {
					v += " with referrers"
				}
				got[im.Source] = v
			}
			want := map[string]string{
				"docker://" + host + "/policy/mirror-signed:v1":   "copied with referrers",
				"docker://" + host + "/policy/mirror-unsigned:v1": "failed DENIED",
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %q, want %q (report %s)", k, got[k], v, r.Stdout)
				}
			}
			p.cosignVerify(t, p.pub, host+"/"+prefix+"/policy/mirror-signed@"+signed, true)
		})
	}
}
