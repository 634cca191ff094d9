package cache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/cache"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/netguard"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// upstream is a real registry (registryhttp over a data directory) on a
// loopback port, with a hook that may answer a request instead (faults)
// and counters of what it served.
type upstream struct {
	t        *testing.T
	b        served.Backend
	srv      *httptest.Server
	blobGets atomic.Int64
	heads    atomic.Int64
	gets     atomic.Int64
	mu       sync.Mutex
	hook     func(w http.ResponseWriter, r *http.Request) bool
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{t: t, b: reg.Backend()}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
			u.blobGets.Add(1)
		}
		if strings.Contains(r.URL.Path, "/manifests/") {
			if r.Method == http.MethodHead {
				u.heads.Add(1)
			} else {
				u.gets.Add(1)
			}
		}
		u.mu.Lock()
		hook := u.hook
		u.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	u.mu.Lock()
	u.hook = h
	u.mu.Unlock()
}

// image is what pushImage stored.
type image struct {
	manifest digest.Digest
	layer    oci.Descriptor
	data     []byte
}

// pushImage stores an image of one random layer of size bytes in
// repository name of b, tagged tag.
func pushImage(t *testing.T, b served.Backend, name, tag string, size int) image {
	t.Helper()
	ctx := context.Background()
	data := make([]byte, size)
	rand.Read(data)
	layer := oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: digest.FromBytes(data), Size: int64(size)}
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cfg := oci.Descriptor{MediaType: oci.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))}
	repo, err := b.CreateRepo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for _, blob := range []struct {
		d    oci.Descriptor
		data []byte
	}{{layer, data}, {cfg, config}} {
		if err := b.Put(ctx, repo, blob.d, bytes.NewReader(blob.data)); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": cfg, "layers": []oci.Descriptor{layer},
	})
	m, err := served.PutManifest(ctx, b, name, raw, served.ManifestPut{MediaType: oci.MediaTypeImageManifest, Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	return image{manifest: m.Digest, layer: layer, data: data}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newCache returns a cache over a fresh store, serving u under "up". The
// dial guard allows public addresses only: the loopback upstream works
// because it is configured.
func newCache(t *testing.T, u *upstream, clk *clock) (*cache.Cache, served.Backend) {
	t.Helper()
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return newCacheOver(t, u, clk, root.Backend())
}

// copyingBackend hides the data directory's FileAdopter, so fills commit
// by copying, as into any other store.
type copyingBackend struct{ served.Backend }

func newCacheOver(t *testing.T, u *upstream, clk *clock, b served.Backend) (*cache.Cache, served.Backend) {
	t.Helper()
	opts := cache.Options{Remote: &netguard.Policy{}, SpoolDir: t.TempDir()}
	if clk != nil {
		opts.Now = clk.now
	}
	c, err := cache.New(b, []cache.Upstream{{Prefix: "up", URLs: []string{u.srv.URL}, TagTTL: time.Minute}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// readBlob reads blob d of name through the cache, running the fill when
// this call started it, and returns the bytes read and the read error.
func readBlob(t *testing.T, c *cache.Cache, name string, d digest.Digest) ([]byte, error, error) {
	t.Helper()
	ctx := context.Background()
	s, fill, err := c.Blob(ctx, name, d)
	if err != nil {
		t.Fatalf("Blob: %v", err)
	}
	if s == nil {
		t.Fatalf("Blob %s: stored already, want a miss", d)
	}
	defer s.Close()
	runErr := make(chan error, 1)
	if fill != nil {
		go func() { runErr <- fill.Run(ctx) }()
	} else {
		runErr <- nil
	}
	got, rerr := io.ReadAll(s)
	return got, rerr, <-runErr
}

func stored(t *testing.T, b served.Backend, name string, d digest.Digest) bool {
	t.Helper()
	repo, err := b.Repo(context.Background(), name)
	if errors.Is(err, errdef.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	_, err = repo.Stat(context.Background(), d)
	return err == nil
}

func TestPullThrough(t *testing.T) {
	for _, commit := range []string{"adopt", "copy"} {
		t.Run(commit, func(t *testing.T) {
			u := newUpstream(t)
			root, err := served.OpenRoot(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var b served.Backend = root.Backend()
			if commit == "copy" {
				b = copyingBackend{b}
			}
			testPullThrough(t, u, b)
		})
	}
}

func testPullThrough(t *testing.T, u *upstream, store served.Backend) {
	img := pushImage(t, u.b, "library/app", "v1", 3<<20)
	c, b := newCacheOver(t, u, nil, store)
	ctx := context.Background()

	m, err := c.Manifest(ctx, "up/library/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Digest != img.manifest || m.Hit || m.Stale != nil {
		t.Fatalf("first manifest: digest %s hit %v stale %v, want %s, a miss", m.Digest, m.Hit, m.Stale, img.manifest)
	}
	if m, err = c.Manifest(ctx, "up/library/app", "v1"); err != nil || !m.Hit {
		t.Fatalf("second manifest: %v, hit %v: want a hit within the TTL", err, m != nil && m.Hit)
	}
	if m, err = c.Manifest(ctx, "up/library/app", img.manifest.String()); err != nil || !m.Hit {
		t.Fatalf("manifest by digest: %v, want a hit", err)
	}
	if n := u.gets.Load(); n != 1 {
		t.Errorf("upstream manifest GETs = %d, want 1", n)
	}

	got, rerr, runErr := readBlob(t, c, "up/library/app", img.layer.Digest)
	if rerr != nil || runErr != nil || !bytes.Equal(got, img.data) {
		t.Fatalf("blob: read %d bytes, %v; fill %v", len(got), rerr, runErr)
	}
	if !stored(t, b, "up/library/app", img.layer.Digest) {
		t.Fatal("blob not committed to the store")
	}
	if s, _, err := c.Blob(ctx, "up/library/app", img.layer.Digest); s != nil || err != nil {
		t.Fatalf("cached blob: stream %v, %v; want the store to serve it", s, err)
	}
	st := c.Stats()[0]
	if st.Prefix != "up" || st.Bytes < int64(len(img.data)) || st.Hits != 3 || st.Misses != 2 {
		t.Errorf("stats %+v", st)
	}

	// Unknown upstream content is not found, and named as such.
	if _, err := c.Manifest(ctx, "up/library/app", "nope"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("unknown tag: %v", err)
	}
	s, fill, err := c.Blob(ctx, "up/library/app", digest.FromString("nope"))
	if err != nil || fill == nil {
		t.Fatalf("unknown blob: %v, fill %v", err, fill)
	}
	defer s.Close()
	go fill.Run(ctx)
	if _, err := s.Size(ctx); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("unknown blob: %v, want not found", err)
	}
}

// TestConcurrentMissesShareOneFetch: eight readers of one blob, arriving
// while it streams, get all of it from a single upstream GET, and the
// first bytes reach them before the upstream has sent the rest.
func TestConcurrentMissesShareOneFetch(t *testing.T) {
	u := newUpstream(t)
	img := pushImage(t, u.b, "app", "v1", 4<<20)
	c, b := newCache(t, u, nil)
	release := make(chan struct{})
	u.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		// Half the blob, then wait: readers must see bytes meanwhile.
		w.Header().Set("Content-Length", strconv.Itoa(len(img.data)))
		w.Header().Set("Docker-Content-Digest", img.layer.Digest.String())
		w.WriteHeader(http.StatusOK)
		w.Write(img.data[:len(img.data)/2])
		w.(http.Flusher).Flush()
		<-release
		w.Write(img.data[len(img.data)/2:])
		return true
	})
	ctx := context.Background()
	const readers = 8
	var fills atomic.Int64
	var wg sync.WaitGroup
	firstBytes := make(chan struct{}, readers)
	results := make([][]byte, readers)
	errs := make([]error, readers)
	for i := range readers {
		s, fill, err := c.Blob(ctx, "up/app", img.layer.Digest)
		if err != nil || s == nil {
			t.Fatalf("reader %d: %v", i, err)
		}
		if fill != nil {
			fills.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); fill.Run(ctx) }()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			buf := make([]byte, 64<<10)
			n, err := io.ReadFull(s, buf)
			if err != nil {
				errs[i] = err
				return
			}
			firstBytes <- struct{}{}
			rest, err := io.ReadAll(s)
			results[i], errs[i] = append(buf[:n], rest...), err
		}()
	}
	for range readers {
		select {
		case <-firstBytes:
		case <-time.After(10 * time.Second):
			t.Fatal("readers got no bytes while the upstream was still sending: not streaming")
		}
	}
	close(release)
	wg.Wait()
	for i := range readers {
		if errs[i] != nil || !bytes.Equal(results[i], img.data) {
			t.Errorf("reader %d: %d bytes, %v", i, len(results[i]), errs[i])
		}
	}
	if fills.Load() != 1 || u.blobGets.Load() != 1 {
		t.Errorf("fills %d, upstream blob GETs %d; want 1 and 1", fills.Load(), u.blobGets.Load())
	}
	if !stored(t, b, "up/app", img.layer.Digest) {
		t.Error("blob not committed")
	}
}

// TestBadUpstreamBytesNeverCommitted: an upstream that sends the wrong
// bytes, or dies mid-blob, leaves readers with an error and short of the
// last byte, and the store without the blob; the next read fetches again.
func TestBadUpstreamBytesNeverCommitted(t *testing.T) {
	for _, fault := range []string{"wrong bytes", "cut mid-blob"} {
		t.Run(fault, func(t *testing.T) {
			u := newUpstream(t)
			img := pushImage(t, u.b, "app", "v1", 1<<20)
			c, b := newCache(t, u, nil)
			u.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.Contains(r.URL.Path, "/blobs/") {
					return false
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(img.data)))
				w.WriteHeader(http.StatusOK)
				if fault == "wrong bytes" {
					bad := bytes.Clone(img.data)
					bad[len(bad)-1] ^= 0xff
					w.Write(bad)
					return true
				}
				w.Write(img.data[:len(img.data)/2])
				w.(http.Flusher).Flush()
				conn, _, _ := http.NewResponseController(w).Hijack()
				conn.Close()
				return true
			})
			got, rerr, runErr := readBlob(t, c, "up/app", img.layer.Digest)
			if rerr == nil || runErr == nil {
				t.Fatalf("read %v, fill %v: want both to fail", rerr, runErr)
			}
			if len(got) >= len(img.data) {
				t.Fatalf("reader got %d bytes of %d: the last must be held back", len(got), len(img.data))
			}
			if stored(t, b, "up/app", img.layer.Digest) {
				t.Fatal("a blob that did not verify was committed")
			}
			u.setHook(nil)
			got, rerr, runErr = readBlob(t, c, "up/app", img.layer.Digest)
			if rerr != nil || runErr != nil || !bytes.Equal(got, img.data) {
				t.Fatalf("after the upstream recovered: %v, %v", rerr, runErr)
			}
		})
	}
}

// TestReaderGoneFillGoesOn: the reader that started a fill hangs up; the
// fill still completes and commits, for the next.
func TestReaderGoneFillGoesOn(t *testing.T) {
	u := newUpstream(t)
	img := pushImage(t, u.b, "app", "v1", 2<<20)
	c, b := newCache(t, u, nil)
	rctx, cancel := context.WithCancel(context.Background())
	s, fill, err := c.Blob(rctx, "up/app", img.layer.Digest)
	if err != nil || fill == nil {
		t.Fatalf("Blob: %v, fill %v", err, fill)
	}
	cancel()
	if _, err := s.Read(make([]byte, 10)); err == nil {
		// The fill has not started: a read must fail on the cancelled context.
		t.Fatal("read after the reader's context ended succeeded")
	}
	s.Close()
	if err := fill.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !stored(t, b, "up/app", img.layer.Digest) {
		t.Fatal("fill abandoned when its reader left")
	}
}

// TestTagRevalidation: a tag is trusted for its TTL, then revalidated with
// a HEAD: unchanged, moved, served stale when the upstream is down, and
// dropped when the upstream dropped it.
func TestTagRevalidation(t *testing.T) {
	u := newUpstream(t)
	v1 := pushImage(t, u.b, "app", "v1", 1024)
	clk := &clock{t: time.Unix(1e9, 0)}
	c, b := newCache(t, u, clk)
	ctx := context.Background()
	get := func(wantDigest digest.Digest, wantHit, wantStale bool) {
		t.Helper()
		m, err := c.Manifest(ctx, "up/app", "v1")
		if err != nil {
			t.Fatal(err)
		}
		if m.Digest != wantDigest || m.Hit != wantHit || (m.Stale != nil) != wantStale {
			t.Fatalf("digest %s hit %v stale %v; want %s %v %v", m.Digest, m.Hit, m.Stale, wantDigest, wantHit, wantStale)
		}
	}
	get(v1.manifest, false, false)
	clk.add(30 * time.Second)
	get(v1.manifest, true, false)
	if u.heads.Load() != 0 {
		t.Fatalf("HEADs within the TTL: %d", u.heads.Load())
	}
	clk.add(time.Minute)
	get(v1.manifest, true, false)
	if u.heads.Load() != 1 || u.gets.Load() != 1 {
		t.Fatalf("after the TTL: %d HEADs, %d GETs; want 1, 1", u.heads.Load(), u.gets.Load())
	}

	v2 := pushImage(t, u.b, "app", "v1", 2048)
	clk.add(2 * time.Minute)
	get(v2.manifest, false, false)

	u.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	clk.add(2 * time.Minute)
	get(v2.manifest, true, true)
	if _, err := c.Manifest(ctx, "up/app", "v9"); err == nil || errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("uncached tag with the upstream down: %v, want an upstream error", err)
	} else if !strings.Contains(err.Error(), "upstream up") {
		t.Errorf("error does not name the upstream: %v", err)
	}

	u.setHook(nil)
	repo, _ := u.b.Repo(ctx, "app")
	repo.Untag(ctx, "v1")
	repo.Close()
	clk.add(2 * time.Minute) // past the time the upstream is remembered down, and the TTL
	if _, err := c.Manifest(ctx, "up/app", "v1"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("tag gone upstream: %v, want not found", err)
	}
	local, _ := b.Repo(ctx, "up/app")
	defer local.Close()
	if _, err := local.Resolve(ctx, "v1"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("tag gone upstream is still tagged here: %v", err)
	}
}
