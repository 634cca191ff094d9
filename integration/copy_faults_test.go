package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// faultProxy is a reverse proxy in front of a registry that spoils the
// first GET of each blob in its own way; every other request passes.
type faultProxy struct {
	Host string

	mu     sync.Mutex
	faults map[string]int // blob digest → faults injected
	gets   map[string]int // blob digest → GETs seen
}

// faultKind is what the proxy does to the first GET of a blob.
type faultKind int

const (
	// dropMidBlob sends the headers and half the body, then closes the
	// connection, as a load balancer restarting under a pull does.
	dropMidBlob faultKind = iota
	// tooManyRequests answers 429 with Retry-After: 1, as Docker Hub's
	// rate limiter does.
	tooManyRequests
)

func newFaultProxy(t *testing.T, upstream string, kind faultKind) *faultProxy {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: upstream}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	p := &faultProxy{faults: map[string]int{}, gets: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, blob, isBlob := strings.Cut(r.URL.Path, "/blobs/")
		if !isBlob || r.Method != http.MethodGet || strings.HasPrefix(blob, "uploads") {
			rp.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		p.gets[blob]++
		first := p.gets[blob] == 1
		if first {
			p.faults[blob]++
		}
		p.mu.Unlock()
		if !first {
			rp.ServeHTTP(w, r)
			return
		}
		switch kind {
		case tooManyRequests:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`)
		case dropMidBlob:
			resp, err := http.Get(target.String() + r.URL.Path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.CopyN(w, resp.Body, resp.ContentLength/2)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // net/http closes the connection mid-body
		}
	}))
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// faulted returns how many blobs got their fault and the GETs they took.
func (p *faultProxy) faulted() (blobs int, gets map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gets = map[string]int{}
	for b := range p.faults {
		gets[b] = p.gets[b]
	}
	return len(p.faults), gets
}

// TestCopyFaults is issue 4's acceptance 4, source side: a copy from a
// registry whose blob GETs first fail (connection dropped mid-blob; 429
// with Retry-After: 1) still completes, and what arrived has the source's
// digest and passes crane validate (every blob re-hashed).
func TestCopyFaults(t *testing.T) {
	f := sharedFixtures(t)
	// An image with a layer large enough (~2 MiB) that "mid-blob" means
	// the middle of a stream, not of one TCP segment.
	layer := filepath.Join(t.TempDir(), "big.tar")
	if err := writeLayerTar(layer, "faults", 64); err != nil {
		t.Fatal(err)
	}
	src := f.Dist.Host + "/faults/app:v1"
	crane(t, "append", "--oci-empty-base", "-f", layer, "-t", src)
	want := craneSees(t, src).Digest

	for _, tc := range []struct {
		name string
		kind faultKind
	}{
		{"drop mid-blob", dropMidBlob},
		{"429 retry-after", tooManyRequests},
	} {
		for _, to := range []string{"registry", "layout"} {
			t.Run(tc.name+"/to "+to, func(t *testing.T) {
				proxy := newFaultProxy(t, f.Dist.Host, tc.kind)
				dst := secondDistribution(t).Host + "/faults/" + strings.ReplaceAll(tc.name, " ", "-") + ":v1"
				if to == "layout" {
					dst = "oci:" + filepath.Join(t.TempDir(), "layout") + ":v1"
				}
				r, err := run(nil, stevedoreBin, "copy", "--json", proxy.Host+"/faults/app:v1", dst)
				if err != nil {
					t.Fatal(err)
				}
				blobs, gets := proxy.faulted()
				if blobs == 0 {
					t.Fatalf("the proxy injected no fault (the copy read no blob through it?)")
				}
				if r.Code != 0 {
					t.Fatalf("copy through a source that %s: exit %d; blob GETs %v\nstderr: %s", tc.name, r.Code, gets, r.Stderr)
				}
				for b, n := range gets {
					if n < 2 {
						t.Errorf("blob %s: %d GET, want a retry after the fault", b, n)
					}
				}
				if to == "layout" {
					lay := strings.TrimPrefix(dst, "oci:")
					if got := strings.TrimSpace(string(mustRun(t, nil, "oras", "resolve", "--oci-layout", lay))); got != want {
						t.Errorf("oras resolve %s: %s, want %s", dst, got, want)
					}
					// skopeo reads every blob back, checking each digest.
					mustRun(t, nil, "skopeo", "copy", dst, "dir:"+filepath.Join(t.TempDir(), "check"))
					return
				}
				if got := craneSees(t, dst).Digest; got != want {
					t.Errorf("crane digest %s: %s, want %s", dst, got, want)
				}
				crane(t, "validate", "--remote", dst)
			})
		}
	}
}
