package integration

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBenchRuns is how many timed runs each method gets; the report is the median.
const buildBenchRuns = 3

// TestBenchBuild compares building a one-layer image from a 1 GiB
// (STEVEDORE_BENCH_MIB) directory with stevedore (from the directory, and
// from the same directory tarred) against `crane append --oci-empty-base -f`
// of that tar, each pushing to its own repository of a fresh distribution
// registry, plus stevedore into an OCI layout. It reports wall time and peak
// RSS (the median of STEVEDORE_BENCH_RUNS, default buildBenchRuns) and never
// fails on timing, only on a peak RSS above rssLimit for stevedore: layers
// are spooled, never held in memory.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchBuild$' -v -timeout 30m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE.
func TestBenchBuild(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	size, runs := benchMiB(bigBlobSize>>20), benchRunCount(buildBenchRuns)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "rootfs")
	start := time.Now()
	if err := benchTree(dir, size); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote the %d MiB tree in %v", size>>20, time.Since(start))
	tarPath := filepath.Join(tmp, "rootfs.tar")
	start = time.Now()
	if out, err := exec.Command("tar", "-C", dir, "-cf", tarPath, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	tarTime := time.Since(start)

	dist, err := startDistribution(t, "registry-bench-build", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(tmp, "layout")
	methods := []struct {
		name string
		argv func(run int) []string
	}{
		{"stevedore build DIR → registry", func(r int) []string {
			return []string{stevedoreBin, "build", dir, "-t", fmt.Sprintf("%s/bench/sd-dir:r%d", dist.Host, r)}
		}},
		{"stevedore build TAR → registry", func(r int) []string {
			return []string{stevedoreBin, "build", tarPath, "-t", fmt.Sprintf("%s/bench/sd-tar:r%d", dist.Host, r)}
		}},
		{"crane append -f TAR → registry", func(r int) []string {
			return []string{"crane", "append", "--oci-empty-base", "-f", tarPath, "-t", fmt.Sprintf("%s/bench/crane:r%d", dist.Host, r)}
		}},
		{"stevedore build DIR → oci:DIR", func(r int) []string {
			return []string{stevedoreBin, "build", dir, "-t", fmt.Sprintf("oci:%s:r%d", layout, r)}
		}},
		{"stevedore build DIR --compress zstd → registry", func(r int) []string {
			return []string{stevedoreBin, "build", dir, "--compress", "zstd", "-t", fmt.Sprintf("%s/bench/sd-zstd:r%d", dist.Host, r)}
		}},
	}
	type sample struct {
		wall time.Duration
		rss  int64
	}
	results := make([][]sample, len(methods))
	for r := range runs {
		for i, m := range methods {
			argv := m.argv(r)
			// Each run writes a new repository or tag, but a blob the
			// registry has is not uploaded again: wipe the registry's
			// blobs so every run pushes its layer.
			os.RemoveAll(filepath.Join(dist.Root, "docker"))
			os.RemoveAll(layout)
			wall, rss, err := benchTimed(argv, filepath.Join(tmp, "time.out"))
			if err != nil {
				t.Fatal(err)
			}
			results[i] = append(results[i], sample{wall, rss})
			t.Logf("%s, run %d: %v, peak RSS %d MiB", m.name, r+1, wall, rss>>20)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n### Build: one layer from a %d MiB directory, median of %d runs (%s)\n\n", size>>20, runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s. Load average at the end: %s. ",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), "crane "+benchVersion("crane", "version"), benchLoad())
	fmt.Fprintf(&b, "Tarring the directory for crane (not counted below) took %.1f s.\n\n", tarTime.Seconds())
	b.WriteString("| method | wall time (s) | MB/s of input | peak RSS (MiB) |\n|---|---:|---:|---:|\n")
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
	craneWall := benchMedian(benchSamples(results[2], func(s sample) time.Duration { return s.wall }))
	for _, i := range []int{0, 1} {
		ours := benchMedian(benchSamples(results[i], func(s sample) time.Duration { return s.wall }))
		benchRatio(t, fmt.Sprintf("build %d MiB: %s", size>>20, methods[i].name), methods[2].name, craneWall.Seconds()/ours.Seconds())
	}
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// benchTimed runs argv and returns its wall time and peak RSS. The RSS
// comes from /usr/bin/time when there is one: a child's own rusage
// starts from the memory of the process that forked it (this test binary,
// ~25 MiB), which would floor every measurement at that.
func benchTimed(argv []string, timeOut string) (time.Duration, int64, error) {
	var cmd *exec.Cmd
	gnuTime := false
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		gnuTime = true
		cmd = exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", timeOut}, argv...)...)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	var stderr strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, io.Discard
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
	}
	wall := time.Since(start)
	if gnuTime {
		b, err := os.ReadFile(timeOut)
		if err != nil {
			return 0, 0, err
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return wall, kb << 10, err
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		return wall, 0, nil
	}
	return wall, ru.Maxrss << 10, nil
}

// benchSamples picks one measurement out of every sample.
func benchSamples[S, T any](ss []S, f func(S) T) []T {
	out := make([]T, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// benchTree writes size bytes of files under dir, 4 MiB each in 16
// directories: the first half of each file random, the second a repeated
// text, so gzip has both incompressible and compressible data to chew on,
// as in a real root filesystem of binaries and text.
func benchTree(dir string, size int64) error {
	const fileSize = 4 << 20
	rng := rand.NewChaCha8([32]byte{7})
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog 0123456789\n", fileSize/2/55+1))[:fileSize/2]
	buf := make([]byte, fileSize/2)
	for i := int64(0); i < size/fileSize; i++ {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i%16), fmt.Sprintf("f%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		rng.Read(buf)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		_, err1 := f.Write(buf)
		_, err2 := f.Write(text)
		if err := f.Close(); err1 != nil || err2 != nil || err != nil {
			return fmt.Errorf("writing %s: %v %v %v", p, err1, err2, err)
		}
	}
	return nil
}
