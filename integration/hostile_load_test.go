package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowClient is one abusive client: a connection from its own loopback
// address that opened an upload session and is sending its PATCH body far
// below the minimum rate.
type slowClient struct {
	conn     net.Conn
	br       *bufio.Reader
	location string
	status   int // the answer to the POST, or to the PATCH once read
}

// dialFrom connects to addr from the loopback address local (127.0.0.0/8
// is all loopback on Linux, so each abusive client can have its own).
func dialFrom(local, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// startSlowUpload opens a session for repo over a connection from local,
// then sends the head of a PATCH of total bytes and the first sent of them.
// A refused POST (429/503) or connection (a capped listener) leaves the
// client with that status and no session.
func startSlowUpload(addr, local, repo string, sent, total int) (*slowClient, error) {
	c, err := dialFrom(local, addr)
	if err != nil {
		return nil, err
	}
	sc := &slowClient{conn: c, br: bufio.NewReader(c)}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "POST /v2/"+repo+"/blobs/uploads/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"); err != nil {
		return sc, err
	}
	res, err := http.ReadResponse(sc.br, nil)
	if err != nil {
		return sc, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	sc.status = res.StatusCode
	if res.StatusCode != http.StatusAccepted {
		c.Close()
		return sc, nil
	}
	sc.location = res.Header.Get("Location")
	head := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", sc.location, total)
	if _, err := io.WriteString(c, head+strings.Repeat("s", sent)); err != nil {
		return sc, err
	}
	_ = c.SetDeadline(time.Time{})
	return sc, nil
}

// answer reads the PATCH's answer, waiting up to d.
func (sc *slowClient) answer(d time.Duration) (*http.Response, []byte, error) {
	_ = sc.conn.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(sc.br, nil)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	sc.status = res.StatusCode
	return res, b, nil
}

// loopback returns the i-th test client address, 127.0.0.2 onwards.
func loopback(i int) string { return fmt.Sprintf("127.0.%d.%d", 1+i/200, 2+i%200) }

// cranePushRandom pushes with crane a one-layer image of about size bytes
// of pseudo-random files to ref.
func cranePushRandom(t *testing.T, ref string, size int) {
	t.Helper()
	// Not under t.TempDir(): crane splits -f at commas, which subtest names hold.
	dir, err := os.MkdirTemp("", "stevedore-layer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tarPath := filepath.Join(dir, "layer.tar")
	if err := writeLayerTar(tarPath, strings.NewReplacer("/", "-", ":", "-").Replace(ref), max(size/(33<<10), 1)); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("crane", "append", "--oci-empty-base", "-f", tarPath, "-t", ref).CombinedOutput(); err != nil {
		t.Fatalf("crane append %s: %v\n%s", ref, err, out)
	}
}

// TestSlowClients: a header that never ends, a keep-alive connection left
// idle, and 300 upload bodies far below --min-body-rate do not stop a
// concurrent crane push and pull; the slow bodies are cut with 408, their
// sessions keep what arrived and resume; one address gets no more uploads
// than --max-uploads-per-client allows (429 beyond).
func TestSlowClients(t *testing.T) {
	const window = 3 * time.Second
	s, err := startStevedore(t, "stevedore-serve-slow", serveOptions{Args: []string{
		"--read-header-timeout", "1s", "--idle-timeout", "1s",
		"--min-body-rate", "1KiB", "--body-rate-window", window.String(), "--max-uploads-per-client", "16"}})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("slow header is cut", func(t *testing.T) {
		c, err := net.Dial("tcp", s.Registry)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_, _ = io.WriteString(c, "GET /v2/ HTTP/1.1\r\nHost: localhost\r\n") // and never the blank line
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("the connection was not closed: %v", err)
		}
		if el := time.Since(start); el < 900*time.Millisecond || el > 5*time.Second {
			t.Errorf("closed after %v, want about --read-header-timeout 1s", el)
		}
	})
	t.Run("idle keep-alive is closed", func(t *testing.T) {
		c, err := net.Dial("tcp", s.Registry)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		br := bufio.NewReader(c)
		_, _ = io.WriteString(c, "GET /v2/ HTTP/1.1\r\nHost: localhost\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /v2/: %v %v", res, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection: %v, want it closed", err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("closed after %v, want about --idle-timeout 1s", el)
		}
	})

	t.Run("300 slow bodies beside a push and a pull", func(t *testing.T) {
		var clients []*slowClient
		for i := range 300 {
			sc, err := startSlowUpload(s.Registry, loopback(i%30), fmt.Sprintf("slow/c%d", i), 100, 1<<20)
			if err != nil {
				t.Fatalf("slow client %d: %v", i, err)
			}
			if sc.status != http.StatusAccepted {
				t.Fatalf("slow client %d from %s: POST %d", i, loopback(i%30), sc.status)
			}
			clients = append(clients, sc)
		}
		defer func() {
			for _, sc := range clients {
				sc.conn.Close()
			}
		}()
		// Meanwhile an honest client pushes and pulls.
		start := time.Now()
		ref := s.Registry + "/honest/app:v1"
		cranePushRandom(t, ref, 2<<20)
		if out, err := exec.Command("crane", "pull", "--format", "oci", ref, t.TempDir()).CombinedOutput(); err != nil {
			t.Fatalf("crane pull beside 300 slow uploads: %v\n%s", err, out)
		}
		if out, err := exec.Command("crane", "validate", "--remote", ref).CombinedOutput(); err != nil {
			t.Fatalf("crane validate: %v\n%s", err, out)
		}
		t.Logf("crane push, pull and validate beside 300 slow uploads: %v", time.Since(start))

		// Every slow body is cut (408) about a window after it stalled.
		var wg sync.WaitGroup
		errs := make([]error, len(clients))
		for i, sc := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, body, err := sc.answer(4 * window)
				switch {
				case err != nil:
					errs[i] = err
				case res.StatusCode != http.StatusRequestTimeout || !bytes.Contains(body, []byte("BLOB_UPLOAD_INVALID")):
					errs[i] = fmt.Errorf("%s %s", res.Status, body)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("slow bodies not cut with 408: %v", err)
		}
		// Their sessions kept the 100 bytes; an honest client resumes.
		for _, sc := range clients[:5] {
			res, _, err := sendRaw(s.Registry, req("GET", sc.location, nil))
			if err != nil || res.StatusCode != http.StatusNoContent || res.Header.Get("Range") != "0-99" {
				t.Fatalf("session after the cut: %v %v", res, err)
			}
			rest := bytes.Repeat([]byte("s"), 1000)
			whole := append(bytes.Repeat([]byte("s"), 100), rest...)
			if res, b, err := sendRaw(s.Registry, req("PATCH", sc.location, rest, "Content-Range", "100-1099")); err != nil || res.StatusCode != http.StatusAccepted {
				t.Fatalf("resume: %v %v %s", res, err, b)
			}
			if res, b, err := sendRaw(s.Registry, req("PUT", sc.location+"?digest="+sha256Digest(whole), nil)); err != nil || res.StatusCode != http.StatusCreated {
				t.Fatalf("close the resumed upload: %v %v %s", res, err, b)
			}
		}
	})

	t.Run("one address, more uploads than it may", func(t *testing.T) {
		var clients []*slowClient
		refused := 0
		for i := range 40 {
			sc, err := startSlowUpload(s.Registry, "127.0.9.9", fmt.Sprintf("greedy/c%d", i), 10, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, sc)
		}
		defer func() {
			for _, sc := range clients {
				sc.conn.Close()
			}
		}()
		// Once 16 PATCHes are being read, the next POSTs (uploads too) are
		// refused at once; the 16 get no answer yet.
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, sc := range clients {
			if sc.location == "" {
				if sc.status != http.StatusTooManyRequests {
					t.Errorf("POST from the greedy address: %d, want 429", sc.status)
				}
				refused++
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, body, err := sc.answer(time.Second)
				if err != nil {
					return // admitted, and still being read
				}
				if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte("TOOMANYREQUESTS")) {
					t.Errorf("PATCH over the per-client limit: %s %v %s", res.Status, res.Header, body)
				}
				mu.Lock()
				refused++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if refused != 40-16 {
			t.Errorf("%d uploads refused, want %d (40 from one address, 16 allowed)", refused, 40-16)
		}
		if res, _, err := sendRaw(s.Registry, req("GET", "/v2/", nil)); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("a read from elsewhere meanwhile: %v %v", res, err)
		}
	})

	// The 16 uploads the greedy client hung up on are counted as 499, and
	// no request of the whole test as a 5xx.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var gone float64
		for _, line := range strings.Split(get(t, "http://"+s.HTTP+"/metrics"), "\n") {
			if !strings.HasPrefix(line, "stevedore_registry_requests_total{") {
				continue
			}
			if strings.Contains(line, `code="5`) {
				t.Fatalf("a 5xx counted: %s", line)
			}
			if strings.Contains(line, `code="499"`) {
				var v float64
				fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
				gone += v
			}
		}
		if gone >= 16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v requests counted as 499, want the 16 hung up on at least", gone)
		}
	}
	checkServerLog(t, s.proc.log)
}

// TestDescriptorLimit runs the server under `ulimit -n 256` (prlimit) and
// floods it with 300 slow uploads, then 300 connections that send nothing:
// other clients get 503 with Retry-After, never a 500 or a hang; once the
// slow bodies are cut and the idle connections closed, the server serves
// everyone again.
func TestDescriptorLimit(t *testing.T) {
	const window = 3 * time.Second
	s, err := startStevedore(t, "stevedore-serve-nofile", serveOptions{
		Prefix: []string{"prlimit", "--nofile=256", "--"},
		Args: []string{"--log-level", "info", "--read-header-timeout", "2s",
			"--min-body-rate", "1KiB", "--body-rate-window", window.String()}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", s.pid())); err != nil || !strings.Contains(string(b), "Max open files            256") {
		t.Fatalf("the server's descriptor limit is not 256: %v\n%s", err, b)
	}
	ref := s.Registry + "/before/app:v1"
	cranePushRandom(t, ref, 1<<20)

	var clients []*slowClient
	statuses := map[int]int{}
	for i := range 300 {
		sc, err := startSlowUpload(s.Registry, loopback(i%50), fmt.Sprintf("flood/c%d", i), 100, 1<<20)
		if err != nil && sc == nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		if sc != nil {
			clients = append(clients, sc)
			statuses[sc.status]++
		}
	}
	defer func() {
		for _, sc := range clients {
			sc.conn.Close()
		}
	}()
	t.Logf("300 slow uploads under ulimit -n 256: POST answers %v", statuses)

	// Another client during the flood: 200, or 503 with Retry-After.
	seen := map[int]int{}
	for range 20 {
		res, body, err := sendRaw(s.Registry, req("GET", "/v2/before/app/manifests/v1", nil, "Accept", ociManifest))
		if err != nil {
			t.Fatalf("a reader during the flood: %v", err)
		}
		seen[res.StatusCode]++
		switch res.StatusCode {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			if res.Header.Get("Retry-After") == "" || ociCode(res, body) != "TOOMANYREQUESTS" {
				t.Errorf("503 without Retry-After or TOOMANYREQUESTS: %v %s", res.Header, body)
			}
		default:
			t.Errorf("a reader during the flood: %s %s", res.Status, body)
		}
	}
	t.Logf("a reader during the flood: %v", seen)
	if seen[http.StatusServiceUnavailable] == 0 && statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("nobody was told 503 under the flood: the limits did not engage")
	}

	// The slow bodies are cut; then everyone is served again.
	for _, sc := range clients {
		if sc.location != "" {
			_, _, _ = sc.answer(4 * window)
		}
		sc.conn.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, _, err := sendRaw(s.Registry, req("GET", "/v2/", nil))
		if err == nil && res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving again after the flood: %v %v", res, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cranePushRandom(t, s.Registry+"/after/app:v1", 1<<20)
	if out, err := exec.Command("crane", "validate", "--remote", ref).CombinedOutput(); err != nil {
		t.Fatalf("crane validate after the flood: %v\n%s", err, out)
	}

	// 300 connections that never send a request hold their descriptors
	// until --read-header-timeout: new connections over the cap get the
	// listener's 503, then are served again once the idle ones are closed.
	var idle []net.Conn
	for i := range 300 {
		c, err := dialFrom(loopback(100+i%50), s.Registry)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	res, body, err := sendRaw(s.Registry, req("GET", "/v2/", nil))
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || ociCode(res, body) != "TOOMANYREQUESTS" {
		t.Fatalf("a client beside 300 idle connections: %v %v %s", res, err, body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if res, _, err := sendRaw(s.Registry, req("GET", "/v2/", nil)); err == nil && res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not serving again after the idle connections timed out")
		}
	}
	checkServerLog(t, s.proc.log, http.StatusServiceUnavailable)
}

// TestFullDisk serves a data directory on a 32 MiB tmpfs (mounted in a
// user and mount namespace of its own, so no privilege is needed) with
// --min-free-space 8MiB, and fills it with upload sessions: a PATCH that
// runs out of space mid-body gets 507 and leaves its session as it was;
// under the reserve, uploads get 507 before a byte is written while pulls
// and tags work, and /healthz says degraded; nothing partial is ever a
// blob; once the sessions are cancelled, pushes work again.
func TestFullDisk(t *testing.T) {
	data := t.TempDir()
	s, err := startStevedore(t, "stevedore-serve-full", serveOptions{
		Data: data,
		Prefix: []string{"unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
			`mount -t tmpfs -o size=32m tmpfs "$1" && shift && exec "$@"`, "sh", data},
		Args: []string{"--min-free-space", "8MiB"}})
	if err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(fmt.Sprintf("/proc/%d/root", s.pid()), data) // the tmpfs, as the server sees it
	free := func() float64 { return scrapeMetric(t, "http://"+s.HTTP+"/metrics", "stevedore_storage_free_bytes") }
	if f := free(); f <= 8<<20 || f > 32<<20 {
		t.Fatalf("free bytes %v: not the 32 MiB tmpfs", f)
	}
	ref := s.Registry + "/full/app:v1"
	cranePushRandom(t, ref, 1<<20)

	open := func() string {
		res, b, err := sendRaw(s.Registry, req("POST", "/v2/full/fill/blobs/uploads/", nil))
		if err != nil || res.StatusCode != http.StatusAccepted {
			t.Fatalf("POST: %v %v %s", res, err, b)
		}
		return res.Header.Get("Location")
	}
	patch := func(loc string, n int, want int) {
		t.Helper()
		b := make([]byte, n)
		_, _ = rand.Read(b)
		res, body, err := sendRaw(s.Registry, req("PATCH", loc, b))
		if err != nil || res.StatusCode != want || (want == http.StatusInsufficientStorage && ociCode(res, body) != "INSUFFICIENT_STORAGE") {
			t.Fatalf("PATCH of %d bytes: %v %v %s, want %d", n, res, err, body, want)
		}
	}
	// 20 MiB in one session: accepted, with the free space above the reserve.
	a := open()
	patch(a, 20<<20, http.StatusAccepted)
	// The next 20 MiB cannot fit: 507 mid-body, and the session is left as
	// it was (the bytes that fit are dropped, freeing their space).
	b := open()
	patch(b, 20<<20, http.StatusInsufficientStorage)
	if res, _, err := sendRaw(s.Registry, req("GET", b, nil)); err != nil || res.Header.Get("Range") != "0-0" {
		t.Fatalf("the session the disk filled under: %v %v", res, err)
	}
	// 5 MiB more takes the free space under the 8 MiB reserve.
	c := open()
	patch(c, 5<<20, http.StatusAccepted)
	// Under the reserve, uploads are refused before a byte is written.
	blob := []byte("a blob that must not be stored")
	for _, raw := range []string{
		req("POST", "/v2/full/app/blobs/uploads/", nil),
		req("POST", "/v2/full/app/blobs/uploads/?digest="+sha256Digest(blob), blob),
		req("PATCH", a, []byte("more")),
	} {
		res, body, err := sendRaw(s.Registry, raw)
		if err != nil || res.StatusCode != http.StatusInsufficientStorage || ociCode(res, body) != "INSUFFICIENT_STORAGE" {
			t.Fatalf("upload under the reserve: %v %v %s", res, err, body)
		}
	}
	// Reads, and a tag (a few bytes), still work.
	res, manifest, err := sendRaw(s.Registry, req("GET", "/v2/full/app/manifests/v1", nil, "Accept", ociManifest))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("a pull under the reserve: %v %v", res, err)
	}
	if res, body, err := sendRaw(s.Registry, req("PUT", "/v2/full/app/manifests/v1-again", manifest, "Content-Type", res.Header.Get("Content-Type"))); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("a tag under the reserve: %v %v %s", res, err, body)
	}
	if f := free(); f >= 8<<20 {
		t.Errorf("stevedore_storage_free_bytes %v, want under the 8 MiB reserve", f)
	}
	if hz := get(t, "http://"+s.HTTP+"/healthz"); !strings.HasPrefix(hz, "degraded: ") {
		t.Errorf("/healthz on a full disk: %q", hz)
	}
	// Nothing partial: the refused blob is unknown, every stored blob hashes
	// to its name, the catalog is what was pushed.
	if res, _, _ := sendRaw(s.Registry, req("HEAD", "/v2/full/app/blobs/"+sha256Digest(blob), nil)); res == nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("the refused blob: %v", res)
	}
	checkBlobFiles(t, inside)
	if res, body, _ := sendRaw(s.Registry, req("GET", "/v2/_catalog", nil)); res == nil || string(body) != `{"repositories":["full/app"]}` {
		t.Errorf("catalog on a full disk: %s", body)
	}

	// Free the space: pushes work again, /healthz is ok.
	for _, loc := range []string{a, b, c} {
		if res, body, err := sendRaw(s.Registry, req("DELETE", loc, nil)); err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("cancel a session: %v %v %s", res, err, body)
		}
	}
	if hz := get(t, "http://"+s.HTTP+"/healthz"); hz != "ok\n" {
		t.Errorf("/healthz after freeing space: %q", hz)
	}
	cranePushRandom(t, s.Registry+"/full/app:v2", 4<<20)
	if out, err := exec.Command("crane", "validate", "--remote", s.Registry+"/full/app:v2").CombinedOutput(); err != nil {
		t.Fatalf("crane validate after freeing space: %v\n%s", err, out)
	}
	checkBlobFiles(t, inside)
	checkServerLog(t, s.proc.log, http.StatusInsufficientStorage)
}

// checkBlobFiles hashes every file under a blobs/<alg>/ directory of the
// data directory at dir (the pool and each repository's layout).
func checkBlobFiles(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(filepath.Dir(p))) != "blobs" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if want := filepath.Base(filepath.Dir(p)) + ":" + d.Name(); sha256Digest(b) != want {
			t.Errorf("%s holds content hashing to %s", p, sha256Digest(b))
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("no blob files under %s", dir)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// scrapeMetric reads one unlabelled series from a Prometheus endpoint.
func scrapeMetric(t *testing.T, url, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(get(t, url), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	t.Fatalf("no %s at %s", name, url)
	return 0
}
