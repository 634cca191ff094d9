package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Shape of the registry benchmark: a 1 GiB image of four incompressible
// 256 MiB layers, and a separate 1 GiB blob for the single-stream upload
// (STEVEDORE_BENCH_MIB sets both sizes, STEVEDORE_BENCH_SECONDS each wrk
// run's length).
const (
	benchLayers     = 4
	benchRegRuns    = 3 // timed runs per measurement; the report gives the median
	benchWrkConns   = 64
	benchWrkSeconds = 10
)

// TestBenchRegistry compares stevedore's OCI port with the CNCF distribution
// registry, both started fresh in the same run, on the work a registry does:
//
//   - crane push and crane pull (--format oci) of a 1 GiB 4-layer image,
//   - blob GET throughput (curl, each layer in turn),
//   - single-stream monolithic upload of a 1 GiB blob (Go client, POST then PUT),
//   - manifest GET by tag with wrk at 64 connections,
//
// reporting MB/s (10^6 bytes/s) or requests/s, the server's CPU seconds (from
// /proc/PID/stat) and its peak RSS, and the ratio ours/distribution. It never
// fails on timing.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchRegistry$' -v -timeout 30m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE.
// Needs crane, curl and wrk on PATH; docs/BENCHMARKS.md has the numbers.
func TestBenchRegistry(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	needTools(t, "crane", "curl", "wrk")

	size := benchMiB(bigBlobSize >> 20)
	runs, secs := benchRunCount(benchRegRuns), benchEnvInt("STEVEDORE_BENCH_SECONDS", benchWrkSeconds)
	tmp := t.TempDir()
	start := time.Now()
	layout := filepath.Join(tmp, "image")
	layers, err := benchImageLayout(layout, size)
	if err != nil {
		t.Fatal(err)
	}
	bigPath := filepath.Join(tmp, "big")
	big, err := benchSeededFile(bigPath, size, 99)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated the image and the %d MiB blob in %v", size>>20, time.Since(start))

	dist, err := startDistribution(t, "registry-bench-reg", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := startStevedore(t, "stevedore-serve-bench-reg", serveOptions{Args: []string{"--log-level", "warn"}})
	if err != nil {
		t.Fatal(err)
	}
	servers := []benchServer{
		{Name: "stevedore", Host: ours.Registry, PID: ours.pid()},
		{Name: "distribution", Host: dist.Host, PID: dist.proc.cmd.Process.Pid},
	}
	var imageSize int64
	for _, l := range layers {
		imageSize += l.Size
	}

	var rows []benchRow
	// Each measurement alternates the servers run by run, so drift on the
	// machine spreads over both.
	measure := func(name, unit string, bytes int64, run func(s benchServer, i int) (float64, error)) {
		row := benchRow{Name: name, Unit: unit}
		for i := range runs {
			for j, s := range servers {
				os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.PID), []byte("5"), 0)
				cpu0, _ := benchProcCPU(s.PID)
				v, err := run(s, i)
				if err != nil {
					t.Fatalf("%s, %s, run %d: %v", name, s.Name, i+1, err)
				}
				cpu1, _ := benchProcCPU(s.PID)
				rss, _ := vmHWM(s.PID)
				row.Value[j] = append(row.Value[j], v)
				cpu := (cpu1 - cpu0).Seconds()
				if bytes > 0 {
					cpu /= float64(bytes) / (1 << 30) // CPU-s per GiB moved
				}
				row.CPU[j] = append(row.CPU[j], cpu)
				row.RSS[j] = max(row.RSS[j], rss)
			}
		}
		t.Logf("%s: %v / %v", name, row.Value[0], row.Value[1])
		rows = append(rows, row)
	}

	measure(fmt.Sprintf("crane push, %d MiB 4-layer image", size>>20), "MB/s", imageSize, func(s benchServer, i int) (float64, error) {
		// A new repository each run: crane skips blobs the target already has.
		ref := fmt.Sprintf("%s/bench/push%d:v1", s.Host, i)
		t0 := time.Now()
		if out, err := exec.Command("crane", "push", "--insecure", layout, ref).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("crane push: %v: %s", err, out)
		}
		return float64(imageSize) / time.Since(t0).Seconds() / 1e6, nil
	})
	measure(fmt.Sprintf("crane pull --format oci, %d MiB 4-layer image", size>>20), "MB/s", imageSize, func(s benchServer, i int) (float64, error) {
		dir := filepath.Join(tmp, "pull-"+s.Name)
		defer os.RemoveAll(dir)
		t0 := time.Now()
		if out, err := exec.Command("crane", "pull", "--insecure", "--format", "oci", s.Host+"/bench/push0:v1", dir).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("crane pull: %v: %s", err, out)
		}
		mbps := float64(imageSize) / time.Since(t0).Seconds() / 1e6
		for _, l := range layers {
			if fi, err := os.Stat(layoutBlobPath(dir, l.Digest)); err != nil || fi.Size() != l.Size {
				return 0, fmt.Errorf("crane pull left layer %s missing or short: %v", l.Digest, err)
			}
		}
		return mbps, nil
	})
	measure(fmt.Sprintf("blob GET, curl, 4 × %d MiB", size>>22), "MB/s", imageSize, func(s benchServer, _ int) (float64, error) {
		t0 := time.Now()
		for _, l := range layers {
			if _, _, err := benchCurl(benchBlobURL(s.Host, "bench/push0", l.Digest), l.Size); err != nil {
				return 0, err
			}
		}
		return float64(imageSize) / time.Since(t0).Seconds() / 1e6, nil
	})
	measure(fmt.Sprintf("single-stream monolithic upload, %d MiB (POST + PUT)", size>>20), "MB/s", big.Size, func(s benchServer, i int) (float64, error) {
		f, err := os.Open(bigPath)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		t0 := time.Now()
		if err := benchPushBlob(s.Host, fmt.Sprintf("bench/upload%d", i), big.Digest, big.Size, f); err != nil {
			return 0, err
		}
		return float64(big.Size) / time.Since(t0).Seconds() / 1e6, nil
	})
	var lat [2][]wrkResult
	measure(fmt.Sprintf("manifest GET by tag, wrk %d connections, %d s", benchWrkConns, secs), "req/s", 0, func(s benchServer, _ int) (float64, error) {
		r, err := benchWrk("http://"+s.Host+"/v2/bench/push0/manifests/v1", "application/vnd.oci.image.manifest.v1+json", secs)
		i := 0
		if s.Name != "stevedore" {
			i = 1
		}
		lat[i] = append(lat[i], r)
		return r.RPS, err
	})

	report := benchRegistryReport(rows, runs) + benchLatencyReport(lat)
	fmt.Print(report)
	for _, r := range rows {
		benchRatio(t, "registry: "+r.Name, "distribution", benchMedian(r.Value[0])/benchMedian(r.Value[1]))
	}
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// benchServer is one registry under test.
type benchServer struct {
	Name string
	Host string
	PID  int
}

// benchRow is one measurement on both servers: index 0 is stevedore,
// 1 distribution.
type benchRow struct {
	Name, Unit string
	Value      [2][]float64 // MB/s or req/s, one per run
	CPU        [2][]float64 // server CPU-s per GiB moved (per run, for req/s rows)
	RSS        [2]int64     // the server's largest VmHWM over the runs
}

// benchImageLayout writes the benchmark's image (benchLayers layers, size
// bytes in all) as an OCI image layout at dir; see imageLayout.
func benchImageLayout(dir string, size int64) ([]descriptor, error) {
	return imageLayout(dir, benchLayers, size/benchLayers, 10)
}

// imageLayout writes an OCI image layout at dir holding one image
// (index.json → manifest → config + n incompressible layers of size bytes)
// and returns the layers. The bytes are seeded (layer i from seed+i), so
// every run with the same seed pushes the same digests.
//
// image-spec v1.1.1 image-layout.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md
func imageLayout(dir string, n int, size int64, seed byte) ([]descriptor, error) {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return nil, err
	}
	var layers []descriptor
	var diffIDs []string
	for i := range n {
		tmp := filepath.Join(dir, fmt.Sprintf("layer%d", i))
		d, err := benchSeededFile(tmp, size, seed+byte(i))
		if err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, filepath.Join(blobs, strings.TrimPrefix(d.Digest, "sha256:"))); err != nil {
			return nil, err
		}
		layers = append(layers, d)
		diffIDs = append(diffIDs, d.Digest) // uncompressed layers: the diff ID is the digest
	}
	put := func(mediaType string, v any) (descriptor, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return descriptor{}, err
		}
		d := descriptor{MediaType: mediaType, Digest: sha256Digest(b), Size: int64(len(b))}
		return d, os.WriteFile(filepath.Join(blobs, strings.TrimPrefix(d.Digest, "sha256:")), b, 0o644)
	}
	cfg, err := put("application/vnd.oci.image.config.v1+json", map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return nil, err
	}
	man, err := put("application/vnd.oci.image.manifest.v1+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        cfg,
		"layers":        layers,
	})
	if err != nil {
		return nil, err
	}
	index, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []descriptor{man},
	})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return nil, err
	}
	return layers, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// benchSeededFile writes size ChaCha8 bytes from seed (incompressible,
// reproducible) to path and returns their descriptor.
func benchSeededFile(path string, size int64, seed byte) (descriptor, error) {
	f, err := os.Create(path)
	if err != nil {
		return descriptor{}, err
	}
	h := sha256.New()
	_, err = io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(rand.NewChaCha8([32]byte{seed}), size), make([]byte, 1<<20))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return descriptor{}, err
	}
	return descriptor{
		MediaType: "application/vnd.oci.image.layer.v1.tar",
		Digest:    "sha256:" + hex.EncodeToString(h.Sum(nil)),
		Size:      size,
	}, nil
}

// wrkResult is one wrk run: throughput and latency (milliseconds).
type wrkResult struct {
	RPS, P50, P99, Max float64
}

// benchWrk runs wrk against url with benchWrkConns connections for secs
// seconds and returns its requests/s and latency distribution. Any non-2xx
// answer is an error: a fast 404 is no result.
func benchWrk(url, accept string, secs int) (wrkResult, error) {
	out, err := exec.Command("wrk", "-t", "2", "-c", strconv.Itoa(benchWrkConns), "-d", strconv.Itoa(secs)+"s", "--latency",
		"-H", "Accept: "+accept, url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return wrkResult{}, fmt.Errorf("wrk: error responses:\n%s", out)
	}
	var r wrkResult
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
	lat := regexp.MustCompile(`(?m)^\s+Latency\s+\S+\s+\S+\s+(\S+)`).FindSubmatch(out)
	p50 := regexp.MustCompile(`(?m)^\s+50%\s+(\S+)`).FindSubmatch(out)
	p99 := regexp.MustCompile(`(?m)^\s+99%\s+(\S+)`).FindSubmatch(out)
	if m == nil || lat == nil || p50 == nil || p99 == nil {
		return wrkResult{}, fmt.Errorf("wrk: no Requests/sec or latency in:\n%s", out)
	}
	r.RPS, err = strconv.ParseFloat(string(m[1]), 64)
	for _, f := range []struct {
		dst *float64
		s   []byte
	}{{&r.Max, lat[1]}, {&r.P50, p50[1]}, {&r.P99, p99[1]}} {
		if err == nil {
			*f.dst, err = wrkMillis(string(f.s))
		}
	}
	return r, err
}

// wrkMillis reads a wrk duration (850.00us, 2.95ms, 1.05s, 2.00m) in ms.
func wrkMillis(s string) (float64, error) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 1e-3}, {"ms", 1}, {"s", 1e3}, {"m", 60e3}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.ms, err
		}
	}
	return 0, fmt.Errorf("wrk duration %q", s)
}

// benchRegistryReport renders the comparison as markdown.
func benchRegistryReport(rows []benchRow, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Registry vs distribution, median of %d runs (%s)\n\n", runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s, %s. Load average at the end: %s.\n\n",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), benchVersion("crane", "version"), benchVersion("wrk", "--version"), benchLoad())
	b.WriteString("| measurement | stevedore | distribution | ours / distribution | server CPU s (ours / distribution) | peak RSS (ours / distribution) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		ours, theirs := benchMedian(r.Value[0]), benchMedian(r.Value[1])
		cpuUnit := "per GiB"
		if r.Unit == "req/s" {
			cpuUnit = "per run"
		}
		fmt.Fprintf(&b, "| %s | %.0f %s | %.0f %s | **%.2f×** | %.2f / %.2f %s | %d / %d MiB |\n",
			r.Name, ours, r.Unit, theirs, r.Unit, ours/theirs,
			benchMedian(r.CPU[0]), benchMedian(r.CPU[1]), cpuUnit, r.RSS[0]>>20, r.RSS[1]>>20)
	}
	b.WriteString("\nRuns (stevedore | distribution):\n\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "- %s: %s | %s\n", r.Name, benchJoin(r.Value[0]), benchJoin(r.Value[1]))
	}
	return b.String()
}

func benchJoin(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(s, ", ")
}

// benchLatencyReport renders the wrk runs' latency beside their req/s: the
// median of each column over the runs of each server.
func benchLatencyReport(lat [2][]wrkResult) string {
	var b strings.Builder
	b.WriteString("\nManifest GET latency (wrk, median over the runs):\n\n")
	b.WriteString("| server | req/s | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n")
	for i, name := range []string{"stevedore", "distribution"} {
		col := func(f func(wrkResult) float64) float64 {
			var xs []float64
			for _, r := range lat[i] {
				xs = append(xs, f(r))
			}
			return benchMedian(xs)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f ms | %.2f ms | %.1f ms |\n", name,
			col(func(r wrkResult) float64 { return r.RPS }), col(func(r wrkResult) float64 { return r.P50 }),
			col(func(r wrkResult) float64 { return r.P99 }), col(func(r wrkResult) float64 { return r.Max }))
	}
	b.WriteString("\nRuns (req/s, p50 / p99 / max ms):\n\n")
	for i, name := range []string{"stevedore", "distribution"} {
		var runs []string
		for _, r := range lat[i] {
			runs = append(runs, fmt.Sprintf("%.0f (%.2f / %.1f / %.0f)", r.RPS, r.P50, r.P99, r.Max))
		}
		fmt.Fprintf(&b, "- %s: %s\n", name, strings.Join(runs, ", "))
	}
	return b.String()
}

// TestBenchManifestGET is the manifest GET part of TestBenchRegistry on its
// own, quick to repeat while working on tail latency: a small image pushed
// to a fresh stevedore serve and a fresh distribution, then wrk at 64
// connections on each, alternating, STEVEDORE_BENCH_RUNS times (default 5)
// of STEVEDORE_BENCH_SECONDS (default 10). It reports req/s, p50, p99 and
// max; it never fails on timing.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchManifestGET$' -v ./integration/
func TestBenchManifestGET(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	needTools(t, "crane", "wrk")
	runs, secs := benchRunCount(5), benchEnvInt("STEVEDORE_BENCH_SECONDS", benchWrkSeconds)
	dist, err := startDistribution(t, "registry-bench-manifest", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ours, err := startStevedore(t, "stevedore-serve-bench-manifest", serveOptions{Args: []string{"--log-level", "warn"}})
	if err != nil {
		t.Fatal(err)
	}
	hosts := [2]string{ours.Registry, dist.Host}
	for _, h := range hosts {
		cranePushRandom(t, h+"/bench/app:v1", 1<<20)
	}
	var lat [2][]wrkResult
	for i := range runs {
		for j, h := range hosts {
			r, err := benchWrk("http://"+h+"/v2/bench/app/manifests/v1", "application/vnd.oci.image.manifest.v1+json", secs)
			if err != nil {
				t.Fatalf("run %d: %v", i+1, err)
			}
			lat[j] = append(lat[j], r)
		}
	}
	report := fmt.Sprintf("\n### Manifest GET by tag, wrk -t2 -c%d -d%ds, %d runs each, alternating (%s)\n\nLoad average at the end: %s.\n",
		benchWrkConns, secs, runs, time.Now().UTC().Format("2006-01-02"), benchLoad()) + benchLatencyReport(lat)
	fmt.Print(report)
	rps := func(rs []wrkResult) float64 {
		return benchMedian(benchSamples(rs, func(r wrkResult) float64 { return r.RPS }))
	}
	benchRatio(t, "manifest GET by tag (wrk)", "distribution", rps(lat[0])/rps(lat[1]))
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}
