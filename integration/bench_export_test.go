package integration

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// exportBenchRuns is how many timed runs each method gets; the report is the median.
const exportBenchRuns = 3

// TestBenchExport compares exporting the merged root filesystem of a
// one-layer image built from a 1 GiB (STEVEDORE_BENCH_MIB) directory with
// `stevedore export` against `crane export` of the same image from the same
// distribution registry, plus stevedore from an OCI layout (no download at
// all). Both tools run under /usr/bin/time so their peak RSS is measured
// alike. It reports wall time and peak RSS (median of STEVEDORE_BENCH_RUNS,
// default exportBenchRuns), checks once that both tars hold the same regular
// files with the same sizes, and fails only on a stevedore peak RSS above rssLimit: layers are streamed
// (from a registry, spooled to a temp file), never held in memory.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchExport$' -v -timeout 30m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE.
func TestBenchExport(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	size, runs := benchMiB(bigBlobSize>>20), benchRunCount(exportBenchRuns)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "rootfs")
	if err := benchTree(dir, size); err != nil {
		t.Fatal(err)
	}
	dist, err := startDistribution(t, "registry-bench-export", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := dist.Host + "/bench/export:v1"
	layout := filepath.Join(tmp, "layout")
	for _, dst := range []string{ref, "oci:" + layout + ":v1"} {
		if out, err := exec.Command(stevedoreBin, "build", dir, "-t", dst).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v: %s", dst, err, out)
		}
	}
	os.RemoveAll(dir) // the page cache should hold the layer, not the tree

	out := filepath.Join(tmp, "out.tar")
	methods := []struct {
		name string
		argv []string
	}{
		{"stevedore export (registry)", []string{stevedoreBin, "export", ref, "-o", out}},
		{"crane export (registry)", []string{"crane", "export", ref, out}},
		{"stevedore export (oci: layout)", []string{stevedoreBin, "export", "oci:" + layout + ":v1", "-o", out}},
	}
	type sample struct {
		wall time.Duration
		rss  int64
	}
	results := make([][]sample, len(methods))
	var sums []map[string]int64
	for r := range runs {
		for i, m := range methods {
			os.Remove(out)
			wall, rss, err := benchTimed(m.argv, filepath.Join(tmp, "time.out"))
			if err != nil {
				t.Fatal(err)
			}
			results[i] = append(results[i], sample{wall, rss})
			t.Logf("%s, run %d: %v, peak RSS %d MiB", m.name, r+1, wall, rss>>20)
			if r == 0 && i < 2 {
				s, err := tarFileSizes(out)
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				sums = append(sums, s)
			}
		}
	}
	if len(sums) == 2 {
		if d := diffSizes(sums[0], sums[1]); d != "" {
			t.Errorf("stevedore and crane exports differ: %s", d)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n### Export: the merged rootfs of a %d MiB one-layer image, median of %d runs (%s)\n\n", size>>20, runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s. Load average at the end: %s.\n\n",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), "crane "+benchVersion("crane", "version"), benchLoad())
	b.WriteString("| method | wall time (s) | MB/s of rootfs | peak RSS (MiB) |\n|---|---:|---:|---:|\n")
	for i, m := range methods {
		wall := benchMedian(benchSamples(results[i], func(s sample) time.Duration { return s.wall }))
		rss := benchMedian(benchSamples(results[i], func(s sample) int64 { return s.rss }))
		fmt.Fprintf(&b, "| %s | %.1f | %.0f | %d |\n", m.name, wall.Seconds(), float64(size)/1e6/wall.Seconds(), rss>>20)
		if strings.HasPrefix(m.name, "stevedore") && rss >= rssLimit {
			t.Errorf("%s: peak RSS %d MiB, want < %d MiB", m.name, rss>>20, rssLimit>>20)
		}
	}
	report := b.String()
	fmt.Print(report)
	wall := func(i int) float64 {
		return benchMedian(benchSamples(results[i], func(s sample) time.Duration { return s.wall })).Seconds()
	}
	benchRatio(t, fmt.Sprintf("export %d MiB: %s", size>>20, methods[0].name), methods[1].name, wall(1)/wall(0))
	if p := os.Getenv("STEVEDORE_BENCH_OUT"); p != "" {
		if err := os.WriteFile(p, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// tarFileSizes maps each regular file of the tar at p (name without a
// leading "./" or "/") to its size.
func tarFileSizes(p string) (map[string]int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			out[strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = h.Size
		}
	}
}

// diffSizes describes the first difference between two file-size maps, or "".
func diffSizes(a, b map[string]int64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d regular files vs %d", len(a), len(b))
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return fmt.Sprintf("%s: %d bytes vs %d (present: %v)", k, v, w, ok)
		}
	}
	return ""
}
