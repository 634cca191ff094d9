package registryhttp

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// The manifest cache stays within its bound, least recently used out first,
// and keeps nothing over the per-manifest size.
func TestManifestCacheBound(t *testing.T) {
	var c manifestCache
	key := func(i int) manifestKey { return manifestKey{d: digest.FromString(strconv.Itoa(i))} }
	raw := make([]byte, 32<<10)
	n := 2 * maxCachedManifestBytes / len(raw)
	for i := range n {
		c.put(key(i), &oci.Manifest{Raw: raw})
		if i == 10 {
			c.get(key(0)) // used: kept while others go
		}
	}
	if c.bytes > maxCachedManifestBytes || c.lru.Len() != len(c.m) {
		t.Fatalf("%d bytes in %d entries (%d in the map), bound %d", c.bytes, c.lru.Len(), len(c.m), maxCachedManifestBytes)
	}
	if c.get(key(1)) != nil || c.get(key(n-1)) == nil {
		t.Error("eviction is not least recently used first")
	}
	c.put(key(-1), &oci.Manifest{Raw: make([]byte, maxCachedManifest+1)})
	if c.get(key(-1)) != nil {
		t.Error("a manifest over the per-manifest bound was cached")
	}
}

// A manifest read once is not served after it leaves the repository, by
// digest or through a tag left pointing at it.
func TestManifestCacheAsksTheRepository(t *testing.T) {
	reg, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &inproc{t: t, reg: reg}
	cfg := s.blob("app", []byte(`{}`))
	m := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cfg.String() + `","size":2},"layers":[]}`
	d := digest.FromString(m)
	s.want("PUT", "/v2/app/manifests/v1", m, 201)
	s.want("GET", "/v2/app/manifests/v1", "", 200)
	s.want("GET", "/v2/app/manifests/"+d.String(), "", 200)
	// The blob endpoint can delete a manifest's file and leave its tag.
	s.want("DELETE", "/v2/app/blobs/"+d.String(), "", 202)
	s.want("GET", "/v2/app/manifests/v1", "", 404)
	s.want("GET", "/v2/app/manifests/"+d.String(), "", 404)
}

// inproc drives a Registry in process, for the package's own tests.
type inproc struct {
	t   *testing.T
	reg *Registry
}

func (s *inproc) want(method, path, body string, status int) {
	s.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if method == "PUT" && strings.Contains(path, "/manifests/") {
		r.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	}
	w := httptest.NewRecorder()
	s.reg.ServeHTTP(w, r)
	if w.Code != status {
		s.t.Fatalf("%s %s = %d, want %d: %s", method, path, w.Code, status, w.Body)
	}
}

func (s *inproc) blob(repo string, b []byte) digest.Digest {
	d := digest.FromBytes(b)
	s.want("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), string(b), 201)
	return d
}
