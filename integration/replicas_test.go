package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
)

// s3Replicas starts n `stevedore serve --storage s3` replicas sharing bucket
// of gw; each has its own (otherwise unused) data directory.
func s3Replicas(t *testing.T, gw *versityGW, bucket string, n int, extra ...string) []*stevedoreServer {
	t.Helper()
	env := []string{"AWS_ACCESS_KEY_ID=" + gw.AccessKey, "AWS_SECRET_ACCESS_KEY=" + gw.SecretKey}
	args := append([]string{"--storage", "s3", "--s3-endpoint", gw.Endpoint, "--s3-bucket", bucket, "--s3-prefix", "reg", "--log-level", "warn"}, extra...)
	out := make([]*stevedoreServer, n)
	for i := range out {
		s, err := startStevedore(t, fmt.Sprintf("replica-%c", 'a'+i), serveOptions{Env: env, Args: args})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = s
	}
	return out
}

// roundRobin is a reverse proxy spreading requests over backends in turn, as
// a load balancer in front of replicas would; backends can be dropped.
type roundRobin struct {
	mu       sync.Mutex
	backends []string
	next     int
}

func (p *roundRobin) set(backends ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = backends
}

func (p *roundRobin) pick() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.backends[p.next%len(p.backends)]
	p.next++
	return b
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := &url.URL{Scheme: "http", Host: p.pick()}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // Locations stay relative; keep the client's host
	}}
	rp.ServeHTTP(w, r)
}

func newRoundRobin(t *testing.T, backends ...string) (*roundRobin, string) {
	p := &roundRobin{}
	p.set(backends...)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, strings.TrimPrefix(srv.URL, "http://")
}

// randomLayer writes a tar holding one file of n pseudo-random bytes.
func randomLayer(t testing.TB, path string, n int64, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: "data.bin", Mode: 0o644, Size: n, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, randReader(seed), n); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// randReader is a deterministic stream of incompressible bytes.
func randReader(seed uint64) io.Reader {
	return &chachaReader{r: rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})}
}

type chachaReader struct{ r *rand.ChaCha8 }

func (c *chachaReader) Read(p []byte) (int, error) { return c.r.Read(p) }

// do sends one request and returns the response with its body read.
func do(t testing.TB, method, u string, hdr map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// startSession POSTs a new upload session to host and returns its path.
func startSession(t *testing.T, host, repo string) string {
	t.Helper()
	resp, _ := do(t, http.MethodPost, "http://"+host+"/v2/"+repo+"/blobs/uploads/", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload: %s", resp.Status)
	}
	return resp.Header.Get("Location")
}

func patchChunk(t *testing.T, host, loc string, start int, b []byte) *http.Response {
	t.Helper()
	resp, _ := do(t, http.MethodPatch, "http://"+host+loc, map[string]string{
		"Content-Type":  "application/octet-stream",
		"Content-Range": fmt.Sprintf("%d-%d", start, start+len(b)-1),
	}, b)
	return resp
}

// TestReplicas runs three stateless replicas on one versitygw bucket and
// checks that any of them serves any request (issue 8 acceptance 2-4).
func TestReplicas(t *testing.T) {
	needTools(t, "versitygw", "crane", "oras", "skopeo", "oci-conformance")
	gw, err := startVersity(t, "versitygw-replicas")
	if err != nil {
		t.Fatal(err)
	}
	bucket := gw.bucket(t)
	reps := s3Replicas(t, gw, bucket, 3)
	a, b, c := reps[0].Registry, reps[1].Registry, reps[2].Registry
	dir := t.TempDir()

	t.Run("PushThroughAPullThroughBC", func(t *testing.T) {
		layer := filepath.Join(dir, "push.tar")
		randomLayer(t, layer, 3<<20, 1)
		crane(t, "append", "--oci-empty-base", "-f", layer, "-t", a+"/rep/img:v1")
		want := strings.TrimSpace(string(crane(t, "digest", a+"/rep/img:v1")))
		for _, host := range []string{b, c} {
			if got := strings.TrimSpace(string(crane(t, "digest", host+"/rep/img:v1"))); got != want {
				t.Errorf("digest through %s = %s, want %s", host, got, want)
			}
			crane(t, "validate", "--remote", host+"/rep/img:v1")
			crane(t, "pull", host+"/rep/img:v1", filepath.Join(t.TempDir(), "img.tar"))
		}
	})

	t.Run("ChunksOnABCommitOnC", func(t *testing.T) {
		data := make([]byte, 3*1500+7)
		_, _ = io.ReadFull(randReader(2), data)
		loc := startSession(t, a, "rep/chunked")
		chunks := [][]byte{data[:1500], data[1500:3000], data[3000:]}
		for i, host := range []string{a, b, c} {
			resp := patchChunk(t, host, loc, i*1500, chunks[i])
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("PATCH %d through %s: %s", i, host, resp.Status)
			}
			if want := fmt.Sprintf("0-%d", i*1500+len(chunks[i])-1); resp.Header.Get("Range") != want {
				t.Errorf("PATCH %d: Range %q, want %q", i, resp.Header.Get("Range"), want)
			}
		}
		// GET status through another replica sees all three chunks.
		if resp, _ := do(t, http.MethodGet, "http://"+b+loc, nil, nil); resp.Header.Get("Range") != fmt.Sprintf("0-%d", len(data)-1) {
			t.Errorf("status through B: Range %q", resp.Header.Get("Range"))
		}
		d := digest.FromBytes(data)
		resp, _ := do(t, http.MethodPut, "http://"+c+loc+"?digest="+d.String(), nil, nil)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT through C: %s", resp.Status)
		}
		resp, got := do(t, http.MethodGet, "http://"+a+"/v2/rep/chunked/blobs/"+d.String(), nil, nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("GET through A: %s, %d bytes", resp.Status, len(got))
		}
		// A wrong digest stores nothing and answers 400.
		loc = startSession(t, b, "rep/chunked")
		patchChunk(t, b, loc, 0, data[:100])
		wrong := digest.FromBytes([]byte("not it"))
		if resp, _ := do(t, http.MethodPut, "http://"+a+loc+"?digest="+wrong.String(), nil, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT with a wrong digest: %s, want 400", resp.Status)
		}
		if resp, _ := do(t, http.MethodHead, "http://"+c+"/v2/rep/chunked/blobs/"+wrong.String(), nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("blob of a wrong digest: %s, want 404", resp.Status)
		}
	})

	t.Run("RaceForOneOffset", func(t *testing.T) {
		for round := range 10 {
			loc := startSession(t, a, "rep/race")
			var wg sync.WaitGroup
			codes := make([]int, 2)
			for i, host := range []string{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := bytes.Repeat([]byte{byte('x' + i)}, 4096)
					codes[i] = patchChunk(t, host, loc, 0, body).StatusCode
				}()
			}
			wg.Wait()
			won, lost := 0, 0
			for _, code := range codes {
				switch code {
				case http.StatusAccepted:
					won++
				case http.StatusRequestedRangeNotSatisfiable:
					lost++
				}
			}
			if won != 1 || lost != 1 {
				t.Fatalf("round %d: statuses %v, want one 202 and one 416", round, codes)
			}
			if resp, _ := do(t, http.MethodGet, "http://"+c+loc, nil, nil); resp.Header.Get("Range") != "0-4095" {
				t.Fatalf("round %d: session holds %q after the race, want 0-4095", round, resp.Header.Get("Range"))
			}
		}
	})

	t.Run("TagMovedConcurrently", func(t *testing.T) {
		manifests := map[string][]byte{}
		for i, host := range []string{a, b} {
			ref := fmt.Sprintf("%s/rep/tags:src%d", host, i)
			layer := filepath.Join(dir, fmt.Sprintf("tag%d.tar", i))
			randomLayer(t, layer, 1024, uint64(10+i))
			crane(t, "append", "--oci-empty-base", "-f", layer, "-t", ref)
			m := crane(t, "manifest", ref)
			manifests[host] = m
		}
		var wg sync.WaitGroup
		for host, m := range manifests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 15 {
					resp, _ := do(t, http.MethodPut, "http://"+host+"/v2/rep/tags/manifests/moving",
						map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, m)
					if resp.StatusCode != http.StatusCreated {
						t.Errorf("PUT tag through %s: %s", host, resp.Status)
						return
					}
				}
			}()
		}
		wg.Wait()
		var seen []string
		for _, host := range []string{a, b, c} {
			seen = append(seen, strings.TrimSpace(string(crane(t, "digest", host+"/rep/tags:moving"))))
		}
		if seen[0] != seen[1] || seen[1] != seen[2] {
			t.Fatalf("replicas disagree on the tag: %v", seen)
		}
		okDigest := false
		for _, m := range manifests {
			okDigest = okDigest || digest.FromBytes(m).String() == seen[0]
		}
		if !okDigest {
			t.Fatalf("tag names %s, neither manifest pushed", seen[0])
		}
		if n := strings.Count(string(crane(t, "ls", c+"/rep/tags")), "moving"); n != 1 {
			t.Errorf("tag listed %d times", n)
		}
	})

	_, proxy := newRoundRobin(t, a, b, c)

	t.Run("ConformanceRoundRobin", func(t *testing.T) {
		bin, err := exec.LookPath("oci-conformance")
		if err != nil {
			t.Fatal(err)
		}
		results := t.TempDir()
		out, runErr := runConformance(bin, []string{
			"OCI_REGISTRY=" + proxy, "OCI_TLS=disabled", "OCI_VERSION=1.1",
			"OCI_TEST_PULL=1", "OCI_TEST_PUSH=1", "OCI_TEST_CONTENT_DISCOVERY=1", "OCI_TEST_CONTENT_MANAGEMENT=1",
			"OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2", "OCI_RESULTS_DIR=" + results,
		}, t.TempDir())
		sum, parseErr := readJUnit(filepath.Join(results, "junit.xml"))
		if parseErr == nil {
			t.Logf("OCI conformance through a round-robin of 3 S3 replicas: %d tests: %d passed, %d failed, %d errors, %d skipped",
				sum.Tests, sum.passed(), sum.Failures, sum.Errors, sum.Skipped)
		}
		if runErr != nil || parseErr != nil || sum.Failures+sum.Errors > 0 || sum.passed() <= 0 {
			for _, name := range sum.failedCases {
				t.Errorf("failed: %s", name)
			}
			t.Fatalf("conformance failed (run: %v, junit: %v):\n%s", runErr, parseErr, tail(out, 8<<10))
		}
	})

	t.Run("CraneOrasSkopeoThroughRoundRobin", func(t *testing.T) {
		layer := filepath.Join(dir, "rr.tar")
		randomLayer(t, layer, 2<<20, 3)
		crane(t, "append", "--oci-empty-base", "-f", layer, "-t", proxy+"/rep/rr:v1")
		crane(t, "validate", "--remote", proxy+"/rep/rr:v1")
		in := t.TempDir()
		payload := bytes.Repeat([]byte("stevedore replicas\n"), 1000)
		if err := os.WriteFile(filepath.Join(in, "a.txt"), payload, 0o644); err != nil {
			t.Fatal(err)
		}
		mustRunIn(t, in, nil, "oras", "push", "--plain-http", proxy+"/rep/oras:v1", "a.txt")
		out := t.TempDir()
		mustRun(t, nil, "oras", "pull", "--plain-http", "-o", out, proxy+"/rep/oras:v1")
		if got, _ := os.ReadFile(filepath.Join(out, "a.txt")); !bytes.Equal(got, payload) {
			t.Fatalf("oras pull through the round-robin returned %d bytes, want %d", len(got), len(payload))
		}
		// skopeo pushes through the round-robin and pulls back into a layout.
		want := strings.TrimSpace(string(crane(t, "digest", proxy+"/rep/rr:v1")))
		mustRun(t, nil, "skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
			"docker://"+proxy+"/rep/rr:v1", "docker://"+proxy+"/rep/skopeo:v1")
		if got := strings.TrimSpace(string(crane(t, "digest", proxy+"/rep/skopeo:v1"))); got != want {
			t.Errorf("skopeo push through the round-robin: digest %s, want %s", got, want)
		}
		mustRun(t, nil, "skopeo", "copy", "--src-tls-verify=false",
			"docker://"+proxy+"/rep/skopeo:v1", "oci:"+filepath.Join(t.TempDir(), "lay")+":v1")
	})

	t.Run("KillReplicaMidPush", func(t *testing.T) {
		// A fourth replica dies once 8 MiB of a push went through it.
		victim, killer := doomedReplica(t, gw, bucket, 8<<20)
		layer := filepath.Join(dir, "kill.tar")
		randomLayer(t, layer, 48<<20, 4)
		if r, err := run(nil, "crane", "append", "--oci-empty-base", "-f", layer, "-t", killer+"/rep/kill:v1"); err != nil || r.Code == 0 {
			t.Fatalf("push through the killed replica: %v, exit %d; want it to fail", err, r.Code)
		}
		if !victim.proc.exited() {
			t.Fatal("the replica was not killed mid-push")
		}
		// The load balancer drops the dead replica; the client pushes again.
		crane(t, "append", "--oci-empty-base", "-f", layer, "-t", proxy+"/rep/kill:v1")
		crane(t, "validate", "--remote", c+"/rep/kill:v1")
		checkBlobsWhole(t, gw, bucket)
	})

	t.Run("KillReplicaMidMonolithicPush", func(t *testing.T) {
		// A monolithic upload streams into the blob's own key: the replica
		// dying mid-body must leave no object there.
		victim, killer := doomedReplica(t, gw, bucket, 8<<20)
		const size = 48 << 20
		d := digestOf(t, 6, size)
		_, _, err := replicaPush(killer, "rep/killmono", d, 6, size, true)
		if err == nil {
			t.Fatal("monolithic push through the killed replica succeeded")
		}
		// The client can see the connection reset before the replica is
		// reaped: wait for the exit, not just look.
		select {
		case <-victim.proc.done:
		case <-time.After(10 * time.Second):
			t.Fatal("the replica was not killed mid-push")
		}
		if resp, _ := do(t, http.MethodHead, "http://"+c+"/v2/rep/killmono/blobs/"+d.String(), nil, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("blob after the killed push: %s, want 404", resp.Status)
		}
		if objs, _ := gw.keys(t, bucket); slices.ContainsFunc(objs, func(k string) bool { return strings.HasSuffix(k, "/blobs/sha256/"+d.Encoded()) }) {
			t.Errorf("the killed push left its blob's key in the bucket")
		}
		checkBlobsWhole(t, gw, bucket)
	})

	t.Run("GCWhilePushing", func(t *testing.T) {
		// Garbage: an image whose tag is deleted. Then everything so far is
		// aged past the grace period, so only references protect it.
		layer := filepath.Join(dir, "garbage.tar")
		randomLayer(t, layer, 1<<20, 5)
		crane(t, "append", "--oci-empty-base", "-f", layer, "-t", a+"/rep/garbage:v1")
		crane(t, "delete", a+"/rep/garbage:v1")
		ageBucket(t, gw, bucket, 2*time.Hour)

		stop := make(chan struct{})
		var wg sync.WaitGroup
		var pushed sync.Map
		for i, host := range []string{b, c} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					l := filepath.Join(dir, fmt.Sprintf("gc-%d-%d.tar", i, n))
					randomLayer(t, l, 512<<10, uint64(100+i*1000+n))
					ref := fmt.Sprintf("%s/rep/busy%d:v%d", host, i, n)
					if r, err := run(nil, "crane", "append", "--oci-empty-base", "-f", l, "-t", ref); err != nil || r.Code != 0 {
						t.Errorf("push during gc: %v, exit %d: %s", err, r.Code, r.Stderr)
						return
					}
					pushed.Store(ref, true)
				}
			}()
		}
		time.Sleep(time.Second)
		env := []string{"AWS_ACCESS_KEY_ID=" + gw.AccessKey, "AWS_SECRET_ACCESS_KEY=" + gw.SecretKey}
		out := mustRun(t, env, stevedoreBin, "gc", "--storage", "s3", "--s3-endpoint", gw.Endpoint, "--s3-bucket", bucket, "--s3-prefix", "reg", "--grace", "1h", "--json")
		time.Sleep(time.Second)
		close(stop)
		wg.Wait()
		var rep struct{ Removed, PoolRemoved, Young int }
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("gc --json: %v\n%s", err, out)
		}
		t.Logf("gc while pushing: %s", bytes.TrimSpace(out))
		if rep.PoolRemoved == 0 {
			t.Errorf("gc freed nothing; the untagged image's blobs were garbage")
		}
		pushed.Range(func(k, _ any) bool {
			crane(t, "validate", "--remote", k.(string))
			return true
		})
		for _, ref := range []string{"rep/img:v1", "rep/rr:v1", "rep/kill:v1", "rep/tags:moving", "rep/oras:v1"} {
			if strings.HasSuffix(ref, "oras:v1") {
				mustRun(t, nil, "oras", "pull", "--plain-http", "-o", t.TempDir(), a+"/"+ref)
				continue
			}
			crane(t, "validate", "--remote", a+"/"+ref)
		}
	})
}

// doomedReplica starts one more replica on bucket and a proxy in front of
// it that kills it (SIGKILL) once at bytes of request bodies went through;
// it returns the replica and the proxy's host.
func doomedReplica(t *testing.T, gw *versityGW, bucket string, at int64) (*stevedoreServer, string) {
	victim := s3Replicas(t, gw, bucket, 1)[0]
	var sent atomic.Int64
	var once sync.Once
	killer := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(&url.URL{Scheme: "http", Host: victim.Registry})
		pr.Out.Host = pr.In.Host
		if pr.Out.Body != nil {
			pr.Out.Body = &tripwire{r: pr.Out.Body, n: &sent, at: at, fire: func() {
				once.Do(func() { _ = victim.proc.cmd.Process.Kill() })
			}}
		}
	}})
	t.Cleanup(killer.Close)
	return victim, strings.TrimPrefix(killer.URL, "http://")
}

// tripwire calls fire once n (shared) passes at.
type tripwire struct {
	r    io.ReadCloser
	n    *atomic.Int64
	at   int64
	fire func()
}

func (t *tripwire) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.n.Add(int64(n)) >= t.at {
		t.fire()
	}
	return n, err
}

func (t *tripwire) Close() error { return t.r.Close() }

// checkBlobsWhole reads every blob of bucket and checks it hashes to its key:
// no partial or wrong blob is ever visible.
func checkBlobsWhole(t *testing.T, gw *versityGW, bucket string) {
	t.Helper()
	objs, _ := gw.keys(t, bucket)
	n := 0
	for _, key := range objs {
		_, rest, ok := strings.Cut(key, "/blobs/sha256/")
		if !ok || strings.Contains(key, "/_") {
			continue
		}
		out, err := gw.client.GetObject(context.Background(), &s3api.GetObjectInput{Bucket: &bucket, Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != rest {
			t.Errorf("blob %s holds bytes hashing to %s", key, got)
		}
		n++
	}
	t.Logf("%d blobs, all whole", n)
}

// ageBucket sets the modification time of every object of bucket back by d,
// behind the gateway's back (versitygw's posix backend reports file mtimes
// as LastModified), so a collector sees them as old.
func ageBucket(t *testing.T, gw *versityGW, bucket string, d time.Duration) {
	t.Helper()
	root := filepath.Join(gw.proc.cmd.Args[len(gw.proc.cmd.Args)-1], bucket)
	old := time.Now().Add(-d)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() {
			return os.Chtimes(p, old, old)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

// digestOf is the digest of n bytes of randReader(seed).
func digestOf(t testing.TB, seed uint64, n int64) digest.Digest {
	h := sha256.New()
	if _, err := io.CopyN(h, randReader(seed), n); err != nil {
		t.Fatal(err)
	}
	return digest.NewDigest(digest.SHA256, h)
}
