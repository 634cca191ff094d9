package registryhttp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine/cache"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// TestPullPolicyThroughCache: a pull policy protecting a cached prefix
// judges the upstream's image, signatures included, instead of letting an
// image the store does not hold yet through.
func TestPullPolicyThroughCache(t *testing.T) {
	ctx := context.Background()
	upRoot, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	policyImage(t, upRoot, "prot/signed", "a")
	policyImage(t, upRoot, "prot/unsigned", "b")
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(keyDir, "signer.pub"), kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := upRoot.Repo(ctx, "prot/signed")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Sign(ctx, layout.New(fs), "v1", kp.Key, sign.SignOptions{Format: sign.FormatLegacy}); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	up := NewBackend(upRoot.Backend(), nil, Options{})
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()

	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(root.Backend(), []cache.Upstream{{Prefix: "up", URLs: []string{upSrv.URL}, TagTTL: time.Minute}}, cache.Options{SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(c, nil)
	defer p.Close()
	pol, err := policy.Parse([]byte("unmatched: accept\nrepositories:\n  - pattern: reg.test/up/prot/**\n    keys: [signer.pub]\n"), keyDir, policy.Verifiers{})
	if err != nil {
		t.Fatal(err)
	}
	reg := NewBackend(root.Backend(), nil, Options{Proxy: p})
	srv := httptest.NewServer(p.Prefetch(NewPullPolicy(reg, reg, pol, "reg.test")))
	defer srv.Close()
	for path, want := range map[string]int{
		"/v2/up/prot/unsigned/manifests/v1": http.StatusForbidden,
		"/v2/up/prot/signed/manifests/v1":   http.StatusOK,
		"/v2/up/prot/none/manifests/v1":     http.StatusNotFound,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
