package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// Shape of the cache benchmark: the registry benchmark's 1 GiB image (four
// incompressible 256 MiB layers; STEVEDORE_BENCH_MIB sets the size), pulled
// through a cold cache, STEVEDORE_BENCH_RUNS times (benchCacheRuns).
const (
	benchCacheRuns       = 3 // runs per measurement; the report gives the median
	benchCacheConcurrent = 8
)

// benchCache is one way of pulling the upstream's image: directly, or
// through a pull-through cache started fresh (cold) for each measurement.
type benchCache struct {
	name string
	// start returns the host and repository prefix to pull bench/app:v1
	// from, and the cache's PID (0: none).
	start func(t *testing.T, upstream string) (host, prefix string, pid int)
}

// benchCacheRow is one measurement for each way, one value per run.
type benchCacheRow struct {
	name, unit string
	values     [][]float64 // [way][run]
	rss        []int64     // [way] largest peak RSS of the cache, bytes
}

// TestBenchCache compares stevedore's pull-through cache with the CNCF
// distribution registry's proxy mode and with pulling directly from the
// upstream (a distribution registry), in the same run, on a 1 GiB image:
//
//   - time to first byte and throughput of the first layer, cold (curl),
//   - a cold crane pull (OCI layout) and a cold skopeo copy,
//   - the same crane pull again, warm,
//   - eight concurrent cold crane pulls: wall time, and the bytes the cache
//     moved from the upstream, in images (a proxy in front of the upstream
//     counts them).
//
// Every cold measurement starts its cache afresh. All three reach the
// upstream through the same counting proxy, so the direct pull pays the
// same extra hop the caches do. Each pull's digest is checked against the
// upstream's. It never fails on timing.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchCache$' -v -timeout 60m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE;
// docs/BENCHMARKS.md has the numbers.
func TestBenchCache(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	needTools(t, "crane", "skopeo", "curl")
	runs := benchRunCount(benchCacheRuns)
	tmp := t.TempDir()
	layout := filepath.Join(tmp, "image")
	layers, err := benchImageLayout(layout, benchMiB(bigBlobSize>>20))
	if err != nil {
		t.Fatal(err)
	}
	size := imageBytes(layers)
	mib := func(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
	dist, err := startDistribution(t, "cache-bench-upstream", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	counted := newUpstreamProxy(t, dist.Host)
	want := pushLayout(t, layout, dist.Host+"/bench/app:v1")
	first := layers[0]

	ways := []benchCache{
		// Through the counting proxy too, so that all three pay its hop.
		{"direct from upstream", func(t *testing.T, up string) (string, string, int) { return up, "", 0 }},
		{"stevedore cache", func(t *testing.T, up string) (string, string, int) {
			cfg := filepath.Join(t.TempDir(), "upstreams.yaml")
			if err := os.WriteFile(cfg, []byte("upstreams:\n  - prefix: up\n    urls: [\"http://"+up+"\"]\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := startStevedore(t, "stevedore-cache-bench", serveOptions{Default: true, Args: []string{upstreamsFlag, cfg, "--log-level", "warn"}})
			if err != nil {
				t.Fatal(err)
			}
			return s.Registry, "up/", s.pid()
		}},
		{"distribution proxy", func(t *testing.T, up string) (string, string, int) {
			d, err := startDistribution(t, "distribution-proxy-bench", distOptions{RemoteURL: "http://" + up})
			if err != nil {
				t.Fatal(err)
			}
			return d.Host, "", d.proc.cmd.Process.Pid
		}},
	}
	rows := []*benchCacheRow{
		{name: "first layer (" + mib(first.Size) + "), cold: time to first byte", unit: "ms"},
		{name: "first layer (" + mib(first.Size) + "), cold: curl throughput", unit: "MB/s"},
		{name: "crane pull --format oci, " + mib(size) + ", cold", unit: "s"},
		{name: "crane pull --format oci, " + mib(size) + ", warm", unit: "s"},
		{name: "skopeo copy to oci:, " + mib(size) + ", cold", unit: "s"},
		{name: fmt.Sprintf("%d concurrent crane pulls, %s, cold: wall time", benchCacheConcurrent, mib(size)), unit: "s"},
		{name: fmt.Sprintf("%d concurrent crane pulls, cold: bytes from upstream", benchCacheConcurrent), unit: "images"},
		{name: "cache process CPU per GiB, cold crane pull", unit: "CPU-s"},
	}
	for _, r := range rows {
		r.values = make([][]float64, len(ways))
		r.rss = make([]int64, len(ways))
	}
	record := func(row, way int, v float64, pid int) {
		rows[row].values[way] = append(rows[row].values[way], v)
		if pid > 0 {
			if rss, err := vmHWM(pid); err == nil {
				rows[row].rss[way] = max(rows[row].rss[way], rss)
			}
		}
	}
	checkDigest := func(host, ref string) {
		if got := strings.TrimSpace(string(crane(t, "digest", "--insecure", host+"/"+ref))); got != want {
			t.Fatalf("%s/%s: digest %s, want %s", host, ref, got, want)
		}
	}

	for run := range runs {
		for w, way := range ways {
			t.Run(fmt.Sprintf("%s/run%d", way.name, run+1), func(t *testing.T) {
				// Time to first byte and throughput of a cold layer.
				host, prefix, pid := way.start(t, counted.Host)
				out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{time_total}",
					benchBlobURL(host, prefix+"bench/app", first.Digest)).Output()
				if err != nil {
					t.Fatalf("curl: %v", err)
				}
				var code int
				var ttfb, total float64
				if _, err := fmt.Sscan(string(out), &code, &ttfb, &total); err != nil || code != 200 {
					t.Fatalf("curl: %q", out)
				}
				record(0, w, ttfb*1000, pid)
				record(1, w, float64(first.Size)/total/1e6, pid)

				// crane, cold then warm.
				host, prefix, pid = way.start(t, counted.Host)
				ref := prefix + "bench/app:v1"
				for _, row := range []int{2, 3} {
					dir := filepath.Join(t.TempDir(), "pull")
					cpu0, _ := benchProcCPU(pid)
					t0 := time.Now()
					crane(t, "pull", "--insecure", "--format", "oci", host+"/"+ref, dir)
					record(row, w, time.Since(t0).Seconds(), pid)
					if cpu1, err := benchProcCPU(pid); row == 2 && err == nil && pid > 0 {
						record(7, w, (cpu1-cpu0).Seconds()/(float64(size)/(1<<30)), pid)
					} else if row == 2 {
						record(7, w, 0, 0) // no cache process
					}
					os.RemoveAll(dir)
				}
				checkDigest(host, ref)

				// skopeo, cold.
				host, prefix, pid = way.start(t, counted.Host)
				ref = prefix + "bench/app:v1"
				dir := filepath.Join(t.TempDir(), "skopeo")
				t0 := time.Now()
				mustRun(t, nil, "skopeo", "copy", "--preserve-digests", "--src-tls-verify=false", "docker://"+host+"/"+ref, "oci:"+dir+":v1")
				record(4, w, time.Since(t0).Seconds(), pid)
				os.RemoveAll(dir)

				// Eight at once, cold; what crossed from the upstream.
				host, prefix, pid = way.start(t, counted.Host)
				ref = prefix + "bench/app:v1"
				counted.taken()
				var g errgroup.Group
				t0 = time.Now()
				for i := range benchCacheConcurrent {
					g.Go(func() error {
						dir := filepath.Join(t.TempDir(), fmt.Sprint("c", i))
						defer os.RemoveAll(dir)
						out, err := exec.Command("crane", "pull", "--insecure", "--format", "oci", host+"/"+ref, dir).CombinedOutput()
						if err != nil {
							return fmt.Errorf("crane pull %d: %v: %s", i, err, out)
						}
						return nil
					})
				}
				if err := g.Wait(); err != nil {
					t.Fatal(err)
				}
				record(5, w, time.Since(t0).Seconds(), pid)
				record(6, w, float64(counted.taken())/float64(size), pid)
				checkDigest(host, ref)
			})
		}
	}

	report := benchCacheReport(ways, rows, runs)
	fmt.Print(report)
	// Against distribution's proxy (ways[2]); MB/s is better higher, the
	// rest (times, bytes from upstream, CPU) lower.
	for _, r := range rows {
		ours, theirs := benchMedian(r.values[1]), benchMedian(r.values[2])
		if r.unit == "MB/s" {
			ours, theirs = theirs, ours
		}
		benchRatio(t, "cache: "+r.name, ways[2].name, theirs/ours)
	}
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// benchCacheReport renders the comparison as markdown, each cache's
// median beside the direct pull's and as a ratio to it.
func benchCacheReport(ways []benchCache, rows []*benchCacheRow, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Pull-through cache: stevedore vs distribution's proxy vs direct, median of %d runs (%s)\n\n", runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s, %s. Load average at the end: %s.\n\n",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), "crane "+benchVersion("crane", "version"),
		strings.TrimSpace(string(benchOutput("skopeo", "--version"))), benchLoad())
	b.WriteString("| measurement |")
	for _, w := range ways {
		b.WriteString(" " + w.name + " |")
	}
	b.WriteString("\n|---|")
	for range ways {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s |", r.name)
		base := benchMedian(r.values[0])
		for w := range ways {
			v := benchMedian(r.values[w])
			fmt.Fprintf(&b, " %.2f %s", v, r.unit)
			if w > 0 && base > 0 && r.unit != "images" {
				fmt.Fprintf(&b, " (%.2f×)", v/base)
			}
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\nPeak RSS of the cache process over the runs (stevedore / distribution proxy): ")
	var peak [2]int64
	for _, r := range rows {
		peak[0], peak[1] = max(peak[0], r.rss[1]), max(peak[1], r.rss[2])
	}
	fmt.Fprintf(&b, "%d / %d MiB.\n\nRuns:\n\n", peak[0]>>20, peak[1]>>20)
	for _, r := range rows {
		fmt.Fprintf(&b, "- %s:", r.name)
		for w, way := range ways {
			s := make([]string, len(r.values[w]))
			for i, v := range r.values[w] {
				s[i] = fmt.Sprintf("%.2f", v)
			}
			fmt.Fprintf(&b, " %s %s;", way.name, strings.Join(s, ", "))
		}
		b.WriteString("\n")
	}
	return b.String()
}
