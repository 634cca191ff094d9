package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// Sizes of the crash test: 20 pushes of 64 MiB in 4 MiB chunks.
const (
	crashBlobs     = 20
	crashBlobSize  = 64 << 20
	crashChunkSize = 4 << 20
	crashRepo      = "crash/test"
)

// crashPush is one blob pushed in chunks and what the client was told.
type crashPush struct {
	seed     int
	digest   string
	mu       sync.Mutex
	location string // upload session path, once the POST was answered
	acked    int64  // bytes of the session a PATCH 202 acknowledged
	created  bool   // the closing PUT got its 201
}

func (p *crashPush) state() (loc string, acked int64, created bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.location, p.acked, p.created
}

// crashContent is blob seed's bytes from offset on: seeded, so the test can
// hash, push and resume it without holding 64 MiB in memory.
func crashContent(seed int, offset int64) io.Reader {
	var s [32]byte
	copy(s[:], "crash-blob-"+strconv.Itoa(seed))
	r := io.LimitReader(rand.NewChaCha8(s), crashBlobSize)
	if offset > 0 {
		_, _ = io.CopyN(io.Discard, r, offset)
	}
	return r
}

// TestCrashSafety kills the server with SIGKILL during 20 concurrent chunked
// pushes of 64 MiB blobs and restarts it on the same data directory: every
// push that got its 201 is there and hashes to its digest, no partial blob is
// visible anywhere, and an interrupted upload resumes from the offset the
// server reports (GET status, PATCH on, PUT).
//
// distribution-spec v1.1.1 §Pushing a blob in chunks:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: moves 1.25 GiB")
	}
	pushes := make([]*crashPush, crashBlobs)
	var g errgroup.Group
	for i := range pushes {
		pushes[i] = &crashPush{seed: i}
		g.Go(func() error {
			h := sha256.New()
			if _, err := io.Copy(h, crashContent(i, 0)); err != nil {
				return err
			}
			pushes[i].digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	s, err := startStevedore(t, "stevedore-crash", serveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	base := "http://" + s.Registry
	// Two pushes get a head start and the other 18 begin when those are
	// three-quarters done, so that at the kill some pushes have their 201
	// and all the others are mid-way.
	const early = 2
	headStart := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range pushes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i >= early {
				<-headStart
			}
			_ = pushChunked(client, base, p, 0) // the kill makes most of these fail
		}()
	}
	killed, started := false, false
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if !started {
			ahead := 0
			for _, p := range pushes[:early] {
				if _, acked, done := p.state(); done || acked >= crashBlobSize*3/4 {
					ahead++
				}
			}
			if ahead == early {
				close(headStart)
				started = true
			}
			continue
		}
		created, partial := 0, 0
		for _, p := range pushes {
			_, acked, done := p.state()
			switch {
			case done:
				created++
			case acked > 0:
				partial++
			}
		}
		if created >= early && partial >= crashBlobs-early {
			if err := s.proc.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-s.proc.done
			killed = true
			t.Logf("SIGKILL with %d pushes acknowledged and %d part-way", created, partial)
			break
		}
		if created == crashBlobs {
			break
		}
	}
	if !started {
		close(headStart)
	}
	wg.Wait()
	if !killed {
		t.Fatal("the server was not killed in the middle of the pushes")
	}

	s2, err := startStevedore(t, "stevedore-crash-restarted", serveOptions{Data: s.Data})
	if err != nil {
		t.Fatal(err)
	}
	base = "http://" + s2.Registry

	t.Run("acknowledged blobs are whole, others absent or whole", func(t *testing.T) {
		for _, p := range pushes {
			_, _, created := p.state()
			status, got, err := getBlobDigest(client, base, p.digest)
			switch {
			case err != nil:
				t.Errorf("blob %d: %v", p.seed, err)
			case status == http.StatusOK && got != p.digest:
				t.Errorf("blob %d: served content hashes to %s, want %s", p.seed, got, p.digest)
			case created && status != http.StatusOK:
				t.Errorf("blob %d got its 201 but GET says %d", p.seed, status)
			case !created && status != http.StatusOK && status != http.StatusNotFound:
				t.Errorf("blob %d (never acknowledged): GET %d, want 404 or the whole blob", p.seed, status)
			}
		}
	})

	t.Run("no partial blob on disk", func(t *testing.T) {
		checked := 0
		err := filepath.WalkDir(s.Data, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "uploads" && filepath.Dir(path) == s.Data {
				return filepath.SkipDir // sessions hold partial data by design; they are not blobs
			}
			if !d.Type().IsRegular() || filepath.Base(filepath.Dir(filepath.Dir(path))) != "blobs" {
				return nil
			}
			want := filepath.Base(filepath.Dir(path)) + ":" + d.Name()
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want {
				t.Errorf("%s holds content hashing to %s", path, got)
			}
			checked++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d blob files hash to their names", checked)
	})

	t.Run("interrupted uploads resume", func(t *testing.T) {
		resumed := 0
		for _, p := range pushes {
			loc, acked, created := p.state()
			if created || loc == "" {
				continue
			}
			offset, status, err := uploadOffset(client, base+loc, acked)
			if err != nil {
				t.Errorf("blob %d: %v", p.seed, err)
				continue
			}
			if status == http.StatusNotFound {
				// The closing PUT committed but its answer was lost: the
				// blob must then be there whole.
				if st, got, err := getBlobDigest(client, base, p.digest); err != nil || st != http.StatusOK || got != p.digest {
					t.Errorf("blob %d: session gone but blob GET %d %s %v", p.seed, st, got, err)
				}
				continue
			}
			// A chunk acknowledged before the kill is durable; one in flight
			// may or may not have landed, but never in part.
			if offset < acked || offset > acked+crashChunkSize || offset%crashChunkSize != 0 {
				t.Errorf("blob %d: session resumes at %d, client had %d acknowledged (chunks of %d)", p.seed, offset, acked, crashChunkSize)
				continue
			}
			if err := pushChunked(client, base, p, offset); err != nil {
				t.Errorf("blob %d: resuming at %d: %v", p.seed, offset, err)
				continue
			}
			if st, got, err := getBlobDigest(client, base, p.digest); err != nil || st != http.StatusOK || got != p.digest {
				t.Errorf("blob %d after resume: GET %d %s %v", p.seed, st, got, err)
				continue
			}
			resumed++
		}
		if resumed == 0 {
			t.Error("no interrupted upload was resumed")
		}
		t.Logf("%d interrupted uploads resumed and verified", resumed)
	})
}

// pushChunked pushes p's blob in crashChunkSize PATCHes from offset on (0:
// a new session) and closes it with PUT, recording progress in p.
func pushChunked(c *http.Client, base string, p *crashPush, offset int64) error {
	loc, _, _ := p.state()
	if offset == 0 && loc == "" {
		resp, err := c.Post(base+"/v2/"+crashRepo+"/blobs/uploads/", "", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("POST upload: %s", resp.Status)
		}
		loc = resp.Header.Get("Location")
		p.mu.Lock()
		p.location = loc
		p.mu.Unlock()
	}
	body := crashContent(p.seed, offset)
	for off := offset; off < crashBlobSize; off += crashChunkSize {
		n := int64(min(crashChunkSize, crashBlobSize-off))
		req, err := http.NewRequest(http.MethodPatch, base+loc, io.LimitReader(body, n))
		if err != nil {
			return err
		}
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+n-1))
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("PATCH %d-%d: %s", off, off+n-1, resp.Status)
		}
		p.mu.Lock()
		p.acked = off + n
		p.mu.Unlock()
	}
	req, err := http.NewRequest(http.MethodPut, base+loc+"?digest="+p.digest, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT: %s", resp.Status)
	}
	p.mu.Lock()
	p.created = true
	p.mu.Unlock()
	return nil
}

// uploadOffset asks for a session's status and returns the offset to
// continue from. Range is inclusive, so "0-0" is ambiguous between no byte
// and one; the client's acknowledged count settles it (chunks are large).
//
// distribution-spec v1.1.1 §Pushing a blob in chunks (Range on status):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-a-blob-in-chunks
func uploadOffset(c *http.Client, url string, acked int64) (int64, int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return 0, resp.StatusCode, nil
	}
	if resp.StatusCode != http.StatusNoContent {
		return 0, resp.StatusCode, fmt.Errorf("GET upload status: %s", resp.Status)
	}
	rng := resp.Header.Get("Range")
	a, b, ok := strings.Cut(rng, "-")
	end, err := strconv.ParseInt(b, 10, 64)
	if !ok || a != "0" || err != nil {
		return 0, resp.StatusCode, fmt.Errorf("upload status Range %q is not 0-<end>", rng)
	}
	if end == 0 && acked == 0 {
		return 0, resp.StatusCode, nil
	}
	return end + 1, resp.StatusCode, nil
}

// getBlobDigest GETs a blob and returns the status and, for a 200, the
// sha256 of the body as served.
func getBlobDigest(c *http.Client, base, digest string) (int, string, error) {
	resp, err := c.Get(base + "/v2/" + crashRepo + "/blobs/" + digest)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, "", nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
