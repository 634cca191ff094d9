package integration

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// pushLayersFirst pushes an image the way docker does — layers, then the
// config, then the manifest — and returns the first error.
func pushLayersFirst(p *pusher, tag string, config, layer []byte) error {
	for _, b := range [][]byte{layer, config} {
		if p.do(http.MethodHead, "/blobs/"+sha256Of(b), "", nil, http.StatusOK) == nil {
			continue
		}
		if err := p.do(http.MethodPost, "/blobs/uploads/?digest="+sha256Of(b), "application/octet-stream", b, http.StatusCreated); err != nil {
			return err
		}
	}
	return p.do(http.MethodPut, "/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json", imageManifest(config, layer), http.StatusCreated)
}

// blobFiles lists the regular files under dir/*/…/_oci/blobs (a
// repository's blobs) or, for the pool, dir/blobs.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.Contains(filepath.ToSlash(p), "/blobs/sha256/") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// duBytes is what `du --apparent-size -b -c` counts for files: each inode
// once, however many names (hard links) it has among them.
func duBytes(t *testing.T, files []string) int64 {
	t.Helper()
	if len(files) == 0 {
		return 0
	}
	out := mustRun(t, nil, "du", append([]string{"--apparent-size", "-b", "-c"}, files...)...)
	ls := lines(out)
	total := strings.Fields(ls[len(ls)-1])
	if len(total) != 2 || total[1] != "total" {
		t.Fatalf("du: %s", out)
	}
	n, err := strconv.ParseInt(total[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestQuota: a push that would take a quota's repositories past its bytes
// is refused with DENIED naming the quota, on the OCI port and through the
// API alike, and stores nothing; a repository one too many is refused; the
// usage StorageUsage reports matches du of the blobs on disk.
func TestQuota(t *testing.T) {
	cfg := writeServeConfig(t, `
quotas:
  - name: small
    repositories: "q/**"
    maxBytes: 3MiB
  - name: few
    repositories: "few/*"
    maxRepositories: 1
`)
	s, err := startStevedore(t, "serve-quota", serveOptions{Args: []string{"--config", cfg}})
	if err != nil {
		t.Fatal(err)
	}
	client := stevedorev1.NewImageServiceClient(s.Conn)
	ctx := context.Background()
	pushTo := func(repo string) *pusher { return &pusher{base: "http://" + s.Registry + "/v2/" + repo} }

	// 2 MiB in q/a, and a small image in q/s shared with q/s2 (counted in
	// each: 2 MiB + 2 × 100 KiB, under 3 MiB).
	ac, al := uniqueImage(t, "a", 2<<20)
	if err := pushLayersFirst(pushTo("q/a"), "v1", ac, al); err != nil {
		t.Fatal(err)
	}
	sc, sl := uniqueImage(t, "s", 100<<10)
	if err := pushLayersFirst(pushTo("q/s"), "v1", sc, sl); err != nil {
		t.Fatal(err)
	}
	crane(t, "copy", s.Registry+"/q/s:v1", s.Registry+"/q/s2:v1")

	pool := filepath.Join(s.Data, "blobs")
	before := len(blobFiles(t, pool))

	// Another 2 MiB: refused at the layer's upload, nothing stored.
	bc, bl := uniqueImage(t, "b", 2<<20)
	err = pushLayersFirst(pushTo("q/b"), "v1", bc, bl)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), `"DENIED"`) || !strings.Contains(err.Error(), "quota small") {
		t.Fatalf("push over quota: %v, want 403 DENIED naming quota small", err)
	}
	t.Logf("refusal: %v", err)
	if after := len(blobFiles(t, pool)); after != before {
		t.Errorf("the refused push left %d blob files in the pool", after-before)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Data, "uploads")); len(entries) != 0 {
		t.Errorf("the refused push left %d upload sessions", len(entries))
	}
	if _, err := os.Stat(filepath.Join(s.Data, "repos", "q", "b")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused push created repository q/b: %v", err)
	}

	// crane, chunked: refused too, the layer nowhere.
	r, err := run(nil, "crane", "copy", s.Registry+"/q/a:v1", s.Registry+"/q/a2:v1")
	if err != nil {
		t.Fatal(err)
	}
	if r.Code == 0 || !strings.Contains(string(r.Stderr), "DENIED") {
		t.Errorf("crane copy of 2 MiB more: exit %d, %s; want a DENIED failure (a blob shared with q/a counts in q/a2 too)", r.Code, r.Stderr)
	}
	_, big := uniqueImage(t, "crane", 4<<20)
	layerTar := filepath.Join(t.TempDir(), "layer.tar")
	if err := os.WriteFile(layerTar, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if r, _ := run(nil, "crane", "append", "-f", layerTar, "-t", s.Registry+"/q/c:v1"); r.Code == 0 || !strings.Contains(string(r.Stderr), "DENIED") {
		t.Errorf("crane append of 4 MiB: exit %d, %s", r.Code, r.Stderr)
	}
	if after := len(blobFiles(t, pool)); after != before {
		t.Errorf("refused crane pushes left %d blob files in the pool", after-before)
	}

	// Through the API (store: writes): the same refusal.
	stream, err := client.Copy(ctx, &stevedorev1.CopyRequest{Source: s.Registry + "/q/a:v1", Destination: "store:q/api:v1"})
	if err == nil {
		for err == nil {
			_, err = stream.Recv()
		}
	}
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(status.Convert(err).Message(), "quota small") {
		t.Errorf("API copy over quota: %v, want PERMISSION_DENIED naming quota small", err)
	}
	if errors.Is(err, io.EOF) {
		t.Error("API copy over quota succeeded")
	}

	// One repository under few/*, not two.
	fc, fl := uniqueImage(t, "f", 1024)
	if err := pushLayersFirst(pushTo("few/one"), "v1", fc, fl); err != nil {
		t.Fatal(err)
	}
	if err := pushLayersFirst(pushTo("few/two"), "v1", fc, fl); err == nil || !strings.Contains(err.Error(), "quota few") {
		t.Errorf("a second repository under few/*: %v, want DENIED naming quota few", err)
	}

	// Usage matches du: per repository, its blob files; in all, every
	// inode once (a blob shared by q/s and q/s2 is one file, hard-linked).
	u, err := client.StorageUsage(ctx, &stevedorev1.StorageUsageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	var sumQ int64
	nQ := 0
	for _, ru := range u.GetRepositories() {
		files := blobFiles(t, filepath.Join(s.Data, "repos", filepath.FromSlash(ru.GetName()), "_oci"))
		all = append(all, files...)
		if du := duBytes(t, files); du != ru.GetBytes() {
			t.Errorf("%s: StorageUsage %d bytes, du %d", ru.GetName(), ru.GetBytes(), du)
		}
		if strings.HasPrefix(ru.GetName(), "q/") {
			sumQ += ru.GetBytes()
			nQ++
		}
	}
	if du := duBytes(t, all); du != u.GetTotalBytes() {
		t.Errorf("total: StorageUsage %d bytes, du %d", u.GetTotalBytes(), du)
	}
	var small *stevedorev1.QuotaUsage
	for _, q := range u.GetQuotas() {
		if q.GetName() == "small" {
			small = q
		}
	}
	if small == nil || small.GetUsedBytes() != sumQ || small.GetMaxBytes() != 3<<20 || small.GetRepositoryCount() != int32(nQ) {
		t.Fatalf("quota small in StorageUsage: %v, want %d bytes used in %d repositories (%v)", small, sumQ, nQ, u.GetRepositories())
	}
	t.Logf("quota small: %d of %d bytes used; store total %d bytes (du agrees); repositories %v", small.GetUsedBytes(), small.GetMaxBytes(), u.GetTotalBytes(), u.GetRepositories())
	if v := metricValue(t, s.HTTP, `stevedore_quota_used_bytes{quota="small"}`); int64(v) != sumQ {
		t.Errorf("stevedore_quota_used_bytes{quota=small} = %v, want %d", v, sumQ)
	}
	if v := metricValue(t, s.HTTP, `stevedore_quota_denied_total{quota="small"}`); v < 4 {
		t.Errorf("stevedore_quota_denied_total{quota=small} = %v, want ≥ 4", v)
	}
}
