package integration

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// benchRuns is how many timed transfers each method gets; the report is
// their median, which one slow run (a GC, a page-cache hiccup) cannot move.
const benchRuns = 5

// benchRepo is the repository both registries hold the benchmark blob in.
const benchRepo = "bench/getblob"

// TestBenchGetBlob compares streaming one 1 GiB incompressible blob out of
// stevedore (gRPC GetBlob; its OCI port) with the CNCF distribution registry
// serving the same bytes. It reports MB/s (10^6 bytes per second), the
// median of benchRuns, with peak RSS and CPU seconds; it never fails on
// timing. It is a test rather than a Benchmark because it drives processes
// and curl, and b.N has no meaning for a fixed 1 GiB transfer.
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchGetBlob$' -v -timeout 30m ./integration/
//
// STEVEDORE_BENCH_OUT=FILE also writes the report (markdown) to FILE;
// STEVEDORE_BENCH_METHODS=REGEXP runs only the methods it matches, and
// STEVEDORE_BENCH_CPUPROFILE=FILE has our server write a CPU profile there.
// scripts/bench.sh (make bench) runs it that way; docs/BENCHMARKS.md has the numbers.
func TestBenchGetBlob(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("benchmark: set STEVEDORE_BENCH=1 (or run make bench)")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("benchmark needs curl on PATH")
	}

	src := filepath.Join(t.TempDir(), "blob")
	start := time.Now()
	blob, err := benchRandomFile(src, bigBlobSize)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d byte blob %s in %v", blob.Size, blob.Digest, time.Since(start))

	dist, err := startDistribution(t, "registry-bench", distOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var serveArgs []string
	if prof := os.Getenv("STEVEDORE_BENCH_CPUPROFILE"); prof != "" {
		serveArgs = append(serveArgs, "--cpuprofile", prof) // written when the server stops
	}
	ours, err := startStevedore(t, "stevedore-serve-bench", serveOptions{Args: serveArgs})
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes go into both registries through the same client, so
	// neither gets a head start from how its copy was written.
	for _, host := range []string{dist.Host, ours.Registry} {
		start := time.Now()
		if err := pushBenchImage(host, benchRepo, src, blob); err != nil {
			t.Fatalf("pushing to %s: %v", host, err)
		}
		t.Logf("pushed to %s in %v", host, time.Since(start))
	}

	layout := filepath.Join(ours.Data, "repos", filepath.FromSlash(benchRepo), "_oci")
	if _, err := os.Stat(layoutBlobPath(layout, blob.Digest)); err != nil {
		t.Fatalf("stevedore's OCI port stored the blob somewhere else: %v", err)
	}
	// The client is the Go client's connection (its window sizes), reading
	// the raw stream: what the server and the wire can do.
	client, err := stevedoreclient.Dial(ours.GRPC)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	grpcFrom := func(ref string, verify bool) func(io.Writer) (time.Duration, error) {
		return func(w io.Writer) (time.Duration, error) {
			before := benchSelfCPU()
			err := grpcBlobRaw(client.Images, &stevedorev1.GetBlobRequest{Ref: ref, Verify: verify}, w)
			return benchSelfCPU() - before, err
		}
	}
	stored := "store:" + benchRepo + "@" + blob.Digest
	methods := []benchMethod{
		{
			Name:   "gRPC GetBlob, store:REPO@digest (as stored)",
			Server: "stevedore",
			fetch:  grpcFrom(stored, false),
		},
		{
			Name:   "gRPC GetBlob, store:REPO@digest, verify: true",
			Server: "stevedore",
			fetch:  grpcFrom(stored, true),
		},
		{
			Name:   "gRPC GetBlob, our registry's address (127.0.0.1:PORT/REPO@digest, read in the store)",
			Server: "stevedore",
			fetch:  grpcFrom(ours.Registry+"/"+benchRepo+"@"+blob.Digest, false),
		},
		{
			Name:   "Go client OpenBlob (digest checked end to end)",
			Server: "stevedore",
			fetch: func(w io.Writer) (time.Duration, error) {
				before := benchSelfCPU()
				rc, err := client.OpenBlob(t.Context(), stored)
				if err != nil {
					return 0, err
				}
				_, err = io.Copy(w, rc)
				if cerr := rc.Close(); err == nil {
					err = cerr
				}
				return benchSelfCPU() - before, err
			},
		},
		{
			Name:   "gRPC GetBlob, proxied from distribution",
			Server: "stevedore",
			fetch:  grpcFrom(dist.Host+"/"+benchRepo+"@"+blob.Digest, false),
		},
		{
			Name:   "curl from our OCI port",
			Server: "stevedore",
			URL:    benchBlobURL(ours.Registry, benchRepo, blob.Digest),
		},
		{
			Name:   "curl from distribution",
			Server: "distribution",
			URL:    benchBlobURL(dist.Host, benchRepo, blob.Digest),
		},
	}
	if only := os.Getenv("STEVEDORE_BENCH_METHODS"); only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			t.Fatalf("STEVEDORE_BENCH_METHODS: %v", err)
		}
		methods = slices.DeleteFunc(methods, func(m benchMethod) bool { return !re.MatchString(m.Name) })
	}
	servers := map[string]int{"stevedore": ours.pid(), "distribution": dist.proc.cmd.Process.Pid}

	// One verified, untimed pass per method: it proves every path serves the
	// right bytes and leaves all copies in the page cache, so the timed runs
	// compare servers, not disks.
	for i := range methods {
		m := &methods[i]
		h := sha256.New()
		if _, err := m.run(h); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		checkSum(t, h.Sum(nil), blob)
	}

	// Rounds interleave the methods so drift in the machine's state spreads
	// over all of them instead of landing on one.
	runs := benchRuns
	if n, err := strconv.Atoi(os.Getenv("STEVEDORE_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	for round := range runs {
		for i := range methods {
			m := &methods[i]
			s, err := m.measure(servers, blob.Size)
			if err != nil {
				t.Fatalf("%s, run %d: %v", m.Name, round+1, err)
			}
			m.samples = append(m.samples, s)
		}
	}

	report := benchReport(methods, blob)
	fmt.Print(report)
	if out := os.Getenv("STEVEDORE_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// benchMethod is one way of fetching the blob: a gRPC call in this process
// (fetch) or a curl of URL.
type benchMethod struct {
	Name    string
	Server  string // the process serving it, whose RSS and CPU are recorded
	URL     string
	fetch   func(io.Writer) (time.Duration, error)
	samples []benchSample
}

// benchSample is one timed transfer.
type benchSample struct {
	MBps      float64       // 10^6 bytes per second
	PeakRSS   int64         // the serving process's VmHWM over the transfer (bytes; 0 if unknown)
	ServerCPU time.Duration // user+system time of every server process
	ClientCPU time.Duration
}

// run fetches the blob into w (curl methods use a Go GET for the untimed pass).
func (m *benchMethod) run(w io.Writer) (time.Duration, error) {
	if m.fetch != nil {
		return m.fetch(w)
	}
	resp, err := http.Get(m.URL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", m.URL, resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return 0, err
}

// measure times one transfer. Peak RSS is reset first (clear_refs, proc(5))
// so VmHWM covers this transfer only.
func (m *benchMethod) measure(servers map[string]int, size int64) (benchSample, error) {
	pid := servers[m.Server]
	resetHWM := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	cpuBefore := benchServersCPU(servers)

	var s benchSample
	if m.fetch != nil {
		start := time.Now()
		cpu, err := m.fetch(io.Discard)
		if err != nil {
			return s, err
		}
		s.MBps = float64(size) / time.Since(start).Seconds() / 1e6
		s.ClientCPU = cpu
	} else {
		var err error
		if s.MBps, s.ClientCPU, err = benchCurl(m.URL, size); err != nil {
			return s, err
		}
	}

	s.ServerCPU = benchServersCPU(servers) - cpuBefore
	if resetHWM == nil {
		s.PeakRSS, _ = vmHWM(pid)
	}
	return s, nil
}

// benchCurl downloads url to /dev/null and returns curl's own average speed.
func benchCurl(url string, size int64) (float64, time.Duration, error) {
	cmd := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{speed_download}", url)
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("curl %s: %w", url, err)
	}
	var code, n int64
	var speed float64
	if _, err := fmt.Sscan(string(out), &code, &n, &speed); err != nil {
		return 0, 0, fmt.Errorf("curl %s: parsing %q: %w", url, out, err)
	}
	if code != http.StatusOK || n != size {
		return 0, 0, fmt.Errorf("curl %s: status %d, %d bytes, want 200 and %d", url, code, n, size)
	}
	return speed / 1e6, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// benchBlobURL is the distribution-spec blob GET:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-blobs
func benchBlobURL(host, repo, digest string) string {
	return "http://" + host + "/v2/" + repo + "/blobs/" + digest
}

// benchRandomFile writes size ChaCha8 bytes (incompressible, reproducible)
// to path and returns their descriptor.
func benchRandomFile(path string, size int64) (descriptor, error) {
	f, err := os.Create(path)
	if err != nil {
		return descriptor{}, err
	}
	h := sha256.New()
	_, err = io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(rand.NewChaCha8([32]byte{2}), size), make([]byte, 1<<20))
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

// pushBenchImage pushes the layer at path, a config and a manifest tagged
// "bench" to host/repo: an image, so the repository is one any tool sees.
func pushBenchImage(host, repo, path string, layer descriptor) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := benchPushBlob(host, repo, layer.Digest, layer.Size, f); err != nil {
		return err
	}
	cfgRaw := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + layer.Digest + `"]}}`
	cfg := descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha256Digest([]byte(cfgRaw)), Size: int64(len(cfgRaw))}
	if err := benchPushBlob(host, repo, cfg.Digest, cfg.Size, strings.NewReader(cfgRaw)); err != nil {
		return err
	}
	raw, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        cfg,
		"layers":        []descriptor{layer},
	})
	if err != nil {
		return err
	}
	// distribution-spec v1.1.1 §Pushing manifests:
	// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
	req, err := http.NewRequest(http.MethodPut, "http://"+host+"/v2/"+repo+"/manifests/bench", strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	return benchDo(req, http.StatusCreated)
}

// benchPushBlob uploads size bytes from r as one monolithic PUT after a POST.
//
// distribution-spec v1.1.1 §POST then PUT:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#post-then-put
func benchPushBlob(host, repo, digest string, size int64, r io.Reader) error {
	resp, err := http.Post("http://"+host+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST upload: %s", resp.Status)
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("POST upload: Location: %w", err)
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodPut, loc.String(), r)
	if err != nil {
		return err
	}
	// NewRequest cannot know a file's length; without it the body would go chunked.
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	return benchDo(req, http.StatusCreated)
}

// benchDo sends req and wants status want; anything else is an error with the body.
func benchDo(req *http.Request, want int) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("%s %s: %s: %s", req.Method, (&url.URL{Path: req.URL.Path}).String(), resp.Status, b)
	}
	return nil
}

// benchSelfCPU is this process's user+system time so far.
func benchSelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchServersCPU sums utime and stime of the server processes.
func benchServersCPU(servers map[string]int) time.Duration {
	var total time.Duration
	for _, pid := range servers {
		d, _ := benchProcCPU(pid)
		total += d
	}
	return total
}

// benchProcCPU reads utime+stime (fields 14 and 15 of /proc/PID/stat, proc(5)),
// counted in USER_HZ ticks, which Linux fixes at 100 for userspace.
func benchProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields resume after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15 overall
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// benchMedian is the middle value (the mean of the two middle ones for an even count).
func benchMedian[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchColumn picks one measurement out of every sample.
func benchColumn[T any](ss []benchSample, f func(benchSample) T) []T {
	out := make([]T, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	return out
}

// benchReport renders the table (markdown) with each method's ratio to curl
// from distribution, the baseline the acceptance criteria name.
func benchReport(methods []benchMethod, blob descriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### GetBlob, %d MiB random blob, median of %d runs (%s)\n\n", blob.Size>>20, benchRuns, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s, %d CPUs, %s; %s, %s. Load average at the end: %s.\n\n",
		benchCPUModel(), runtime.NumCPU(), benchKernel(), runtime.Version(), benchVersion("curl", "--version"), benchLoad())
	var base float64
	for _, m := range methods {
		if m.Server == "distribution" && m.fetch == nil {
			base = benchMedian(benchColumn(m.samples, func(s benchSample) float64 { return s.MBps }))
		}
	}
	b.WriteString("| method | MB/s (median) | min–max | vs distribution | server peak RSS | server CPU s | client CPU s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range methods {
		mbps := benchColumn(m.samples, func(s benchSample) float64 { return s.MBps })
		ratio := "—"
		if base > 0 {
			ratio = fmt.Sprintf("%.2f×", benchMedian(mbps)/base)
		}
		rss := "—"
		if r := slices.Max(benchColumn(m.samples, func(s benchSample) int64 { return s.PeakRSS })); r > 0 {
			rss = fmt.Sprintf("%d MiB (%s)", r>>20, m.Server)
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f–%.0f | %s | %s | %.2f | %.2f |\n",
			m.Name, benchMedian(mbps), slices.Min(mbps), slices.Max(mbps), ratio, rss,
			benchMedian(benchColumn(m.samples, func(s benchSample) time.Duration { return s.ServerCPU })).Seconds(),
			benchMedian(benchColumn(m.samples, func(s benchSample) time.Duration { return s.ClientCPU })).Seconds())
	}
	b.WriteString("\nRuns (MB/s):\n\n")
	for _, m := range methods {
		var rs []string
		for _, s := range m.samples {
			rs = append(rs, fmt.Sprintf("%.0f", s.MBps))
		}
		fmt.Fprintf(&b, "- %s: %s\n", m.Name, strings.Join(rs, ", "))
	}
	return b.String()
}

// benchCPUModel is the first "model name" of /proc/cpuinfo.
func benchCPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// benchKernel is the running kernel's release.
func benchKernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return runtime.GOOS
	}
	return "Linux " + strings.TrimSpace(string(b))
}

// benchVersion is the first two words of a tool's version output.
func benchVersion(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		return bin + " (version unknown)"
	}
	l, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(l); len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return l
}

// benchLoad is the 1, 5 and 15 minute load averages: other work on the
// machine is the first suspect when runs disagree.
func benchLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// grpcBlobRaw streams a GetBlob into w, checking only that chunks arrive in
// order: the bytes are hashed by the untimed pass, not here.
func grpcBlobRaw(c stevedorev1.ImageServiceClient, req *stevedorev1.GetBlobRequest, w io.Writer) error {
	ctx, cancel := grpcCtx()
	defer cancel()
	var chunk []byte // each chunk is written out before the next arrives
	stream, err := c.GetBlob(ctx, req, stevedoreclient.BlobChunksInto(&chunk))
	if err != nil {
		return err
	}
	var next int64
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.GetOffset() != next {
			return fmt.Errorf("chunk at %d, want %d", m.GetOffset(), next)
		}
		if _, err := w.Write(m.GetData()); err != nil {
			return err
		}
		next += int64(len(m.GetData()))
	}
}
