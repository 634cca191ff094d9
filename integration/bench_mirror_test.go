package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Shape of the mirror benchmark: benchMirrorImages images of three layers,
// two of them shared by all, each tagged twice; then benchMirrorNew more
// images, one tag each, for the incremental run.
const (
	benchMirrorImages = 50
	benchMirrorNew    = 5
	benchMirrorNoops  = 3 // no-op runs per tool; the report gives the median
)

// countingProxy fronts a registry and counts what passes: requests, request
// body bytes (what a client sends) and response bytes (what it reads). The
// Host header is kept, so the registry's upload Locations point back here.
type countingProxy struct {
	Host          string
	reqs, in, out atomic.Int64

	mu    sync.Mutex
	kinds map[string]int // "METHOD kind" (kind: manifests, blobs, uploads, tags) → requests
}

func newCountingProxy(t *testing.T, host string) *countingProxy {
	target := &url.URL{Scheme: "http", Host: host}
	p := &countingProxy{kinds: map[string]int{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.reqs.Add(1)
		p.mu.Lock()
		p.kinds[r.Method+" "+requestKind(r.URL.Path)]++
		p.mu.Unlock()
		r.Body = countingBody{r.Body, &p.in}
		rp.ServeHTTP(&countingWriter{w, &p.out}, r)
	}))
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// take returns the counts since the last call and resets them.
func (p *countingProxy) take() (reqs, in, out int64) {
	p.mu.Lock()
	p.kinds = map[string]int{}
	p.mu.Unlock()
	return p.reqs.Swap(0), p.in.Swap(0), p.out.Swap(0)
}

// breakdown describes the requests since the last take by method and
// endpoint ("HEAD blobs 52, PUT manifests 100, ..."), most first.
func (p *countingProxy) breakdown() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.kinds))
	for k := range p.kinds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if p.kinds[keys[i]] != p.kinds[keys[j]] {
			return p.kinds[keys[i]] > p.kinds[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, p.kinds[k])
	}
	return strings.Join(parts, ", ")
}

// requestKind names the distribution API endpoint of a path.
func requestKind(path string) string {
	switch {
	case strings.Contains(path, "/blobs/uploads"):
		return "uploads"
	case strings.Contains(path, "/blobs/"):
		return "blobs"
	case strings.Contains(path, "/manifests/"):
		return "manifests"
	case strings.HasSuffix(path, "/tags/list"):
		return "tags"
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	}
	return "other"
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// benchMirrorTool is one way of mirroring SRC/bench/app to DST/bench/app.
type benchMirrorTool struct {
	name string
	cmd  func(src, dst string) []string
	dst  *countingProxy
}

// benchMirrorRow is one measured run.
type benchMirrorRow struct {
	tool, run           string
	secs                float64
	srcReqs, dstReqs    int64
	sentBytes, srcBytes int64
}

// TestBenchMirror compares `stevedore mirror` with `crane copy -a`
// (--all-tags), `skopeo sync` and regsync (when installed) on one
// repository of 100 tags (50 images sharing 2 of their 3 layers, two tags
// each) served by a CNCF distribution registry: a cold mirror into an empty
// distribution registry, a no-op mirror (median of 3), and an incremental
// one after 5 new tags. Counting proxies in front of the source and of each
// destination give requests and bytes; it never fails on timing.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchMirror$' -v -timeout 30m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE.
func TestBenchMirror(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	srcReg, err := startDistribution(t, "bench-mirror-src", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := newCountingProxy(t, srcReg.Host)
	dir := t.TempDir()
	// Layers are gzipped tars, as registries hold them: skopeo would
	// compress an uncompressed one on the way, changing every digest.
	type benchLayer struct{ gz, diffID descriptor }
	layer := func(name string, files int) benchLayer {
		t.Helper()
		p := filepath.Join(dir, name+".tar")
		if err := writeLayerTar(p, name, files); err != nil {
			t.Fatal(err)
		}
		diffID, err := benchFileDescriptor(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("gzip", "-n", "-1", p).Run(); err != nil {
			t.Fatal(err)
		}
		d, err := benchFileDescriptor(p + ".gz")
		if err != nil {
			t.Fatal(err)
		}
		d.MediaType += "+gzip"
		f, err := os.Open(p + ".gz")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := benchPushBlob(srcReg.Host, "bench/app", d.Digest, d.Size, f); err != nil {
			t.Fatal(err)
		}
		return benchLayer{d, diffID}
	}
	base1, base2 := layer("mirror-base1", 16), layer("mirror-base2", 16)
	image := func(i int, tags ...string) {
		t.Helper()
		u := layer(fmt.Sprintf("mirror-uniq%03d", i), 4)
		if err := benchPushImage(srcReg.Host, "bench/app", []descriptor{base1.gz, base2.gz, u.gz}, []string{base1.diffID.Digest, base2.diffID.Digest, u.diffID.Digest}, tags); err != nil {
			t.Fatal(err)
		}
	}
	for i := range benchMirrorImages {
		image(i, fmt.Sprintf("v%03d", 2*i), fmt.Sprintf("v%03d", 2*i+1))
	}

	tools := []*benchMirrorTool{
		{name: "stevedore mirror", cmd: func(s, d string) []string {
			cfg := filepath.Join(dir, "mirror-"+strings.ReplaceAll(d, ":", "_")+".yaml")
			if err := os.WriteFile(cfg, []byte(fmt.Sprintf("destination: {registry: %q}\nsources: [{repository: %q}]\n", d, s+"/bench/app")), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{stevedoreBin, "mirror", cfg}
		}},
		{name: "crane copy -a", cmd: func(s, d string) []string {
			return []string{"crane", "copy", "-a", s + "/bench/app", d + "/bench/app"}
		}},
		{name: "skopeo sync", cmd: func(s, d string) []string {
			return []string{"skopeo", "sync", "--preserve-digests", "--src", "docker", "--dest", "docker", "--src-tls-verify=false", "--dest-tls-verify=false", s + "/bench/app", d + "/bench"}
		}},
	}
	if _, err := exec.LookPath("regctl"); err == nil {
		tools = append(tools, &benchMirrorTool{name: "regctl repo copy", cmd: func(s, d string) []string {
			return []string{"regctl", "--host", "reg=" + s + ",tls=disabled", "--host", "reg=" + d + ",tls=disabled", "repo", "copy", s + "/bench/app", d + "/bench/app"}
		}})
	} else {
		t.Log("regctl not on PATH: left out")
	}
	if _, err := exec.LookPath("regsync"); err == nil {
		tools = append(tools, &benchMirrorTool{name: "regsync once", cmd: func(s, d string) []string {
			cfg := filepath.Join(dir, "regsync-"+strings.ReplaceAll(d, ":", "_")+".yaml")
			y := fmt.Sprintf("version: 1\ncreds:\n  - registry: %q\n    tls: disabled\n  - registry: %q\n    tls: disabled\nsync:\n  - source: %s/bench/app\n    target: %s/bench/app\n    type: repository\n", s, d, s, d)
			if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"regsync", "once", "-c", cfg}
		}})
	} else {
		t.Log("regsync not on PATH: left out")
	}
	for _, tl := range tools {
		reg, err := startDistribution(t, "bench-mirror-"+strings.Fields(tl.name)[0], distOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tl.dst = newCountingProxy(t, reg.Host)
	}

	measure := func(tl *benchMirrorTool, run string) benchMirrorRow {
		t.Helper()
		args := tl.cmd(src.Host, tl.dst.Host)
		src.take()
		tl.dst.take()
		start := time.Now()
		r, err := benchRunCmd(args)
		secs := time.Since(start).Seconds()
		if err != nil {
			t.Fatalf("%s (%s): %v", tl.name, run, err)
		}
		_ = r
		row := benchMirrorRow{tool: tl.name, run: run, secs: secs}
		t.Logf("%-18s %-12s src: %s", tl.name, run, src.breakdown())
		t.Logf("%-18s %-12s dst: %s", tl.name, run, tl.dst.breakdown())
		row.srcReqs, _, row.srcBytes = src.take()
		row.dstReqs, row.sentBytes, _ = tl.dst.take()
		t.Logf("%-18s %-12s %7.3fs  src %4d req %9d B read  dst %4d req %9d B sent", tl.name, run, row.secs, row.srcReqs, row.srcBytes, row.dstReqs, row.sentBytes)
		return row
	}
	var rows []benchMirrorRow
	for _, tl := range tools {
		rows = append(rows, measure(tl, "cold"))
		var noops []benchMirrorRow
		for range benchMirrorNoops {
			noops = append(noops, measure(tl, "no-op"))
		}
		rows = append(rows, benchMirrorMedian(noops))
	}
	for i := range benchMirrorNew {
		image(benchMirrorImages+i, fmt.Sprintf("new%d", i))
	}
	for _, tl := range tools {
		rows = append(rows, measure(tl, "incremental"))
	}

	// Every tool must have produced the same repository.
	for _, tag := range []string{"v000", "v099", "new4"} {
		want := strings.TrimSpace(string(crane(t, "digest", srcReg.Host+"/bench/app:"+tag)))
		for _, tl := range tools {
			if got := strings.TrimSpace(string(crane(t, "digest", tl.dst.Host+"/bench/app:"+tag))); got != want {
				t.Errorf("%s: %s digest %s, want %s", tl.name, tag, got, want)
			}
		}
	}
	for _, r := range rows {
		if r.tool == "stevedore mirror" && r.run == "no-op" && r.sentBytes != 0 {
			t.Errorf("stevedore no-op mirror sent %d bytes, want 0", r.sentBytes)
		}
	}
	report := benchMirrorReport(rows)
	t.Log("\n" + report)
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// benchRunCmd runs a tool to completion; a non-zero exit is an error.
func benchRunCmd(args []string) (result, error) {
	r, err := run(nil, args[0], args[1:]...)
	if err == nil && r.Code != 0 {
		err = fmt.Errorf("%s: exit %d\nstderr: %s", strings.Join(args, " "), r.Code, tail(r.Stderr, 2000))
	}
	return r, err
}

// benchMirrorMedian is the run of median wall time.
func benchMirrorMedian(rs []benchMirrorRow) benchMirrorRow {
	secs := make([]float64, len(rs))
	for i, r := range rs {
		secs[i] = r.secs
	}
	m := benchMedian(secs)
	for _, r := range rs {
		if r.secs == m {
			return r
		}
	}
	return rs[0]
}

// benchFileDescriptor hashes a layer file.
func benchFileDescriptor(path string) (descriptor, error) {
	f, err := os.Open(path)
	if err != nil {
		return descriptor{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// benchPushImage pushes a config over layers (already pushed) and a
// manifest under every tag.
//
// distribution-spec v1.1.1 §Pushing manifests:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func benchPushImage(host, repo string, layers []descriptor, diffs, tags []string) error {
	cfgRaw, err := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffs}})
	if err != nil {
		return err
	}
	cfg := descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha256Digest(cfgRaw), Size: int64(len(cfgRaw))}
	if err := benchPushBlob(host, repo, cfg.Digest, cfg.Size, strings.NewReader(string(cfgRaw))); err != nil {
		return err
	}
	raw, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cfg, "layers": layers})
	if err != nil {
		return err
	}
	for _, tag := range tags {
		req, err := http.NewRequest(http.MethodPut, "http://"+host+"/v2/"+repo+"/manifests/"+tag, strings.NewReader(string(raw)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		if err := benchDo(req, http.StatusCreated); err != nil {
			return err
		}
	}
	return nil
}

// benchMirrorReport renders the rows as markdown, with each tool's wall time
// as a ratio to stevedore's for the same run (>1: stevedore is faster).
func benchMirrorReport(rows []benchMirrorRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Mirror, 100 tags (50 images sharing 2 of 3 layers) + 5 new (%s)\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s, %s. Load average at the end: %s.\n\n",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), "crane "+benchVersion("crane", "version"), strings.TrimSpace(string(benchOutput("skopeo", "--version"))), benchLoad())
	b.WriteString("| run | tool | wall s | time / stevedore | source requests | destination requests | bytes read from source | bytes sent to destination |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	ours := map[string]float64{}
	for _, r := range rows {
		if r.tool == "stevedore mirror" {
			ours[r.run] = r.secs
		}
	}
	for _, run := range []string{"cold", "no-op", "incremental"} {
		for _, r := range rows {
			if r.run != run {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.2f× | %d | %d | %d | %d |\n", r.run, r.tool, r.secs, r.secs/ours[run], r.srcReqs, r.dstReqs, r.srcBytes, r.sentBytes)
		}
	}
	return b.String()
}

// benchOutput is a command's stdout, empty when it fails.
func benchOutput(bin string, args ...string) []byte {
	out, _ := exec.Command(bin, args...).Output()
	return out
}
