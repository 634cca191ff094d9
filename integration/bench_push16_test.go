package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Shape of the concurrent push benchmark: 16 crane clients at once, each
// pushing its own image of 4 incompressible layers.
const (
	push16Clients = 16
	push16Layers  = 4
)

// push16Image is one client's image: its layout and what the registry must
// hold once the push is done.
type push16Image struct {
	Layout   string
	Manifest string // the manifest's digest
	Size     int64  // bytes of its layers
}

// push16Run is one batch of 16 pushes against one fresh registry.
type push16Run struct {
	Wall      time.Duration // from starting the 16 cranes until the last exits
	ServerCPU time.Duration // the registry's utime+stime over the batch
	ClientCPU time.Duration // the 16 cranes' utime+stime
	RSS       int64         // the registry's VmHWM at the end of the batch
	Load      string        // load average when the batch ended
}

// TestBenchPush16 measures a registry taking pushes from 16 clients at once,
// stevedore's OCI port (`stevedore serve`, filesystem store) against the CNCF
// distribution registry (filesystem driver): 16 `crane push` processes
// started together, each pushing its own image of 4 incompressible layers
// into its own repository, 1 GiB in all (STEVEDORE_BENCH_MIB; 64 MiB per
// image). Each run starts a fresh registry of each kind, alternating, so no
// blob is already there, and stops it after the batch. It reports the
// batch's wall time (median and min–max of STEVEDORE_BENCH_RUNS runs, 3),
// aggregate MB/s (10^6 bytes/s), the registry's CPU seconds and peak RSS,
// the clients' CPU seconds, the load average, and the ratio against
// distribution. Every manifest is checked by digest after each batch. It
// never fails on timing.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchPush16$' -v -timeout 30m ./integration/
//
// STEVEDORE_BENCH_PROFILE=DIR has each of our registries write its CPU
// profile (serve --cpuprofile, written when it stops) to
// DIR/push16-RUN.pprof; STEVEDORE_BENCH_OUT=FILE writes the report
// (markdown) to FILE.
func TestBenchPush16(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	needTools(t, "crane", "registry")
	total, runs := benchMiB(bigBlobSize>>20), benchRunCount(benchRegRuns)
	layerSize := max(total/(push16Clients*push16Layers), 1)
	tmp := t.TempDir()
	start := time.Now()
	var images []push16Image
	for i := range push16Clients {
		img, err := push16Layout(filepath.Join(tmp, fmt.Sprintf("image%02d", i)), layerSize, byte(100+push16Layers*i))
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, img)
	}
	var bytes int64
	for _, img := range images {
		bytes += img.Size
	}
	t.Logf("generated %d images, %d MiB in all, in %v", len(images), bytes>>20, time.Since(start))
	profDir := os.Getenv("STEVEDORE_BENCH_PROFILE")

	names := [2]string{"stevedore", "distribution"}
	var res [2][]push16Run
	loadStart := benchLoad()
	for run := range runs {
		for j, name := range names {
			var host string
			var pid int
			var stop func()
			if name == "stevedore" {
				args := []string{"--log-level", "warn"}
				if profDir != "" {
					args = append(args, "--cpuprofile", filepath.Join(profDir, fmt.Sprintf("push16-%d.pprof", run+1)))
				}
				s, err := startStevedore(t, fmt.Sprintf("stevedore-push16-%d", run+1), serveOptions{Args: args})
				if err != nil {
					t.Fatal(err)
				}
				host, pid = s.Registry, s.pid()
				stop = func() { s.proc.stop(); os.RemoveAll(s.Data) }
			} else {
				d, err := startDistribution(t, fmt.Sprintf("registry-push16-%d", run+1), distOptions{})
				if err != nil {
					t.Fatal(err)
				}
				host, pid = d.Host, d.proc.cmd.Process.Pid
				stop = func() { d.proc.stop(); os.RemoveAll(d.Root) }
			}
			r, err := push16Batch(host, pid, images)
			stop() // writes our CPU profile; the next run starts empty
			if err != nil {
				t.Fatalf("%s, run %d: %v", name, run+1, err)
			}
			t.Logf("%s, run %d: %.2f s, %.0f MB/s, server CPU %.2f s, clients CPU %.2f s, peak RSS %d MiB, load %s",
				name, run+1, r.Wall.Seconds(), float64(bytes)/r.Wall.Seconds()/1e6, r.ServerCPU.Seconds(), r.ClientCPU.Seconds(), r.RSS>>20, r.Load)
			res[j] = append(res[j], r)
		}
	}

	report := push16Report(res, bytes, runs, loadStart)
	fmt.Print(report)
	wall := func(rs []push16Run) time.Duration {
		return benchMedian(benchSamples(rs, func(r push16Run) time.Duration { return r.Wall }))
	}
	benchRatio(t, fmt.Sprintf("registry: push, %d concurrent crane clients, %d MiB", push16Clients, bytes>>20), "distribution",
		wall(res[1]).Seconds()/wall(res[0]).Seconds())
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// push16Layout writes one client's image (push16Layers layers of layerSize
// bytes from seed) as an OCI layout at dir.
func push16Layout(dir string, layerSize int64, seed byte) (push16Image, error) {
	layers, err := imageLayout(dir, push16Layers, layerSize, seed)
	if err != nil {
		return push16Image{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return push16Image{}, err
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(b, &index); err != nil || len(index.Manifests) != 1 {
		return push16Image{}, fmt.Errorf("%s/index.json: want one manifest (%v)", dir, err)
	}
	img := push16Image{Layout: dir, Manifest: index.Manifests[0].Digest}
	for _, l := range layers {
		img.Size += l.Size
	}
	return img, nil
}

// push16Batch starts one crane push per image against host at once, image
// i into repository bench/push16-i, waits for all, and reads the
// registry's (pid) CPU and peak RSS. Then it checks that every tag names
// the manifest pushed.
func push16Batch(host string, pid int, images []push16Image) (push16Run, error) {
	cpu0, err := benchProcCPU(pid)
	if err != nil {
		return push16Run{}, err
	}
	ref := func(i int) string { return fmt.Sprintf("%s/bench/push16-%02d:v1", host, i) }
	cmds := make([]*exec.Cmd, len(images))
	outs := make([]strings.Builder, len(images))
	var wg sync.WaitGroup
	errs := make([]error, len(images))
	t0 := time.Now()
	for i, img := range images {
		cmds[i] = exec.Command("crane", "push", "--insecure", img.Layout, ref(i))
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if errs[i] = cmds[i].Start(); errs[i] != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmds[i].Wait()
		}()
	}
	wg.Wait()
	r := push16Run{Wall: time.Since(t0), Load: benchLoad()}
	cpu1, _ := benchProcCPU(pid)
	r.ServerCPU = cpu1 - cpu0
	r.RSS, _ = vmHWM(pid)
	for i, c := range cmds {
		if errs[i] != nil {
			return r, fmt.Errorf("crane push %s: %v: %s", ref(i), errs[i], outs[i].String())
		}
		r.ClientCPU += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	for i, img := range images {
		if err := push16Check(host, fmt.Sprintf("bench/push16-%02d", i), img.Manifest); err != nil {
			return r, err
		}
	}
	return r, nil
}

// push16Check HEADs repo's tag v1 on host and wants the manifest digest d.
//
// distribution-spec v1.1.1 §Checking if content exists in the registry:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func push16Check(host, repo, d string) error {
	req, err := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/v1", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); resp.StatusCode != http.StatusOK || got != d {
		return fmt.Errorf("HEAD %s:v1: %s, digest %q, want %s", repo, resp.Status, got, d)
	}
	return nil
}

// push16Report renders the comparison as markdown: per server the median
// and min–max wall time, aggregate MB/s, CPU and RSS, then every run.
func push16Report(res [2][]push16Run, bytes int64, runs int, loadStart string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Push under %d concurrent clients, %d MiB (%d × %d layers), median of %d runs (%s)\n\n",
		push16Clients, bytes>>20, push16Clients, push16Layers, runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s. Load average at the start: %s; at the end: %s.\n\n",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), "crane "+benchVersion("crane", "version"), loadStart, benchLoad())
	b.WriteString("| server | batch wall (median) | min–max | aggregate MB/s | server CPU s | clients' CPU s | server peak RSS |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	var walls [2]float64
	for j, name := range []string{"stevedore", "distribution"} {
		w := benchSamples(res[j], func(r push16Run) time.Duration { return r.Wall })
		m := benchMedian(w).Seconds()
		walls[j] = m
		fmt.Fprintf(&b, "| %s | %.2f s | %.2f–%.2f s | %.0f | %.2f | %.2f | %d MiB |\n", name, m,
			slices.Min(w).Seconds(), slices.Max(w).Seconds(), float64(bytes)/m/1e6,
			benchMedian(benchSamples(res[j], func(r push16Run) time.Duration { return r.ServerCPU })).Seconds(),
			benchMedian(benchSamples(res[j], func(r push16Run) time.Duration { return r.ClientCPU })).Seconds(),
			slices.Max(benchSamples(res[j], func(r push16Run) int64 { return r.RSS }))>>20)
	}
	fmt.Fprintf(&b, "\nstevedore / distribution: **%.2f×** (distribution's wall time over ours).\n", walls[1]/walls[0])
	b.WriteString("\nRuns (wall s, server CPU s, peak RSS MiB, load average at the end):\n\n")
	for j, name := range []string{"stevedore", "distribution"} {
		var rs []string
		for _, r := range res[j] {
			rs = append(rs, fmt.Sprintf("%.2f / %.2f / %d (%s)", r.Wall.Seconds(), r.ServerCPU.Seconds(), r.RSS>>20, r.Load))
		}
		fmt.Fprintf(&b, "- %s: %s\n", name, strings.Join(rs, "; "))
	}
	return b.String()
}
