package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCacheContainerd: containerd, the daemon deployed clusters pull with,
// uses the cache as a registry mirror configured the way they configure it
// (a hosts.toml per registry host): the image's own registry is the
// upstream, a dead mirror comes first (containerd falls back past it) and
// the cache second. containerd asks the cache for /v2/REPO/...?ns=UPSTREAM,
// the cache serves it from the upstream under its prefix, the image lands
// in containerd with the upstream's digest, and its bytes crossed from the
// upstream once, through the cache, never from containerd directly.
//
// containerd hosts.toml: https://github.com/containerd/containerd/blob/v1.6.20/docs/hosts.md
func TestCacheContainerd(t *testing.T) {
	for _, tool := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not on PATH: scripts/install-tools.sh installs Debian's containerd package", tool)
		}
	}
	rig := startCacheRig(t, "")
	dir := t.TempDir()
	base := rig.upRef("ctr/app:v1")
	for i, name := range []string{"ctr-base", "ctr-app"} {
		tarPath := filepath.Join(dir, name+".tar")
		if err := writeLayerTar(tarPath, name, 8); err != nil {
			t.Fatal(err)
		}
		args := []string{"append", "--insecure", "-f", tarPath, "-t", base}
		if i == 0 {
			args = append(args, "--oci-empty-base")
		} else {
			args = append(args, "-b", base)
		}
		crane(t, args...)
	}
	want := strings.TrimSpace(string(crane(t, "digest", "--insecure", base)))
	var size int64
	for _, l := range craneSees(t, base).Manifest.Layers {
		size += l.Size
	}
	rig.proxy.taken()

	rec := newRecordingProxy(t, rig.sd.Registry)
	ctr := startContainerd(t)
	dead, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	// The image is named by the upstream's address (what the cache's URL
	// says), so containerd sends ns=<that address> to its mirrors.
	ref := rig.proxy.Host + "/ctr/app:v1"
	hosts := filepath.Join(ctr.dir, "hosts")
	hostsToml := fmt.Sprintf(`server = "http://%s"

[host."http://%s"]
  capabilities = ["pull", "resolve"]

[host."http://%s"]
  capabilities = ["pull", "resolve"]
`, rig.proxy.Host, dead, rec.Host)
	if err := os.MkdirAll(filepath.Join(hosts, rig.proxy.Host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hosts, rig.proxy.Host, "hosts.toml"), []byte(hostsToml), 0o644); err != nil {
		t.Fatal(err)
	}

	// The native snapshotter unpacks anywhere (overlayfs may be unavailable
	// inside the test's own container).
	mustRun(t, nil, "ctr", "--address", ctr.sock, "images", "pull", "--hosts-dir", hosts, "--snapshotter", "native", ref)
	images := string(mustRun(t, nil, "ctr", "--address", ctr.sock, "images", "ls"))
	if !strings.Contains(images, ref) || !strings.Contains(images, want) {
		t.Fatalf("containerd's images after the pull:\n%s\nwant %s at %s", images, ref, want)
	}
	nsSeen := 0
	for _, u := range rec.seen() {
		if strings.Contains(u, "ns="+url.QueryEscape(rig.proxy.Host)) || strings.Contains(u, "ns="+rig.proxy.Host) {
			nsSeen++
		}
	}
	if nsSeen == 0 {
		t.Fatalf("containerd sent no ns= request to the cache; it asked: %v", rec.seen())
	}
	if n := rig.proxy.taken(); n < size || n > size+manifestSlack {
		t.Errorf("the pull moved %d bytes from the upstream, want the image's %d once, through the cache", n, size)
	}
	m := scrapeMetrics(t, "http://"+rig.sd.HTTP+"/metrics")
	if m[`stevedore_cache_misses_total{upstream="up"}`] < 3 {
		t.Errorf("the cache saw no misses: %v", m)
	}
}

// containerd is a containerd daemon the test started, with its own root,
// state directory and socket.
type containerd struct {
	dir  string // root of its files (short: socket paths are limited)
	sock string
}

// startContainerd runs containerd with everything under a fresh temporary
// directory and the CRI plugin off (it wants a full node), and waits until
// ctr reaches it.
func startContainerd(t *testing.T) *containerd {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &containerd{dir: dir, sock: filepath.Join(dir, "c.sock")}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %q

[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, filepath.Join(dir, "c.ttrpc.sock"))
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := startProc(t, "containerd", nil, "containerd", "--config", cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitReady(30*time.Second, func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, "ctr", "--address", c.sock, "version").CombinedOutput()
		if err != nil {
			return fmt.Errorf("ctr version: %v: %s: %w", err, out, errNotYet)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recordingProxy fronts a server and records every request's URI.
type recordingProxy struct {
	Host string
	mu   sync.Mutex
	uris []string
}

func newRecordingProxy(t *testing.T, host string) *recordingProxy {
	target := &url.URL{Scheme: "http", Host: host}
	p := &recordingProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.uris = append(p.uris, r.Method+" "+r.URL.RequestURI())
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

func (p *recordingProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.uris...)
}
