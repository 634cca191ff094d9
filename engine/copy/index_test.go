package copy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// TestCopyPlatforms: Platforms builds a filtered index (new digest) or,
// with Sparse, keeps the original index and copies only the chosen
// entries' content.
func TestCopyPlatforms(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, tc := range []struct {
				name      string
				platforms []string
				sparse    bool
				sameIndex bool // the result is the source index
				entries   int  // entries of the index at the target
				present   []oci.Descriptor
				absent    []oci.Descriptor
			}{
				{"filtered one", []string{"linux/arm64"}, false, false, 1, []oci.Descriptor{f.arm64, f.armLayer, f.baseLayer}, []oci.Descriptor{f.amd64, f.amdLayer, f.index}},
				{"filtered both", []string{"linux/arm64/v8", "linux/amd64"}, false, false, 2, []oci.Descriptor{f.arm64, f.amd64}, nil},
				{"sparse", []string{"linux/amd64"}, true, true, 2, []oci.Descriptor{f.index, f.amd64, f.amdLayer}, []oci.Descriptor{f.arm64, f.armLayer}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					dst := tg.new(t)
					res, err := copy.Copy(ctx, f.src, "multi", dst, "sel", copy.Options{Platforms: tc.platforms, Sparse: tc.sparse})
					if err != nil {
						t.Fatal(err)
					}
					if res.SourceDigest != f.index.Digest {
						t.Errorf("source digest %s, want %s", res.SourceDigest, f.index.Digest)
					}
					if tc.sameIndex && res.Digest != f.index.Digest {
						t.Errorf("digest %s, want the source index's %s", res.Digest, f.index.Digest)
					}
					got, err := dst.Resolve(ctx, "sel")
					if err != nil || got.Digest != res.Digest {
						t.Fatalf("tag resolves to %v, %v; want %s", got.Digest, err, res.Digest)
					}
					rc, err := dst.Fetch(ctx, got)
					if err != nil {
						t.Fatal(err)
					}
					raw, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						t.Fatal(err)
					}
					m, err := oci.ParseManifest(got.MediaType, raw)
					if err != nil {
						t.Fatal(err)
					}
					if len(m.Manifests) != tc.entries {
						t.Errorf("index lists %d entries, want %d", len(m.Manifests), tc.entries)
					}
					for _, d := range tc.present {
						if !has(t, dst, d) {
							t.Errorf("destination lacks %s", d.Digest)
						}
					}
					for _, d := range tc.absent {
						if ok, _ := dst.Exists(ctx, d); ok {
							t.Errorf("destination holds %s", d.Digest)
						}
					}
				})
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opts copy.Options
			want error
		}{
			{"unknown platform", copy.Options{Platforms: []string{"linux/amd64", "linux/s390x"}}, errdef.ErrNotFound},
			{"sparse without platforms", copy.Options{Sparse: true}, errdef.ErrInvalid},
			{"platform and platforms", copy.Options{Platform: "linux/amd64", Platforms: []string{"linux/arm64"}}, errdef.ErrInvalid},
			{"bad platform", copy.Options{Platforms: []string{"linux"}}, errdef.ErrInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := copy.Copy(ctx, f.src, "multi", newLayout(t), "x", tc.opts)
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
	})
}

// counter counts requests by method and path kind.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Method + " "
		switch p := r.URL.Path; {
		case strings.Contains(p, "/manifests/sha256:"):
			k += "manifest-by-digest"
		case strings.Contains(p, "/manifests/"):
			k += "manifest-by-tag"
		default:
			k += "other"
		}
		c.mu.Lock()
		c.n[k]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// registryWith serves a fresh in-process registry behind wrap.
func registryWith(t *testing.T, wrap func(http.Handler) http.Handler) *registry.Repository {
	t.Helper()
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wrap(reg))
	t.Cleanup(srv.Close)
	r := registry.New(strings.TrimPrefix(srv.URL, "http://"), "copy/test", registry.Options{})
	return r
}

// TestCopyTagsInOnePut: the root manifest goes to a registry once, by tag,
// and is never read back; with referrers the tag still comes last, without
// a read-back either; and a target that holds it already (under another
// tag) gets the tag in one PUT of the source's bytes.
func TestCopyTagsInOnePut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tc := range []struct {
		name      string
		ref       string
		referrers bool
		present   bool // copied once before, under another tag
		byTag     int
		byDigest  int
	}{
		{"image", "v1", false, false, 1, 0},
		{"index", "multi", false, false, 1, 2},
		{"with referrers", "v1", true, false, 1, 1},
		{"present under another tag", "multi", false, true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counter{n: map[string]int{}}
			dst := registryWith(t, c.wrap)
			if tc.present {
				if _, err := copy.Copy(ctx, f.src, tc.ref, dst, "before", copy.Options{}); err != nil {
					t.Fatal(err)
				}
				c.mu.Lock()
				c.n = map[string]int{}
				c.mu.Unlock()
			}
			res, err := copy.Copy(ctx, f.src, tc.ref, dst, "v", copy.Options{Referrers: tc.referrers})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := dst.Resolve(ctx, "v"); err != nil || got.Digest != res.Digest {
				t.Fatalf("tag resolves to %v, %v", got.Digest, err)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.n["PUT manifest-by-tag"] != tc.byTag || c.n["PUT manifest-by-digest"] != tc.byDigest || c.n["GET manifest-by-digest"] != 0 {
				t.Errorf("requests %v: want %d PUT by tag, %d by digest, no GET", c.n, tc.byTag, tc.byDigest)
			}
		})
	}
}

// TestCopyRetries: a source that drops the connection in the middle of a
// blob and a destination that answers a blob PUT with 429 and Retry-After
// still make a complete, verified copy.
func TestCopyRetries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var dropped, limited atomic.Int32
	src := registryWith(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, f.bigLayer.Digest.String()) && dropped.Add(1) == 1 {
				h.ServeHTTP(&cutWriter{ResponseWriter: w, left: 1 << 20}, r) // the real first MiB, then the connection breaks
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	if _, err := copy.Copy(ctx, f.src, "v1", src, "v1", copy.Options{}); err != nil {
		t.Fatal(err)
	}
	var waited time.Duration
	var first time.Time
	dst := registryWith(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
				switch limited.Add(1) {
				case 1:
					first = time.Now()
					io.Copy(io.Discard, r.Body)
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "TOOMANYREQUESTS", "message": "slow down"}}})
					return
				case 2:
					waited = time.Since(first)
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	res, err := copy.Copy(ctx, src, "v1", dst, "v1", copy.Options{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != f.image.Digest || !has(t, dst, f.bigLayer) {
		t.Fatalf("copy %+v incomplete", res)
	}
	if dropped.Load() < 2 {
		t.Errorf("the source was fetched %d times, want a retry after the drop", dropped.Load())
	}
	if waited < time.Second {
		t.Errorf("the PUT after a 429 with Retry-After: 1 came %v later", waited)
	}
}

// TestHostLimiter: slots are per host, shared, and given up on cancel.
func TestHostLimiter(t *testing.T) {
	l := copy.NewHostLimiter(2)
	ctx := context.Background()
	r1, err := copy.AcquireForTest(l, ctx, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := copy.AcquireForTest(l, ctx, "b", "a", "a")
	if err != nil {
		t.Fatal(err)
	}
	// "a" and "b" are full; "c" is not.
	r3, err := copy.AcquireForTest(l, ctx, "c", "")
	if err != nil {
		t.Fatal(err)
	}
	r3()
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := copy.AcquireForTest(l, cctx, "c", "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("acquire on a full host: %v, want a deadline error", err)
	}
	// The failed attempt gave back its slot on "c": two fit again.
	done := make(chan struct{})
	go func() {
		r, err := copy.AcquireForTest(l, ctx, "a")
		if err == nil {
			r()
		}
		close(done)
	}()
	r1()
	<-done
	r2()
	for range 2 {
		if _, err := copy.AcquireForTest(l, ctx, "c"); err != nil {
			t.Fatal(err)
		}
	}
}

// cutWriter passes the first left bytes of a response through, then cuts
// the connection, as a network failure mid-body would.
type cutWriter struct {
	http.ResponseWriter
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}
