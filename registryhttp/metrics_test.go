package registryhttp_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stevedore-dev/stevedore/registryhttp"
)

// TestMetrics drives an instrumented registry through an upload, a pull,
// an open session and a few errors, then scrapes /metrics as Prometheus
// would and checks the series.
func TestMetrics(t *testing.T) {
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pr := prometheus.NewRegistry()
	m, err := registryhttp.NewMetrics(pr, reg.Backend())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(pr, promhttp.HandlerOpts{}))
	mux.Handle("/", m.Wrap(reg))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	s := &server{t: t, url: ts.URL}

	blob := bytes.Repeat([]byte("stevedore"), 1000) // 9000 bytes
	d := digest.FromBytes(blob)
	s.mustStatus(s.do(http.MethodPost, "/v2/a/b/blobs/uploads/?digest="+d.String(), blob), http.StatusCreated)
	s.mustStatus(s.do(http.MethodGet, "/v2/a/b/blobs/"+d.String(), nil), http.StatusOK)
	s.mustStatus(s.do(http.MethodHead, "/v2/a/b/blobs/"+d.String(), nil), http.StatusOK)
	// A session left open, and one opened, filled and closed.
	s.mustStatus(s.do(http.MethodPost, "/v2/a/b/blobs/uploads/", nil), http.StatusAccepted)
	loc := s.mustStatus(s.do(http.MethodPost, "/v2/a/b/blobs/uploads/", nil), http.StatusAccepted).header.Get("Location")
	s.mustStatus(s.do(http.MethodPatch, loc, blob[:4000]), http.StatusAccepted)
	s.mustStatus(s.do(http.MethodPut, loc+"?digest="+d.String(), blob[4000:]), http.StatusCreated)
	// Errors, and a path and a method no route knows.
	s.mustStatus(s.do(http.MethodGet, "/v2/a/b/manifests/missing", nil), http.StatusNotFound)
	s.mustStatus(s.do(http.MethodGet, "/v2/a/b/blobs/sha256:nothex", nil), http.StatusBadRequest)
	s.do("BREW", "/v2/", nil)
	s.do(http.MethodGet, "/elsewhere", nil)
	m.GCRun(nil)

	got := scrape(t, ts.URL+"/metrics")
	for _, tc := range []struct {
		series string
		want   float64
	}{
		{`stevedore_registry_requests_total{code="201",method="POST",route="upload"}`, 1},
		{`stevedore_registry_requests_total{code="202",method="POST",route="upload"}`, 2},
		{`stevedore_registry_requests_total{code="202",method="PATCH",route="upload"}`, 1},
		{`stevedore_registry_requests_total{code="201",method="PUT",route="upload"}`, 1},
		{`stevedore_registry_requests_total{code="200",method="GET",route="blob"}`, 1},
		{`stevedore_registry_requests_total{code="200",method="HEAD",route="blob"}`, 1},
		{`stevedore_registry_requests_total{code="400",method="GET",route="blob"}`, 1},
		{`stevedore_registry_requests_total{code="404",method="GET",route="manifest"}`, 1},
		{`stevedore_registry_requests_total{code="405",method="other",route="base"}`, 1},
		{`stevedore_registry_requests_total{code="404",method="GET",route="other"}`, 1},
		{`stevedore_registry_request_duration_seconds_count{method="GET",route="blob"}`, 2},
		{`stevedore_registry_received_bytes_total{route="upload"}`, 2 * float64(len(blob))},
		{`stevedore_registry_upload_sessions_started_total`, 3},
		{`stevedore_registry_upload_sessions_completed_total`, 2},
		{`stevedore_registry_upload_sessions_active`, 1},
		{`stevedore_gc_runs_total{result="ok"}`, 1},
		{`stevedore_gc_runs_total{result="error"}`, 0},
	} {
		t.Run(tc.series, func(t *testing.T) {
			v, ok := got[tc.series]
			if !ok {
				t.Fatalf("no series %s in the scrape", tc.series)
			}
			if v != tc.want {
				t.Errorf("%s = %v, want %v", tc.series, v, tc.want)
			}
		})
	}
	// The blob GET's body, at least: error envelopes add to it.
	if v := got[`stevedore_registry_sent_bytes_total{route="blob"}`]; v < float64(len(blob)) {
		t.Errorf("sent bytes on the blob route = %v, want at least %d", v, len(blob))
	}
}

// scrape reads a Prometheus text exposition into series → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics: %s: %s", res.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}
