package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// fakeRegistry is a minimal in-memory distribution-spec server: enough of
// pull, push and tag listing to exercise the client against real HTTP.
type fakeRegistry struct {
	mu        sync.Mutex
	blobs     map[digest.Digest][]byte
	manifests map[string]fakeManifest // by digest and by tag
	uploads   int
	requests  []string // "METHOD path" of every request that reached the handler

	// auth, when set, runs first and may answer the request itself.
	auth func(w http.ResponseWriter, r *http.Request) bool
	// ignoreRange makes blob GETs answer 200 with the whole blob.
	ignoreRange bool
}

type fakeManifest struct {
	mediaType string
	raw       []byte
}

func newFakeRegistry() *fakeRegistry {
	return &fakeRegistry{blobs: map[digest.Digest][]byte{}, manifests: map[string]fakeManifest{}}
}

// start serves f on a loopback httptest server closed with the test.
func (f *fakeRegistry) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeRegistry) addBlob(b []byte) oci.Descriptor {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digest.FromBytes(b)
	f.blobs[d] = b
	return oci.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(b))}
}

func (f *fakeRegistry) addManifest(mediaType string, raw []byte, tags ...string) oci.Descriptor {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digest.FromBytes(raw)
	m := fakeManifest{mediaType, raw}
	f.manifests[d.String()] = m
	for _, t := range tags {
		f.manifests[t] = m
	}
	return oci.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(raw))}
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []ErrorInfo{{Code: code, Message: msg}}})
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if f.auth != nil && !f.auth(w, r) {
		return
	}
	p := r.URL.Path
	if p == "/v2/" {
		return
	}
	switch {
	case strings.Contains(p, "/manifests/"):
		_, ref, _ := strings.Cut(p, "/manifests/")
		f.manifest(w, r, ref)
	case strings.Contains(p, "/blobs/uploads/"):
		_, id, _ := strings.Cut(p, "/blobs/uploads/")
		f.upload(w, r, strings.TrimSuffix(p, id), id)
	case strings.Contains(p, "/blobs/"):
		_, d, _ := strings.Cut(p, "/blobs/")
		f.blob(w, r, digest.Digest(d))
	case strings.HasSuffix(p, "/tags/list"):
		f.tags(w, r)
	default:
		writeErr(w, http.StatusNotFound, "NAME_UNKNOWN", "unknown route")
	}
}

func (f *fakeRegistry) manifest(w http.ResponseWriter, r *http.Request, ref string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, ok := f.manifests[ref]
		if !ok {
			writeErr(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(m.raw).String())
		w.Header().Set("Content-Length", strconv.Itoa(len(m.raw)))
		if r.Method == http.MethodGet {
			w.Write(m.raw)
		}
	case http.MethodPut:
		raw, _ := io.ReadAll(r.Body)
		d := digest.FromBytes(raw)
		if strings.Contains(ref, ":") && digest.Digest(ref) != d {
			writeErr(w, http.StatusBadRequest, "DIGEST_INVALID", "digest does not match content")
			return
		}
		m := fakeManifest{r.Header.Get("Content-Type"), raw}
		f.manifests[d.String()] = m
		f.manifests[ref] = m
		w.Header().Set("Docker-Content-Digest", d.String())
		w.WriteHeader(http.StatusCreated)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
	}
}

func (f *fakeRegistry) blob(w http.ResponseWriter, r *http.Request, d digest.Digest) {
	f.mu.Lock()
	b, ok := f.blobs[d]
	f.mu.Unlock()
	if !ok {
		writeErr(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry")
		return
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	if f.ignoreRange {
		r.Header.Del("Range")
	}
	// ServeContent implements Range (206, Content-Range, 416) as registries do.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func (f *fakeRegistry) upload(w http.ResponseWriter, r *http.Request, prefix, id string) {
	switch {
	case r.Method == http.MethodPost && id == "":
		f.mu.Lock()
		f.uploads++
		n := f.uploads
		f.mu.Unlock()
		// A relative Location with its own state parameter, as distribution sends.
		w.Header().Set("Location", fmt.Sprintf("%s%d?_state=a%%2Bb", prefix, n))
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPut && id != "":
		if r.URL.Query().Get("_state") != "a+b" {
			writeErr(w, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "upload state lost")
			return
		}
		d := digest.Digest(r.URL.Query().Get("digest"))
		b, _ := io.ReadAll(r.Body)
		if digest.FromBytes(b) != d {
			writeErr(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
			return
		}
		f.addBlob(b)
		w.Header().Set("Location", strings.TrimSuffix(prefix, "uploads/")+d.String())
		w.WriteHeader(http.StatusCreated)
	default:
		writeErr(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
	}
}

// tags pages with n (default 100) and last, linking with a relative URL.
func (f *fakeRegistry) tags(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	var all []string
	for k := range f.manifests {
		if !strings.Contains(k, ":") {
			all = append(all, k)
		}
	}
	f.mu.Unlock()
	sort.Strings(all)
	n := 100
	if v, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && v > 0 {
		n = v
	}
	last := r.URL.Query().Get("last")
	i := sort.SearchStrings(all, last)
	if last != "" && i < len(all) && all[i] == last {
		i++
	}
	page := all[i:]
	if len(page) > n {
		page = page[:n]
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {page[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"name": "x", "tags": page})
}

// testRepo returns a client for repository "t/x" on srv with fast retries.
func testRepo(t *testing.T, srv *httptest.Server, opts Options) *Repository {
	t.Helper()
	if opts.Credentials == nil {
		opts.Credentials = anonymous
	}
	u, _ := url.Parse(srv.URL)
	r := New(u.Host, "t/x", opts)
	r.backoffBase = time.Millisecond
	return r
}

func anonymous(context.Context, string) (Credential, error) { return Credential{}, nil }

func digestOf(b []byte) digest.Digest { return digest.FromBytes(b) }
