package registryhttp_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stevedore-dev/stevedore/engine/cache"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// newCacheServer serves a fresh store with a pull-through cache of
// upstream under "up" (tags revalidated on every request when ttl is 1ns).
func newCacheServer(t *testing.T, upstream string, ttl time.Duration) (*server, *registryhttp.Proxy) {
	t.Helper()
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(root.Backend(), []cache.Upstream{{Prefix: "up", URLs: []string{upstream}, TagTTL: ttl}},
		cache.Options{Remote: &netguard.Policy{}, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	p := registryhttp.NewProxy(c, nil)
	t.Cleanup(p.Close)
	reg := registryhttp.NewBackend(root.Backend(), nil, registryhttp.Options{Proxy: p})
	ts := httptest.NewServer(p.WithNamespace(reg))
	t.Cleanup(ts.Close)
	return &server{t: t, url: ts.URL, data: root.Dir()}, p
}

func TestProxy(t *testing.T) {
	upReg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	upSrv := httptest.NewServer(upReg)
	t.Cleanup(upSrv.Close)
	up := &server{t: t, url: upSrv.URL}
	raw, md := up.pushImage("library/app", "v1", nil, "")
	_, sd := up.pushImage("library/app", "", &md, "application/vnd.example.sig")
	upHost := strings.TrimPrefix(up.url, "http://")
	s, p := newCacheServer(t, up.url, time.Nanosecond)
	mt := "application/vnd.oci.image.manifest.v1+json"

	r := s.mustStatus(s.do("GET", "/v2/up/library/app/manifests/v1", nil), http.StatusOK)
	if string(r.body) != string(raw) || r.header.Get("Docker-Content-Digest") != md.String() || r.header.Get("Content-Type") != mt {
		t.Fatalf("manifest through the cache: %s %v", r.body, r.header)
	}
	// containerd's mirror form names the upstream with ns=.
	r = s.mustStatus(s.do("HEAD", "/v2/library/app/manifests/v1?ns="+upHost, nil), http.StatusOK)
	if r.header.Get("Docker-Content-Digest") != md.String() {
		t.Errorf("ns= HEAD: digest %q", r.header.Get("Docker-Content-Digest"))
	}

	layer := []byte("layer of library/appv1")
	ld := digest.FromBytes(layer)
	r = s.mustStatus(s.do("HEAD", "/v2/up/library/app/blobs/"+ld.String(), nil), http.StatusOK)
	if r.header.Get("Content-Length") != "22" {
		t.Errorf("blob HEAD miss: Content-Length %q", r.header.Get("Content-Length"))
	}
	r = s.mustStatus(s.do("GET", "/v2/up/library/app/blobs/"+ld.String(), nil), http.StatusOK)
	if string(r.body) != string(layer) || r.header.Get("Docker-Content-Digest") != ld.String() {
		t.Fatalf("blob miss: %q", r.body)
	}
	// Once committed (just after the last byte went out), a hit, which
	// the registry serves from the store, ranges included; until then
	// readers follow the fill and get the whole blob.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r = s.do("GET", "/v2/library/app/blobs/"+ld.String()+"?ns="+upHost, nil, "Range", "bytes=0-4")
		if r.status != http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	if r.status != http.StatusPartialContent || string(r.body) != "layer" {
		t.Errorf("blob hit by range: %q", r.body)
	}

	r = s.mustStatus(s.do("GET", "/v2/up/library/app/tags/list", nil), http.StatusOK)
	if !strings.Contains(string(r.body), `"tags":["v1"]`) {
		t.Errorf("tags: %s", r.body)
	}
	r = s.mustStatus(s.do("GET", "/v2/up/library/app/referrers/"+md.String(), nil), http.StatusOK)
	if !strings.Contains(string(r.body), sd.String()) || !strings.Contains(string(r.body), "application/vnd.example.sig") {
		t.Errorf("referrers: %s", r.body)
	}
	s.mustStatus(s.do("GET", "/v2/up/library/app/manifests/"+sd.String(), nil), http.StatusOK)

	for _, c := range []struct{ method, path, code string }{
		{"GET", "/v2/up/library/app/manifests/v9", "MANIFEST_UNKNOWN"},
		{"GET", "/v2/up/library/app/blobs/" + digest.FromString("x").String(), "BLOB_UNKNOWN"},
		{"GET", "/v2/up/library/nope/tags/list", "NAME_UNKNOWN"},
		{"PUT", "/v2/up/library/app/manifests/v2", "DENIED"},
		{"POST", "/v2/up/library/app/blobs/uploads/", "DENIED"},
		{"POST", "/v2/library/app/blobs/uploads/?ns=" + upHost, "DENIED"},
	} {
		r := s.do(c.method, c.path, []byte("{}"), "Content-Type", mt)
		if r.code() != c.code {
			t.Errorf("%s %s: %d %s, want %s", c.method, c.path, r.status, r.body, c.code)
		}
	}
	if r := s.do("PUT", "/v2/up/library/app/manifests/v2", []byte("{}"), "Content-Type", mt); !strings.Contains(string(r.body), "pull-through cache of "+up.url) {
		t.Errorf("DENIED message does not say why: %s", r.body)
	}
	// Repositories outside the prefix take pushes.
	s.pushImage("mine/app", "v1", nil, "")

	metrics := prometheus.NewRegistry()
	if err := registryhttp.RegisterProxyMetrics(metrics, p); err != nil {
		t.Fatal(err)
	}
	got := gatherCounters(t, metrics)
	if got["stevedore_cache_misses_total"] < 3 || got["stevedore_cache_hits_total"] < 1 || got["stevedore_cache_upstream_bytes_total"] < float64(len(raw)+len(layer)) {
		t.Errorf("cache metrics: %v", got)
	}

	// The upstream goes away: the cached tag is served stale, marked; an
	// uncached one is UNAVAILABLE, saying which upstream.
	upSrv.Close()
	r = s.mustStatus(s.do("GET", "/v2/up/library/app/manifests/v1", nil), http.StatusOK)
	if w := r.header.Get("Warning"); !strings.HasPrefix(w, `111 stevedore "Revalidation Failed`) {
		t.Errorf("stale manifest: Warning %q", w)
	}
	r = s.do("GET", "/v2/up/library/app/manifests/v2", nil)
	if r.status != http.StatusServiceUnavailable || r.code() != "UNAVAILABLE" || !strings.Contains(string(r.body), "upstream up") {
		t.Errorf("uncached tag, upstream down: %d %s", r.status, r.body)
	}
	r = s.mustStatus(s.do("GET", "/v2/up/library/app/tags/list", nil), http.StatusOK)
	if !strings.Contains(string(r.body), `"v1"`) || r.header.Get("Warning") == "" {
		t.Errorf("tags, upstream down: %s %v", r.body, r.header)
	}
}

// gatherCounters returns the sum of each counter family's series.
func gatherCounters(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			out[f.GetName()] += m.GetCounter().GetValue()
		}
	}
	return out
}

// TestProxyStreams: a client gets the first bytes of a blob miss while the
// upstream has not sent the rest, and a client that hangs up mid-blob does
// not stop the fill: the blob is then served from the store.
func TestProxyStreams(t *testing.T) {
	upReg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	blob := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	d := digest.FromBytes(blob)
	release := make(chan struct{})
	upSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String()) {
			w.Header().Set("Content-Length", strconv.Itoa(len(blob)))
			w.WriteHeader(http.StatusOK)
			w.Write(blob[:len(blob)/2])
			w.(http.Flusher).Flush()
			<-release
			w.Write(blob[len(blob)/2:])
			return
		}
		upReg.ServeHTTP(w, r)
	}))
	t.Cleanup(upSrv.Close)
	s, _ := newCacheServer(t, upSrv.URL, time.Minute)

	res, err := http.Get(s.url + "/v2/up/app/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(blob)) {
		t.Fatalf("blob miss: %s, length %d", res.Status, res.ContentLength)
	}
	first := make([]byte, 64<<10)
	got := make(chan error, 1)
	go func() { _, err := io.ReadFull(res.Body, first); got <- err }()
	select {
	case err := <-got:
		if err != nil || !bytes.Equal(first, blob[:len(first)]) {
			t.Fatalf("first bytes: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no bytes reached the client while the upstream was still sending: not streaming")
	}
	res.Body.Close() // the client hangs up mid-blob
	close(release)
	var r resp
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = s.do("GET", "/v2/up/app/blobs/"+d.String(), nil, "Range", "bytes=0-0"); r.status == http.StatusPartialContent {
			break
		}
	}
	if r.status != http.StatusPartialContent || string(r.body) != "0" {
		t.Fatalf("after the client left, the blob was not cached: %d %q", r.status, r.body)
	}
}
