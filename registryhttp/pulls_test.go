package registryhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// recorder is a PullRecorder that keeps what it was told.
type recorder struct {
	mu      sync.Mutex
	pulls   []string
	forgets []string
}

func (r *recorder) RecordPull(repo, ref string) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pulls = append(r.pulls, repo+":"+ref)
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.forgets = append(r.forgets, repo+":"+ref)
	}
}

// TestPullRecorder: manifest GETs and HEADs are recorded, by tag or
// digest; one that finds nothing is undone; other requests are not pulls.
func TestPullRecorder(t *testing.T) {
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	m, err := served.PutManifest(context.Background(), root.Backend(), "app", raw, served.ManifestPut{MediaType: "application/vnd.oci.image.index.v1+json", Tags: []string{"v1"}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ts := httptest.NewServer(registryhttp.NewBackend(root.Backend(), nil, registryhttp.Options{Pulls: rec}))
	t.Cleanup(ts.Close)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v2/app/manifests/v1", http.StatusOK},
		{http.MethodHead, "/v2/app/manifests/" + m.Digest.String(), http.StatusOK},
		{http.MethodGet, "/v2/app/manifests/nope", http.StatusNotFound},
		{http.MethodGet, "/v2/app/tags/list", http.StatusOK},
		{http.MethodGet, "/v2/other/manifests/v1", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
	wantPulls := []string{"app:v1", "app:" + m.Digest.String(), "app:nope"}
	if !slices.Equal(rec.pulls, wantPulls) || !slices.Equal(rec.forgets, []string{"app:nope"}) {
		t.Errorf("recorded %v, forgot %v; want %v and [app:nope]", rec.pulls, rec.forgets, wantPulls)
	}
}
