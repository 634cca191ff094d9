package integration

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"
)

// replicaTarget is one registry of the replicas benchmark.
type replicaTarget struct {
	name string
	host string
	pids []int // the registry and, on S3, the gateway: their CPU is the push's cost
}

// replicaRow is one (target, push style) line of the report.
type replicaRow struct {
	target     replicaTarget
	monolithic bool            // POST then PUT with the body; else POST, PATCH, PUT
	push, pull []time.Duration // one per run; pull only after the PATCH push
	put        []time.Duration // the closing PUT alone
	cpu        []time.Duration // registry + gateway CPU during the push
	pullCPU    []time.Duration // and during the pull
	redirect   *replicaTarget  // also pull through this one (presigned redirects)
	redirPull  []time.Duration // pulls through redirect
}

// TestBenchReplicas measures pushing and pulling one blob of 1 GiB of
// incompressible bytes (STEVEDORE_BENCH_REPLICAS_MIB changes the size)
// through stevedore on its filesystem store, one stevedore replica on S3, and
// the CNCF distribution registry on the same S3 server with its own S3
// driver: median and min–max of STEVEDORE_BENCH_RUNS runs (3), each run a
// fresh blob, pushed as docker, containerd and crane push (POST, one
// streamed PATCH with its length, PUT ?digest=) and as oras pushes (POST,
// PUT with the body), and pulled by GET (counted, not hashed: see
// replicaPull). Then three distinct blobs through three S3 replicas at
// once, each pulled back, hashed, through another. One more push and pull
// per S3 registry goes through a counting proxy in front of the gateway, for
// the S3 requests and bytes each costs. STEVEDORE_BENCH_PROFILE=DIR writes
// the S3 replica's CPU profile (serve --cpuprofile) to DIR/replica.pprof.
// The S3 server is versitygw (posix backend) on the same disk and CPUs. It
// reports, never fails on time. Gated:
//
//	STEVEDORE_BENCH=1 go test -run '^TestBenchReplicas$' -v -timeout 60m ./integration/
func TestBenchReplicas(t *testing.T) {
	if os.Getenv("STEVEDORE_BENCH") != "1" {
		t.Skip("set STEVEDORE_BENCH=1 to run benchmarks")
	}
	needTools(t, "versitygw", "registry")
	size := int64(benchEnvInt("STEVEDORE_BENCH_REPLICAS_MIB", int(benchMiB(1024)>>20))) << 20
	runs := benchEnvInt("STEVEDORE_BENCH_RUNS", 3)
	loadStart := benchLoad()
	gw, err := startVersity(t, "versitygw-bench")
	if err != nil {
		t.Fatal(err)
	}
	sdBucket, distBucket := gw.bucket(t), gw.bucket(t)
	fsReg, err := startStevedore(t, "bench-fs", serveOptions{Args: []string{"--log-level", "warn"}})
	if err != nil {
		t.Fatal(err)
	}
	var profile []string
	if dir := os.Getenv("STEVEDORE_BENCH_PROFILE"); dir != "" {
		profile = []string{"--cpuprofile", filepath.Join(dir, "replica.pprof")}
	}
	rep := s3Replicas(t, gw, sdBucket, 1, profile...)[0]
	repRedirect := s3Replicas(t, gw, sdBucket, 1, "--blob-redirect")[0]
	distOpts := func(endpoint string, redirect bool) distOptions {
		return distOptions{S3: &distS3{Endpoint: endpoint, AccessKey: gw.AccessKey, SecretKey: gw.SecretKey, Bucket: distBucket, Redirect: redirect}}
	}
	dist, err := startDistribution(t, "dist-s3", distOpts(gw.Endpoint, false))
	if err != nil {
		t.Fatal(err)
	}
	distRedirect, err := startDistribution(t, "dist-s3-redirect", distOpts(gw.Endpoint, true))
	if err != nil {
		t.Fatal(err)
	}
	gwPID := gw.proc.cmd.Process.Pid
	fsT := replicaTarget{name: "stevedore, filesystem", host: fsReg.Registry, pids: []int{fsReg.pid()}}
	s3T := replicaTarget{name: "stevedore, 1 S3 replica", host: rep.Registry, pids: []int{rep.pid(), gwPID}}
	distT := replicaTarget{name: "distribution, S3 driver", host: dist.Host, pids: []int{dist.proc.cmd.Process.Pid, gwPID}}
	s3Redir := replicaTarget{name: "stevedore --blob-redirect", host: repRedirect.Registry}
	distRedir := replicaTarget{name: "distribution (redirect)", host: distRedirect.Host}
	rows := []*replicaRow{
		{target: fsT}, {target: s3T, redirect: &s3Redir}, {target: distT, redirect: &distRedir},
		{target: fsT, monolithic: true}, {target: s3T, monolithic: true}, {target: distT, monolithic: true},
	}

	// Every push is of a blob no registry has seen; the digests are
	// computed before any clock runs.
	seed := func(row, run int) uint64 { return uint64(1000 + 100*row + run) }
	want := map[uint64]digest.Digest{}
	for r := range rows {
		for run := range runs {
			want[seed(r, run)] = digestOf(t, seed(r, run), size)
		}
	}
	for run := range runs {
		for r, row := range rows {
			s := seed(r, run)
			cpu0 := replicaCPU(row.target.pids)
			push, put, err := replicaPush(row.target.host, "bench/blob", want[s], s, size, row.monolithic)
			if err != nil {
				t.Fatalf("%s: push: %v", row.target.name, err)
			}
			row.push, row.put = append(row.push, push), append(row.put, put)
			row.cpu = append(row.cpu, replicaCPU(row.target.pids)-cpu0)
			if row.monolithic {
				continue
			}
			cpu0 = replicaCPU(row.target.pids)
			pull, err := replicaPull(row.target.host, "bench/blob", want[s], size, false)
			if err != nil {
				t.Fatalf("%s: pull: %v", row.target.name, err)
			}
			row.pull = append(row.pull, pull)
			row.pullCPU = append(row.pullCPU, replicaCPU(row.target.pids)-cpu0)
			if row.redirect != nil {
				pull, err := replicaPull(row.redirect.host, "bench/blob", want[s], size, false)
				if err != nil {
					t.Fatalf("%s: pull: %v", row.redirect.name, err)
				}
				row.redirPull = append(row.redirPull, pull)
			}
		}
		// Keep the disk from filling: each run's blobs are not needed again.
		emptyBucket(t, gw, sdBucket)
		emptyBucket(t, gw, distBucket)
	}
	loadEnd := benchLoad()
	t.Log(replicaReport(t, rows, size, runs, loadStart, loadEnd))

	// S3 requests and bytes of one push and pull, through a counting proxy.
	counter := newS3Counter(t, gw.Endpoint)
	counted := []replicaTarget{
		{name: "stevedore, 1 S3 replica", host: s3Replicas(t, gw, sdBucket, 1, "--s3-endpoint", counter.URL)[0].Registry},
	}
	distCounted, err := startDistribution(t, "dist-s3-counted", distOpts(counter.URL, false))
	if err != nil {
		t.Fatal(err)
	}
	counted = append(counted, replicaTarget{name: "distribution, S3 driver", host: distCounted.Host})
	var b strings.Builder
	for i, ct := range counted {
		for _, mono := range []bool{false, true} {
			s := uint64(9000 + 10*i)
			if mono {
				s++
			}
			d := digestOf(t, s, size)
			counter.take()
			if _, _, err := replicaPush(ct.host, "bench/counted", d, s, size, mono); err != nil {
				t.Fatalf("%s: counted push: %v", ct.name, err)
			}
			style := "POST, PATCH, PUT"
			if mono {
				style = "POST, PUT with body"
			}
			fmt.Fprintf(&b, "\n%s, push (%s):\n%s", ct.name, style, counter.take())
			if mono {
				continue
			}
			if _, err := replicaPull(ct.host, "bench/counted", d, size, true); err != nil {
				t.Fatalf("%s: counted pull: %v", ct.name, err)
			}
			fmt.Fprintf(&b, "%s, pull:\n%s", ct.name, counter.take())
		}
	}
	t.Logf("S3 requests per 1 push / 1 pull of %d MiB:\n%s", size>>20, b.String())
	emptyBucket(t, gw, sdBucket)
	emptyBucket(t, gw, distBucket)

	// Three replicas at once, each blob pulled through another replica.
	reps := append([]*stevedoreServer{rep}, s3Replicas(t, gw, sdBucket, 2)...)
	var three [3]digest.Digest
	for i := range three {
		three[i] = digestOf(t, uint64(10+i), size)
	}
	var wg sync.WaitGroup
	res := make([][2]time.Duration, 3)
	start := time.Now()
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, d := uint64(10+i), three[i]
			push, _, err := replicaPush(reps[i].Registry, "bench/three", d, s, size, false)
			if err != nil {
				t.Errorf("replica %d: push: %v", i, err)
				return
			}
			pull, err := replicaPull(reps[(i+1)%3].Registry, "bench/three", d, size, true)
			if err != nil {
				t.Errorf("replica %d: pull: %v", i, err)
			}
			res[i] = [2]time.Duration{push, pull}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	for i, r := range res {
		t.Logf("S3, 3 replicas at once, #%d: push %6.2fs  pull %6.2fs", i, r[0].Seconds(), r[1].Seconds())
	}
	t.Logf("S3, 3 replicas at once: 3 × %d MiB pushed and pulled in %.2fs; load average %s", size>>20, wall.Seconds(), benchLoad())
}

// replicaPush pushes size bytes of randReader(seed), whose digest is d, to
// repo on host as a client does: POST, then either one PATCH streaming the
// body with its length and an empty PUT ?digest=, or a PUT ?digest= carrying
// the body (monolithic). It returns the time from POST to the 201, and that
// of the PUT alone.
func replicaPush(host, repo string, d digest.Digest, seed uint64, size int64, monolithic bool) (time.Duration, time.Duration, error) {
	start := time.Now()
	resp, err := http.Post("http://"+host+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return 0, 0, fmt.Errorf("POST: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return 0, 0, err
	}
	u := (&url.URL{Scheme: "http", Host: host}).ResolveReference(loc)
	body := io.LimitReader(randReader(seed), size)
	if !monolithic {
		req, _ := http.NewRequest(http.MethodPatch, u.String(), body)
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, fmt.Errorf("PATCH: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return 0, 0, fmt.Errorf("PATCH: %s", resp.Status)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return 0, 0, err
		}
		u = u.ResolveReference(loc)
		body = nil
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodPut, u.String(), body)
	if monolithic {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	putStart := time.Now()
	if err := benchDo(req, http.StatusCreated); err != nil {
		return 0, 0, fmt.Errorf("PUT: %w", err)
	}
	return time.Since(start), time.Since(putStart), nil
}

// replicaPull GETs blob d of repo, size bytes, from host (following a
// redirect) and returns the time taken. The timed pulls only count the
// bytes: hashing them here would make the client, not the registry, the
// bottleneck on two CPUs (sha256 runs at about 1.2 GB/s); verify hashes
// them, for the pulls that check the content.
func replicaPull(host, repo string, d digest.Digest, size int64, verify bool) (time.Duration, error) {
	start := time.Now()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET: %s", resp.Status)
	}
	if !verify {
		n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 1<<20))
		if err == nil && n != size {
			err = fmt.Errorf("GET returned %d bytes, want %d", n, size)
		}
		return time.Since(start), err
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, resp.Body, make([]byte, 1<<20)); err != nil {
		return 0, err
	}
	if got := digest.NewDigest(digest.SHA256, h); got != d {
		return 0, fmt.Errorf("GET returned %s, want %s", got, d)
	}
	return time.Since(start), nil
}

// replicaCPU sums the CPU time of pids so far.
func replicaCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		d, _ := benchProcCPU(pid)
		total += d
	}
	return total
}

// emptyBucket deletes every object of bucket behind the registries' backs.
func emptyBucket(t *testing.T, gw *versityGW, bucket string) {
	t.Helper()
	objs, _ := gw.keys(t, bucket)
	for chunk := range slices.Chunk(objs, 1000) {
		ids := make([]types.ObjectIdentifier, len(chunk))
		for i, k := range chunk {
			ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		if _, err := gw.client.DeleteObjects(context.Background(), &s3api.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{Objects: ids}}); err != nil {
			t.Fatalf("emptying %s: %v", bucket, err)
		}
	}
}

// replicaReport renders the table (markdown) with the ratios the targets
// name: S3 push against the filesystem store and against distribution on
// S3, and pull against distribution on S3.
func replicaReport(t testing.TB, rows []*replicaRow, size int64, runs int, loadStart, loadEnd string) string {
	var b strings.Builder
	mib := float64(size) / (1 << 20)
	cell := func(ds []time.Duration) string {
		if len(ds) == 0 {
			return "| — | — "
		}
		m := benchMedian(ds)
		return fmt.Sprintf("| %.2f s (%.0f MiB/s) | %.2f–%.2f s ", m.Seconds(), mib/m.Seconds(), slices.Min(ds).Seconds(), slices.Max(ds).Seconds())
	}
	fmt.Fprintf(&b, "\n### Replicas on S3: %d MiB, median of %d runs (%s)\n\n", size>>20, runs, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Load average at the start: %s; at the end: %s.\n\n", loadStart, loadEnd)
	b.WriteString("| registry | push style | push (median) | push min–max | of which the PUT | pull (median) | pull min–max | registry+gateway CPU s, push / pull |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	med := map[string]float64{}
	for _, r := range rows {
		style := "POST, PATCH, PUT"
		if r.monolithic {
			style = "POST, PUT with body"
		}
		pullCPU := "—"
		if len(r.pullCPU) > 0 {
			pullCPU = fmt.Sprintf("%.2f", benchMedian(r.pullCPU).Seconds())
		}
		fmt.Fprintf(&b, "| %s | %s %s| %.2f s %s| %.2f / %s |\n", r.target.name, style, cell(r.push), benchMedian(r.put).Seconds(), cell(r.pull), benchMedian(r.cpu).Seconds(), pullCPU)
		med[fmt.Sprintf("%s/%t/push", r.target.name, r.monolithic)] = benchMedian(r.push).Seconds()
		if len(r.pull) > 0 {
			med[r.target.name+"/pull"] = benchMedian(r.pull).Seconds()
		}
		if r.redirect != nil {
			fmt.Fprintf(&b, "| %s | (pull only) | — | — | — %s| — |\n", r.redirect.name, cell(r.redirPull))
			med[r.redirect.name+"/pull"] = benchMedian(r.redirPull).Seconds()
		}
	}
	ratio := func(num, den string) string {
		if med[num] == 0 || med[den] == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f×", med[den]/med[num])
	}
	for _, mono := range []bool{false, true} {
		k := func(name string) string { return fmt.Sprintf("%s/%t/push", name, mono) }
		if s3 := med[k("stevedore, 1 S3 replica")]; s3 > 0 {
			path := fmt.Sprintf("replicas: push to S3 (monolithic %t)", mono)
			benchRatio(t, path, "stevedore on the filesystem", med[k("stevedore, filesystem")]/s3)
			benchRatio(t, path, "distribution, S3 driver", med[k("distribution, S3 driver")]/s3)
		}
		fmt.Fprintf(&b, "\nPush (monolithic %t): S3 replica vs filesystem %s (target ≥ 0.50×), vs distribution on S3 %s (target ≥ 1.20×).",
			mono, ratio(k("stevedore, 1 S3 replica"), k("stevedore, filesystem")), ratio(k("stevedore, 1 S3 replica"), k("distribution, S3 driver")))
	}
	if s3 := med["stevedore, 1 S3 replica/pull"]; s3 > 0 {
		benchRatio(t, "replicas: pull from S3", "distribution, S3 driver", med["distribution, S3 driver/pull"]/s3)
	}
	if s3 := med["stevedore --blob-redirect/pull"]; s3 > 0 {
		benchRatio(t, "replicas: pull by redirect", "distribution (redirect)", med["distribution (redirect)/pull"]/s3)
	}
	fmt.Fprintf(&b, "\nPull: S3 replica vs distribution on S3 %s (target ≥ 1.00×); with redirects %s.\n",
		ratio("stevedore, 1 S3 replica/pull", "distribution, S3 driver/pull"), ratio("stevedore --blob-redirect/pull", "distribution (redirect)/pull"))
	return b.String()
}

// s3Counter is a reverse proxy in front of an S3 server counting requests
// and body bytes per S3 operation. Host is kept, so SigV4 signatures made
// for the proxy's address still verify.
type s3Counter struct {
	URL string
	mu  sync.Mutex
	ops map[string]*s3OpCount
}

type s3OpCount struct{ n, in, out int64 }

func newS3Counter(t *testing.T, endpoint string) *s3Counter {
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c := &s3Counter{ops: map[string]*s3OpCount{}}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := s3Op(r)
		var in, out int64Counter
		r.Body = countingReadCloser{r.Body, &in}
		rp.ServeHTTP(&countingResponse{w, &out}, r)
		c.mu.Lock()
		defer c.mu.Unlock()
		oc := c.ops[op]
		if oc == nil {
			oc = &s3OpCount{}
			c.ops[op] = oc
		}
		oc.n++
		oc.in += int64(in)
		oc.out += int64(out)
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// take renders the counts since the last call, one operation a line, and
// resets them.
func (c *s3Counter) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.ops))
	for k := range c.ops {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	var n, in, out int64
	for _, k := range names {
		o := c.ops[k]
		fmt.Fprintf(&b, "  %-24s %5d requests, %8.1f MiB sent, %8.1f MiB received\n", k, o.n, float64(o.in)/(1<<20), float64(o.out)/(1<<20))
		n, in, out = n+o.n, in+o.in, out+o.out
	}
	fmt.Fprintf(&b, "  %-24s %5d requests, %8.1f MiB sent, %8.1f MiB received\n", "total", n, float64(in)/(1<<20), float64(out)/(1<<20))
	c.ops = map[string]*s3OpCount{}
	return b.String()
}

// s3Op names the S3 operation of a path-style request.
//
// S3 API operations: https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
func s3Op(r *http.Request) string {
	q := r.URL.Query()
	copySrc := r.Header.Get("X-Amz-Copy-Source") != ""
	switch {
	case q.Has("list-type"):
		return "ListObjectsV2"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodGet && q.Has("uploads"):
		return "ListMultipartUploads"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodPut && q.Has("partNumber") && copySrc:
		return "UploadPartCopy"
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
	case r.Method == http.MethodGet && q.Has("uploadId"):
		return "ListParts"
	case r.Method == http.MethodPost && q.Has("delete"):
		return "DeleteObjects"
	case r.Method == http.MethodPut && copySrc:
		return "CopyObject"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0:
		return "ListObjects"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodDelete:
		return "DeleteObject"
	}
	return r.Method
}

type int64Counter int64

type countingReadCloser struct {
	io.ReadCloser
	n *int64Counter
}

func (c countingReadCloser) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	*c.n += int64Counter(n)
	return n, err
}

type countingResponse struct {
	http.ResponseWriter
	n *int64Counter
}

func (w *countingResponse) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	*w.n += int64Counter(n)
	return n, err
}

func (w *countingResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }
