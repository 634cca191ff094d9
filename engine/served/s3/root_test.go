package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/store/storetest"
)

// newFakeRoots returns n Roots — n replicas — sharing one fake bucket.
func newFakeRoots(t *testing.T, n int) (*fakeS3, []*Root) {
	t.Helper()
	f := &fakeS3{conditional: true, pageSize: 2, objects: map[string][]byte{}, modified: map[string]time.Time{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var roots []*Root
	for range n {
		r, err := NewRoot(context.Background(), Options{Endpoint: srv.URL, Bucket: "b", AccessKey: "k", SecretKey: "s", HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, r)
	}
	return f, roots
}

// TestConformanceOnFake runs the store conformance suite against the fake,
// with list pages of two keys so every listing pages.
func TestConformanceOnFake(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		f, s := newFake(t, true)
		f.pageSize = 2
		return s
	})
}

func TestUploadAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 3)
	content := []byte("hello, chunked world")
	d := digest.FromBytes(content)
	up, err := rs[0].StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	// Chunks of 5 bytes, each to the next replica; one of unknown size.
	for i, off := 0, int64(0); off < 15; i, off = i+1, off+5 {
		size := int64(5)
		if i == 1 {
			size = -1
		}
		got, err := rs[i%3].WriteUpload(ctx, "app", up.ID, off, size, bytes.NewReader(content[off:off+5]))
		if err != nil {
			t.Fatalf("chunk at %d: %v", off, err)
		}
		if got.Offset != off+5 {
			t.Fatalf("offset after chunk at %d = %d", off, got.Offset)
		}
	}
	t.Run("stale offset", func(t *testing.T) {
		_, err := rs[1].WriteUpload(ctx, "app", up.ID, 5, 5, strings.NewReader("xxxxx"))
		var oe *served.OffsetError
		if !errors.As(err, &oe) || oe.Upload.Offset != 15 {
			t.Fatalf("err = %v, want an OffsetError at 15", err)
		}
	})
	t.Run("other repository", func(t *testing.T) {
		if _, err := rs[1].UploadStatus(ctx, "other", up.ID); !errors.Is(err, errdef.ErrNotFound) {
			t.Fatalf("err = %v, want not found", err)
		}
	})
	t.Run("wrong digest writes nothing", func(t *testing.T) {
		wrong := digest.FromString("something else")
		_, err := rs[2].CommitUpload(ctx, "app", up.ID, wrong, -1, 0, nil)
		if !errors.Is(err, errdef.ErrDigestMismatch) {
			t.Fatalf("err = %v, want digest mismatch", err)
		}
		if k := f.keys("blobs/"); len(k) != 0 {
			t.Fatalf("blobs after a failed commit: %q", k)
		}
		if got, err := rs[0].UploadStatus(ctx, "app", up.ID); err != nil || got.Offset != 15 {
			t.Fatalf("session after a failed commit: %+v, %v", got, err)
		}
	})
	n, err := rs[2].CommitUpload(ctx, "app", up.ID, d, 15, int64(len(content)-15), bytes.NewReader(content[15:]))
	if err != nil || n != int64(len(content)) {
		t.Fatalf("commit = %d, %v", n, err)
	}
	if b := f.objects[rs[0].s.keys.blob(d)]; !bytes.Equal(b, content) {
		t.Fatalf("blob = %q", b)
	}
	if _, ok := f.objects[rs[0].s.keys.member("app", d)]; !ok {
		t.Error("no membership marker")
	}
	if k := f.keys("uploads/"); len(k) != 0 {
		t.Errorf("session left behind: %q", k)
	}
}

// TestChunkRace races replicas for one offset: exactly one chunk is stored,
// and every loser gets an OffsetError (the registry's 416).
func TestChunkRace(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 3)
	up, err := rs[0].StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			body := fmt.Sprintf("chunk-%d", i)
			_, errs[i] = rs[i%3].WriteUpload(ctx, "app", up.ID, 0, int64(len(body)), strings.NewReader(body))
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		var oe *served.OffsetError
		switch {
		case err == nil:
			wins++
		case !errors.As(err, &oe):
			t.Errorf("writer %d: %v, want an OffsetError", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers won, want 1", wins)
	}
	if k := f.keys(rs[0].s.keys.chunks(up.ID)); len(k) != 1 {
		t.Fatalf("chunks %q, want one", k)
	}
}

func TestExpireUploads(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 1)
	r := rs[0]
	old, _ := r.StartUpload(ctx, "app")
	r.WriteUpload(ctx, "app", old.ID, 0, 3, strings.NewReader("abc"))
	young, _ := r.StartUpload(ctx, "app")
	// The record's Started is what counts; rewrite the old one's.
	rec := fmt.Sprintf(`{"repo":"app","started":%q}`, time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339))
	f.objects[r.s.keys.session(old.ID)] = []byte(rec)
	// A session without its record (crashed mid-create) expires by age.
	orphan := newUUID()
	f.objects[r.s.keys.chunk(orphan, 0)] = []byte("x")
	f.age(r.s.keys.upload(orphan), 2*time.Hour)

	n, err := r.ExpireUploads(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("expired %d, %v; want 2", n, err)
	}
	if c, _ := r.CountUploads(ctx); c != 1 {
		t.Fatalf("%d sessions left, want 1", c)
	}
	if _, err := r.UploadStatus(ctx, "app", young.ID); err != nil {
		t.Fatalf("young session: %v", err)
	}
}

func TestRepositoryRecords(t *testing.T) {
	ctx := context.Background()
	_, rs := newFakeRoots(t, 2)
	if _, err := rs[0].Repo(ctx, "a/b"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Repo of a missing repository: %v", err)
	}
	names := []string{"z", "a/b", "a/b/c", "m"}
	for i, n := range names {
		// Each created twice, from two replicas: create-once is idempotent.
		for _, r := range []*Root{rs[i%2], rs[(i+1)%2]} {
			if _, err := r.CreateRepo(ctx, n); err != nil {
				t.Fatalf("CreateRepo %s: %v", n, err)
			}
		}
	}
	got, err := rs[1].Repositories(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a/b", "a/b/c", "m", "z"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Repositories = %q, want %q", got, want)
	}
	if _, err := rs[1].Repo(ctx, "a/b"); err != nil {
		t.Fatalf("Repo: %v", err)
	}
	if _, err := rs[0].CreateRepo(ctx, "Bad!"); !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("CreateRepo of a bad name: %v", err)
	}
}

func TestReferrerMarkers(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 2)
	subject := digest.FromString("subject")
	var want []digest.Digest
	for i := range 5 { // more than a list page
		d := digest.FromString(fmt.Sprint("referrer ", i))
		want = append(want, d)
		if err := rs[i%2].AddReferrer(ctx, "app", subject, d); err != nil {
			t.Fatal(err)
		}
	}
	// Another subject and another repository stay apart.
	rs[0].AddReferrer(ctx, "app", digest.FromString("other"), want[0])
	rs[0].AddReferrer(ctx, "app2", subject, want[1])
	got, err := rs[1].Referrers(ctx, "app", subject)
	if err != nil {
		t.Fatal(err)
	}
	key := func(ds []digest.Digest) string {
		s := make([]string, len(ds))
		for i, d := range ds {
			s[i] = d.String()
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}
	if key(got) != key(want) {
		t.Fatalf("Referrers = %v, want %v", got, want)
	}
	if err := rs[0].RemoveReferrer(ctx, "app", subject, want[2]); err != nil {
		t.Fatal(err)
	}
	got, _ = rs[1].Referrers(ctx, "app", subject)
	if len(got) != 4 {
		t.Fatalf("after remove: %v", got)
	}
	if _, ok := f.objects[rs[0].s.keys.referrer("app", subject, want[2])]; ok {
		t.Fatal("removed marker still stored")
	}
	if err := rs[0].AddReferrer(ctx, "app", "sha256:nothex", want[0]); !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("bad subject: %v", err)
	}
}

func TestGCLease(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 2)
	l, err := rs[0].s.acquireLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs[1].s.acquireLease(ctx); !errors.Is(err, errdef.ErrUnavailable) {
		t.Fatalf("second lease: %v, want unavailable", err)
	}
	if _, err := rs[1].GC(ctx, served.GCOptions{}); !errors.Is(err, errdef.ErrUnavailable) {
		t.Fatalf("GC while leased elsewhere: %v, want unavailable", err)
	}
	if _, err := rs[1].GC(ctx, served.GCOptions{DryRun: true}); err != nil {
		t.Fatalf("dry run needs no lease: %v", err)
	}
	if err := l.renew(ctx); err != nil {
		t.Fatalf("renew: %v", err)
	}
	l.release(ctx)
	l2, err := rs[1].s.acquireLease(ctx)
	if err != nil {
		t.Fatalf("lease after release: %v", err)
	}
	// An expired lease is taken over; its old holder cannot renew.
	rec := fmt.Sprintf(`{"holder":"gone","expires":%q}`, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	f.objects[rs[0].s.keys.lease()] = []byte(rec)
	if _, err := rs[0].s.acquireLease(ctx); err != nil {
		t.Fatalf("taking over an expired lease: %v", err)
	}
	if err := l2.renew(ctx); !errors.Is(err, errdef.ErrAlreadyExists) {
		t.Fatalf("renewing a lost lease: %v, want a conflict", err)
	}
}

// TestGCAcrossReplicas collects on one replica: what a tag reaches stays,
// an old unreferenced blob goes, a young one (a push in progress elsewhere)
// stays.
func TestGCAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 2)
	repo, err := rs[0].CreateRepo(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	put := func(r *Root, content string) oci.Descriptor {
		t.Helper()
		b, d := storetest.Blob(content)
		if err := r.Put(ctx, repo, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cfg := put(rs[0], "{}")
	m := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":2},"layers":[]}`, oci.MediaTypeImageManifest, oci.MediaTypeImageConfig, cfg.Digest))
	md := oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digest.FromBytes(m), Size: int64(len(m))}
	if err := rs[0].Put(ctx, repo, md, bytes.NewReader(m)); err != nil {
		t.Fatal(err)
	}
	if err := repo.Tag(ctx, md, "v1"); err != nil {
		t.Fatal(err)
	}
	garbage := put(rs[0], "garbage")
	f.age("", 2*time.Hour)
	young := put(rs[1], "pushed a moment ago on the other replica")

	rep, err := rs[1].GC(ctx, served.GCOptions{Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PoolRemoved != 1 || rep.Removed != 1 {
		t.Errorf("report %+v, want one marker and one blob removed", rep)
	}
	for d, wantKept := range map[digest.Digest]bool{cfg.Digest: true, md.Digest: true, young.Digest: true, garbage.Digest: false} {
		if _, ok := f.objects[rs[0].s.keys.blob(d)]; ok != wantKept {
			t.Errorf("blob %s kept = %v, want %v", d, ok, wantKept)
		}
	}
	if _, err := rs[0].s.acquireLease(ctx); err != nil {
		t.Errorf("lease not released after GC: %v", err)
	}
}
