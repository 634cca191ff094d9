package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// Shape of the cache tests' images: 1 GiB (four 256 MiB layers) for the
// cold pulls, 128 MiB with -short; 64 MiB for the eight concurrent pulls,
// which is enough for moving it twice to show in the count.
const (
	cacheTestLayers        = 4
	cacheTestLayerSize     = 256 << 20
	cacheTestLayerSizeFast = 32 << 20
	cacheConcurrentSize    = 16 << 20
)

// upstreamsFlag names the serve config file holding the `upstreams:`
// section.
const upstreamsFlag = "--config"

// cacheRig is a pull-through cache under test: a CNCF distribution
// registry as the upstream, reached through a proxy that counts what the
// cache moves from it (and can hold a blob mid-way), and stevedore serving
// it under the prefix "up" with the safe defaults only (no --allow-remote:
// a configured loopback upstream is vouched for by its configuration).
type cacheRig struct {
	dist  *distRegistry
	proxy *upstreamProxy
	sd    *stevedoreServer
}

// startCacheRig starts the three; tagTTL is the upstream's tagTTL ("" for
// the default).
func startCacheRig(t *testing.T, tagTTL string) *cacheRig {
	t.Helper()
	dist, err := startDistribution(t, "cache-upstream", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := newUpstreamProxy(t, dist.Host)
	cfg := fmt.Sprintf("upstreams:\n  - prefix: up\n    urls: [\"http://%s\"]\n", p.Host)
	if tagTTL != "" {
		cfg += "    tagTTL: " + tagTTL + "\n"
	}
	cfgPath := filepath.Join(t.TempDir(), "upstreams.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	sd, err := startStevedore(t, "stevedore-cache", serveOptions{Default: true, Args: []string{upstreamsFlag, cfgPath}})
	if err != nil {
		t.Fatal(err)
	}
	return &cacheRig{dist: dist, proxy: p, sd: sd}
}

// ref names repo through the cache; upRef at the upstream itself.
func (r *cacheRig) ref(repo string) string   { return r.sd.Registry + "/up/" + repo }
func (r *cacheRig) upRef(repo string) string { return r.dist.Host + "/" + repo }

// upstreamProxy fronts the upstream: it counts the response bytes it
// relays (what the cache reads from the upstream) and, when hold is set,
// stops relaying a blob body after that many bytes until released.
type upstreamProxy struct {
	Host  string
	out   atomic.Int64
	close func()

	mu      sync.Mutex
	hold    int64
	held    chan struct{} // closed when a body is held
	release chan struct{} // close to let it go on
}

func newUpstreamProxy(t *testing.T, host string) *upstreamProxy {
	target := &url.URL{Scheme: "http", Host: host}
	p := &upstreamProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ModifyResponse: func(resp *http.Response) error {
			p.mu.Lock()
			hold, held, release := p.hold, p.held, p.release
			p.mu.Unlock()
			if hold > 0 && strings.Contains(resp.Request.URL.Path, "/blobs/") && resp.Request.Method == http.MethodGet {
				resp.Body = &holdingBody{ReadCloser: resp.Body, left: hold, held: held, release: release}
			}
			return nil
		},
		ErrorLog: nil,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.ServeHTTP(&countingWriter{w, &p.out}, r)
	}))
	t.Cleanup(srv.Close)
	p.Host, p.close = strings.TrimPrefix(srv.URL, "http://"), srv.Close
	return p
}

// holdAfter makes the next blob bodies stop after n bytes until the
// returned release is called; held is closed once one is held.
func (p *upstreamProxy) holdAfter(n int64) (held <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold, p.held, p.release = n, make(chan struct{}), make(chan struct{})
	h, r := p.held, p.release
	var once sync.Once
	return h, func() { once.Do(func() { close(r) }) }
}

func (p *upstreamProxy) noHold() {
	p.mu.Lock()
	p.hold = 0
	p.mu.Unlock()
}

// taken returns the bytes relayed since the last call.
func (p *upstreamProxy) taken() int64 { return p.out.Swap(0) }

// holdingBody passes left bytes, then waits for release.
type holdingBody struct {
	io.ReadCloser
	left          int64
	held, release chan struct{}
	once          sync.Once
}

func (b *holdingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.once.Do(func() { close(b.held) })
		<-b.release
		return b.ReadCloser.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// restart starts a stopped distribution registry again, on its address and
// storage.
func (r *distRegistry) restart(o owner) error {
	env := []string{"OTEL_TRACES_EXPORTER=none", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none"}
	var err error
	if r.proc, err = startProc(o, "cache-upstream-again", env, "registry", "serve", r.Config); err != nil {
		return err
	}
	return r.proc.waitReady(30*time.Second, func(ctx context.Context) error {
		return httpStatusIs(ctx, "http://"+r.Host+"/v2/", http.StatusOK)
	})
}

// pushLayout pushes the image layout dir to ref with crane.
func pushLayout(t *testing.T, dir, ref string) string {
	t.Helper()
	crane(t, "push", "--insecure", dir, ref)
	return strings.TrimSpace(string(crane(t, "digest", "--insecure", ref)))
}

// imageBytes sums the blob sizes of layers plus slack for the manifest and
// config, which are small.
func imageBytes(layers []descriptor) int64 {
	var n int64
	for _, l := range layers {
		n += l.Size
	}
	return n
}

// manifestSlack bounds what a pull moves beyond its layers: manifest,
// config, tag revalidations and error bodies.
const manifestSlack = 64 << 10

// checkPulledLayout checks that crane's layout at dir holds every layer
// whole and hashing to its digest.
func checkPulledLayout(t *testing.T, dir string, layers []descriptor) {
	t.Helper()
	for _, l := range layers {
		f, err := os.Open(layoutBlobPath(dir, l.Digest))
		if err != nil {
			t.Fatalf("layer %s missing from the pull: %v", l.Digest, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil || n != l.Size || "sha256:"+hex.EncodeToString(h.Sum(nil)) != l.Digest {
			t.Fatalf("layer %s: %d bytes (want %d), %v", l.Digest, n, l.Size, err)
		}
	}
}

// TestCacheColdPull: a 1 GiB image pulled through the cache with crane and
// skopeo is the upstream's, digest for digest and byte for byte; a cold
// pull moves the image from the upstream once, a warm one not at all, and
// eight concurrent cold pulls of one image still move it once. (Timings:
// TestBenchCache.)
func TestCacheColdPull(t *testing.T) {
	rig := startCacheRig(t, "")
	layerSize := int64(cacheTestLayerSize)
	if testing.Short() {
		layerSize = cacheTestLayerSizeFast
	}
	layout := filepath.Join(t.TempDir(), "image")
	layers, err := imageLayout(layout, cacheTestLayers, layerSize, 40)
	if err != nil {
		t.Fatal(err)
	}
	size := imageBytes(layers)
	want := pushLayout(t, layout, rig.upRef("cold/app:v1"))
	layout8 := filepath.Join(t.TempDir(), "image8")
	layers8, err := imageLayout(layout8, cacheTestLayers, cacheConcurrentSize, 50)
	if err != nil {
		t.Fatal(err)
	}
	size8 := imageBytes(layers8)
	want8 := pushLayout(t, layout8, rig.upRef("cold/app8:v1"))
	rig.proxy.taken()

	dir := filepath.Join(t.TempDir(), "crane")
	crane(t, "pull", "--insecure", "--format", "oci", rig.ref("cold/app:v1"), dir)
	if got := strings.TrimSpace(string(crane(t, "digest", "--insecure", rig.ref("cold/app:v1")))); got != want {
		t.Fatalf("digest through the cache %s, upstream %s", got, want)
	}
	checkPulledLayout(t, dir, layers)
	os.RemoveAll(dir)
	if n := rig.proxy.taken(); n < size || n > size+manifestSlack {
		t.Errorf("cold crane pull moved %d bytes from upstream, want the image's %d once", n, size)
	}

	skopeoDir := filepath.Join(t.TempDir(), "skopeo")
	mustRun(t, nil, "skopeo", "copy", "--preserve-digests", "--src-tls-verify=false", "docker://"+rig.ref("cold/app:v1"), "oci:"+skopeoDir+":v1")
	raw := mustRun(t, nil, "skopeo", "inspect", "--raw", "oci:"+skopeoDir+":v1")
	if got := sha256Digest(raw); got != want {
		t.Errorf("skopeo's copy through the cache has manifest %s, want %s", got, want)
	}
	checkPulledLayout(t, skopeoDir, layers)
	os.RemoveAll(skopeoDir)
	if n := rig.proxy.taken(); n > manifestSlack {
		t.Errorf("warm skopeo pull moved %d bytes from upstream, want none", n)
	}

	var g errgroup.Group
	for i := range 8 {
		g.Go(func() error {
			out, err := exec1("crane", "pull", "--insecure", "--format", "oci", rig.ref("cold/app8:v1"), filepath.Join(t.TempDir(), fmt.Sprint("c", i)))
			if err != nil {
				return fmt.Errorf("pull %d: %v: %s", i, err, out)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(crane(t, "digest", "--insecure", rig.ref("cold/app8:v1")))); got != want8 {
		t.Fatalf("digest through the cache %s, upstream %s", got, want8)
	}
	if n := rig.proxy.taken(); n < size8 || n > size8+manifestSlack {
		t.Errorf("8 concurrent cold pulls moved %d bytes from upstream, want the image's %d once", n, size8)
	}
	m := scrapeMetrics(t, "http://"+rig.sd.HTTP+"/metrics")
	if m[`stevedore_cache_misses_total{upstream="up"}`] == 0 || m[`stevedore_cache_upstream_bytes_total{upstream="up"}`] < float64(size+size8) {
		t.Errorf("cache metrics: %v", m)
	}
}

// TestCacheUpstreamFailures: the upstream killed mid-blob fails the
// client's pull and leaves nothing of the blob in the store; once it is
// back the pull succeeds. With the upstream down, a cached tag (past its
// TTL) still pulls, marked stale, and an uncached one fails saying why.
func TestCacheUpstreamFailures(t *testing.T) {
	rig := startCacheRig(t, "1s")
	layout := filepath.Join(t.TempDir(), "image")
	layers, err := imageLayout(layout, 1, 64<<20, 60)
	if err != nil {
		t.Fatal(err)
	}
	want := pushLayout(t, layout, rig.upRef("fault/app:v1"))
	crane(t, "tag", "--insecure", rig.upRef("fault/app:v1"), "v2")

	held, release := rig.proxy.holdAfter(8 << 20)
	defer release()
	pull := make(chan result, 1)
	go func() {
		r, err := run(nil, "crane", "pull", "--insecure", "--format", "oci", rig.ref("fault/app:v1"), filepath.Join(t.TempDir(), "killed"))
		if err != nil {
			r.Code, r.Stderr = -1, []byte(err.Error())
		}
		pull <- r
	}()
	select {
	case <-held:
	case <-time.After(2 * time.Minute):
		t.Fatal("the blob never reached the upstream proxy")
	}
	if err := rig.dist.proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-rig.dist.proc.done
	release()
	r := <-pull
	if r.Code == 0 {
		t.Fatal("crane pull succeeded although the upstream died mid-blob")
	}
	t.Logf("pull with the upstream killed mid-blob: %s", lastLine(r.Stderr))
	rig.proxy.noHold()
	layer := strings.TrimPrefix(layers[0].Digest, "sha256:")
	for _, p := range []string{
		filepath.Join(rig.sd.Data, "blobs", "sha256", layer),
		filepath.Join(rig.sd.Data, "repos", "up", "fault", "app", "_oci", "blobs", "sha256", layer),
	} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a partial blob was committed: %s", p)
		}
	}
	waitFor(t, 10*time.Second, "the spool to empty", func() bool {
		entries, _ := os.ReadDir(filepath.Join(rig.sd.Data, "spool"))
		return len(entries) == 0
	})

	if err := rig.dist.restart(t); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "again")
	crane(t, "pull", "--insecure", "--format", "oci", rig.ref("fault/app:v1"), dir)
	checkPulledLayout(t, dir, layers)
	if got := strings.TrimSpace(string(crane(t, "digest", "--insecure", rig.ref("fault/app:v1")))); got != want {
		t.Fatalf("digest after the upstream came back %s, want %s", got, want)
	}

	// Down for good, the address refusing connections: the cached tag,
	// past its 1 s TTL, is served stale.
	rig.dist.proc.stop()
	rig.proxy.close()
	time.Sleep(1100 * time.Millisecond) // the tag TTL must pass; no readiness to poll for
	crane(t, "pull", "--insecure", "--format", "oci", rig.ref("fault/app:v1"), filepath.Join(t.TempDir(), "stale"))
	resp, err := http.Head("http://" + rig.sd.Registry + "/v2/up/fault/app/manifests/v1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if w := resp.Header.Get("Warning"); resp.StatusCode != http.StatusOK || !strings.Contains(w, "Revalidation Failed") {
		t.Errorf("stale manifest: %s, Warning %q", resp.Status, w)
	}
	waitFor(t, 10*time.Second, "the stale answer's log line", func() bool {
		b, _ := os.ReadFile(rig.sd.proc.log)
		return strings.Contains(string(b), "upstream unreachable: serving from the cache")
	})
	res, err := run(nil, "crane", "manifest", "--insecure", rig.ref("fault/app:v2"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Code == 0 || !strings.Contains(string(res.Stderr), "UNAVAILABLE") || !strings.Contains(string(res.Stderr), "unreachable") {
		t.Errorf("uncached tag with the upstream down: exit %d: %s", res.Code, res.Stderr)
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// lastLine is the last non-empty line of out.
func lastLine(out []byte) string {
	l := lines(out)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}

// scrapeMetrics reads a Prometheus text endpoint into series → value.
func scrapeMetrics(t *testing.T, u string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		var v float64
		fmt.Sscan(l[i+1:], &v)
		out[l[:i]] = v
	}
	return out
}
