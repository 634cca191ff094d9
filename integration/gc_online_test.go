package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOnlineGC pushes images in a loop while serve collects garbage every
// 50ms with a 1s grace period, and aims at the race where a manifest's
// blobs are checked before a sweep and the manifest is tagged after it.
// Each round pushes an image and deletes its tag, so that its layer is
// garbage; then, when that layer is about to pass the grace period, pushes a
// second image reusing the layer, as clients do: HEAD, upload only what is
// missing, PUT. Every acknowledged image must still validate, every orphaned
// manifest older than the grace period must be gone, and the collector's
// runs must show in /metrics.
func TestOnlineGC(t *testing.T) {
	const (
		grace    = time.Second
		interval = 50 * time.Millisecond
		pushFor  = 8 * time.Second
		workers  = 8
	)
	s, err := startStevedore(t, "serve-gc", serveOptions{Args: []string{
		"--gc-interval", interval.String(), "--gc-grace", grace.String(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Registry + "/v2/gc/app"
	c := &pusher{base: base}

	var (
		mu       sync.Mutex
		kept     = map[string]string{} // tag -> manifest digest
		orphaned []orphan
		refused  int // MANIFEST_BLOB_UNKNOWN, a blob collected before the push touched it
	)
	deadline := time.Now().Add(pushFor)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for i := 0; time.Now().Before(deadline); i++ {
				tag := fmt.Sprintf("w%d-%d", w, i)
				layer, diff := tarGz(t, tag, fmt.Appendf(nil, "layer %s %d", tag, rnd.Uint64()))
				config := func(kind string) []byte {
					return fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","config":{"Labels":{"image":%q}},"rootfs":{"type":"layers","diff_ids":[%q]}}`, kind+tag, diff)
				}
				// The first image: pushed, then orphaned.
				oc := config("orphan-")
				om, _, err := c.pushImage("tmp-"+tag, oc, [][]byte{layer})
				if err == nil {
					err = c.do(http.MethodDelete, "/manifests/tmp-"+tag, "", nil, http.StatusAccepted)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", tag, err)
					return
				}
				orphanedAt := time.Now()
				// The second, reusing the layer as it turns old.
				time.Sleep(grace - 40*time.Millisecond + time.Duration(rnd.IntN(80))*time.Millisecond)
				km, nRefused, err := c.pushImage(tag, config(""), [][]byte{layer})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", tag, err)
					return
				}
				mu.Lock()
				refused += nRefused
				orphaned = append(orphaned, orphan{manifest: om, config: sha256Of(oc), at: orphanedAt})
				kept[tag] = km
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d images kept, %d orphaned, %d pushes refused MANIFEST_BLOB_UNKNOWN and retried", len(kept), len(orphaned), refused)
	if len(kept) < 10 || len(orphaned) < 10 {
		t.Fatalf("too few pushes to mean anything: %d kept, %d orphaned", len(kept), len(orphaned))
	}

	// Let the collector catch up with the last orphans.
	time.Sleep(grace + 3*interval + 500*time.Millisecond)

	for tag, md := range kept {
		ref := s.Registry + "/gc/app:" + tag
		crane(t, "validate", "--remote", ref)
		if got := strings.TrimSpace(string(crane(t, "digest", ref))); got != md {
			t.Errorf("%s is %s, pushed as %s", ref, got, md)
		}
	}
	for _, o := range orphaned {
		if err := c.do(http.MethodHead, "/manifests/"+o.manifest, "", nil, http.StatusNotFound); err != nil {
			t.Errorf("orphaned manifest %s (untagged %v ago): %v", o.manifest, time.Since(o.at).Round(time.Millisecond), err)
		}
		if err := c.do(http.MethodHead, "/blobs/"+o.config, "", nil, http.StatusNotFound); err != nil {
			t.Errorf("orphaned config %s: %v", o.config, err)
		}
	}

	runs := gcRuns(t, "http://"+s.HTTP+"/metrics")
	if runs["ok"] < 5 || runs["error"] != 0 {
		t.Errorf("stevedore_gc_runs_total = %v, want ≥ 5 ok and no error", runs)
	}
}

// orphan is an image whose tag was deleted: garbage once the grace is over.
type orphan struct {
	manifest, config string
	at               time.Time
}

// pusher pushes over the distribution API the way clients do: HEAD each
// blob, upload only the missing ones, then PUT the manifest.
type pusher struct{ base string }

// pushImage pushes an image and tags it. A manifest refused with
// MANIFEST_BLOB_UNKNOWN (a blob collected between the client's HEAD and the
// PUT, which the spec lets the registry say) is pushed again after the
// blobs, as a client would; how often is returned.
func (p *pusher) pushImage(tag string, config []byte, layers [][]byte) (string, int, error) {
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	blobs := append([][]byte{config}, layers...)
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, "application/vnd.oci.image.manifest.v1+json", desc{"application/vnd.oci.image.config.v1+json", sha256Of(config), len(config)}, nil}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc{"application/vnd.oci.image.layer.v1.tar+gzip", sha256Of(l), len(l)})
	}
	raw, _ := json.Marshal(m)
	for attempt := 0; attempt < 5; attempt++ {
		for _, b := range blobs {
			if p.do(http.MethodHead, "/blobs/"+sha256Of(b), "", nil, http.StatusOK) == nil {
				continue
			}
			if err := p.do(http.MethodPost, "/blobs/uploads/?digest="+sha256Of(b), "application/octet-stream", b, http.StatusCreated); err != nil {
				return "", attempt, err
			}
		}
		err := p.do(http.MethodPut, "/manifests/"+tag, m.MediaType, raw, http.StatusCreated)
		if err == nil {
			return sha256Of(raw), attempt, nil
		}
		if !strings.Contains(err.Error(), "MANIFEST_BLOB_UNKNOWN") {
			return "", attempt, err
		}
	}
	return "", 5, fmt.Errorf("manifest refused 5 times")
}

// do sends one request and requires the status want.
func (p *pusher) do(method, path, ctype string, body []byte, want int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return nil
}

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// gcRuns reads stevedore_gc_runs_total{result=...} from a /metrics page.
func gcRuns(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	re := regexp.MustCompile(`(?m)^stevedore_gc_runs_total\{result="(\w+)"\} (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = v
	}
	return out
}

// tarGz is a gzipped tar holding one file, name, with content, and the
// digest of the tar (its diff ID). Both are deterministic: the same content
// is the same blob.
func tarGz(t *testing.T, name string, content []byte) ([]byte, string) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		t.Error(err)
	}
	_, _ = tw.Write(content)
	_ = tw.Close()
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	_, _ = zw.Write(tb.Bytes())
	_ = zw.Close()
	return gb.Bytes(), sha256Of(tb.Bytes())
}
