package served_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

func newQuotaBackend(t *testing.T, quotas ...served.Quota) (*served.QuotaBackend, *[]string) {
	t.Helper()
	root, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var denied []string
	var mu sync.Mutex
	qb, err := served.WithQuotas(root.Backend(), quotas, served.QuotaOptions{Denied: func(q served.Quota) {
		mu.Lock()
		denied = append(denied, q.Label())
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	return qb, &denied
}

func blobOf(n int, seed byte) ([]byte, oci.Descriptor) {
	b := bytes.Repeat([]byte{seed}, n)
	return b, oci.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(n)}
}

// isQuotaDenial reports a refusal naming quota name.
func isQuotaDenial(err error, name string) bool {
	var re *served.RejectError
	return errors.As(err, &re) && re.Code == errdef.CodeDenied && errors.Is(err, errdef.ErrDenied) && strings.Contains(re.Msg, "quota "+name)
}

func TestQuotaBytes(t *testing.T) {
	ctx := context.Background()
	b, denied := newQuotaBackend(t, served.Quota{Name: "team", Repositories: "team/**", MaxBytes: 1000})
	put := func(name string, n int, seed byte) error {
		repo, err := b.CreateRepo(ctx, name)
		if err != nil {
			return err
		}
		defer repo.Close()
		data, d := blobOf(n, seed)
		return b.Put(ctx, repo, d, bytes.NewReader(data))
	}
	steps := []struct {
		name   string
		repo   string
		size   int
		seed   byte
		denied bool
	}{
		{"first blob", "team/a", 600, 1, false},
		{"same blob again costs nothing", "team/a", 600, 1, false},
		{"over by one", "team/b", 401, 2, true},
		{"exactly to the bound", "team/b", 400, 2, false},
		{"a shared blob counts once per repository", "team/c", 600, 1, true},
		{"other repositories are not covered", "other", 5000, 3, false},
	}
	for _, s := range steps {
		err := put(s.repo, s.size, s.seed)
		if s.denied != isQuotaDenial(err, "team") {
			t.Fatalf("%s: err = %v, denied want %v", s.name, err, s.denied)
		}
	}
	if len(*denied) != 2 {
		t.Errorf("Denied hook called %v", *denied)
	}
	// The refused push left nothing: the repository it created is gone.
	if _, err := b.Repo(ctx, "team/c"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("team/c after a refused first push: %v, want not found", err)
	}
	u, err := b.Usage(ctx)
	if err != nil || len(u) != 1 || u[0].UsedBytes != 1000 || u[0].RepositoryCount != 2 {
		t.Fatalf("Usage = %+v, %v", u, err)
	}
	// StorageUsage reports the quota with the same numbers.
	names, _ := b.Repositories(ctx)
	su, err := served.StorageUsage(ctx, b, names)
	if err != nil || len(su.Quotas) != 1 || su.Quotas[0].UsedBytes != 1000 {
		t.Fatalf("StorageUsage quotas = %+v, %v", su.Quotas, err)
	}
	// Deleting gives the room back.
	repo, _ := b.Repo(ctx, "team/a")
	_, d := blobOf(600, 1)
	if err := repo.Delete(ctx, d.Digest); err != nil {
		t.Fatal(err)
	}
	repo.Close()
	if err := put("team/c", 600, 4); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
}

func TestQuotaUploads(t *testing.T) {
	ctx := context.Background()
	b, _ := newQuotaBackend(t, served.Quota{Repositories: "q", MaxBytes: 100})
	data, d := blobOf(150, 7)

	// A chunk of known length that would go over is refused before it is stored.
	up, err := b.StartUpload(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteUpload(ctx, "q", up.ID, 0, 150, bytes.NewReader(data)); !isQuotaDenial(err, "q") {
		t.Fatalf("WriteUpload over quota: %v", err)
	}
	// Chunks of unknown length go in; the closing PUT is refused, and the
	// session is gone.
	if _, err := b.WriteUpload(ctx, "q", up.ID, 0, -1, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CommitUpload(ctx, "q", up.ID, d.Digest, -1, 0, nil); !isQuotaDenial(err, "q") {
		t.Fatalf("CommitUpload over quota: %v", err)
	}
	if _, err := b.UploadStatus(ctx, "q", up.ID); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("refused session still there: %v", err)
	}
	// A monolithic commit of unknown length is admitted after, and given back.
	up, _ = b.StartUpload(ctx, "q")
	if _, err := b.CommitUpload(ctx, "q", up.ID, d.Digest, -1, -1, bytes.NewReader(data)); !isQuotaDenial(err, "q") {
		t.Fatalf("unknown-length commit over quota: %v", err)
	}
	if _, err := b.Repo(ctx, "q"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("repository q after the blob admitted over quota was given back: %v, want not found", err)
	}
	// Within the quota every path works.
	small, sd := blobOf(60, 8)
	up, _ = b.StartUpload(ctx, "q")
	if n, err := b.CommitUpload(ctx, "q", up.ID, sd.Digest, -1, 60, bytes.NewReader(small)); err != nil || n != 60 {
		t.Fatalf("commit within quota: %d, %v", n, err)
	}
	// Now 60 of 100 are used: 41 more is refused already at the chunk.
	_, od := blobOf(41, 9)
	up, _ = b.StartUpload(ctx, "q")
	if _, err := b.CommitUpload(ctx, "q", up.ID, od.Digest, -1, 41, bytes.NewReader(make([]byte, 41))); !isQuotaDenial(err, "q") {
		t.Fatalf("second commit: %v", err)
	}
}

func TestQuotaRepositoryCount(t *testing.T) {
	ctx := context.Background()
	b, _ := newQuotaBackend(t, served.Quota{Name: "few", Repositories: "ns/*", MaxRepositories: 2})
	for i, want := range []bool{false, false, true} {
		name := fmt.Sprintf("ns/r%d", i)
		_, err := b.CreateRepo(ctx, name)
		if got := isQuotaDenial(err, "few"); got != want {
			t.Fatalf("%s: %v, denied want %v", name, err, want)
		}
		if _, err := b.StartUpload(ctx, name); isQuotaDenial(err, "few") != want {
			t.Fatalf("StartUpload %s: %v", name, err)
		}
	}
	// An existing repository takes pushes; one outside the glob is free.
	if _, err := b.CreateRepo(ctx, "ns/r0"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateRepo(ctx, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	// A manifest push creating a repository is held too.
	raw := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	if _, err := served.PutManifest(ctx, b, "ns/r9", raw, served.ManifestPut{MediaType: "application/vnd.oci.image.index.v1+json", Tags: []string{"v1"}}); !isQuotaDenial(err, "few") {
		t.Fatalf("PutManifest into a new repository: %v", err)
	}
}

// TestQuotaConcurrentPushes: pushes racing for the last bytes of a quota
// cannot overshoot it together.
func TestQuotaConcurrentPushes(t *testing.T) {
	ctx := context.Background()
	b, _ := newQuotaBackend(t, served.Quota{Repositories: "**", MaxBytes: 1000})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			repo, err := b.CreateRepo(ctx, fmt.Sprintf("r%d", i%3))
			if err != nil {
				t.Error(err)
				return
			}
			defer repo.Close()
			data, d := blobOf(300, byte(i))
			if err := b.Put(ctx, repo, d, bytes.NewReader(data)); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !isQuotaDenial(err, "**") {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 3 {
		t.Errorf("%d pushes of 300 bytes under a 1000-byte quota succeeded, want 3", ok)
	}
}

func TestQuotaCheck(t *testing.T) {
	for _, q := range []served.Quota{
		{Repositories: "a/**"},
		{Repositories: "", MaxBytes: 1},
		{Repositories: "a/[", MaxBytes: 1},
		{Repositories: "a", MaxBytes: -1},
	} {
		if err := q.Check(); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("Check(%+v) = %v, want ErrInvalid", q, err)
		}
	}
}
