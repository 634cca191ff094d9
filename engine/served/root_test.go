package served_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

func newRoot(t *testing.T) *served.Root {
	t.Helper()
	r, err := served.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRootRepoNames(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	for _, name := range []string{"", "..", "a/../b", "A", "a//b", "/a", "a/", "_oci", "a/_oci", strings.Repeat("a", 256)} {
		if _, err := r.CreateRepo(ctx, name); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("CreateRepo(%q) = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := r.Repo(ctx, "never/pushed"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Repo of unknown = %v", err)
	}
	for _, name := range []string{"b", "a/b/c", "a", "a-b"} {
		if _, err := r.CreateRepo(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Repositories(ctx)
	if err != nil || strings.Join(got, " ") != "a a-b a/b/c b" {
		t.Fatalf("Repositories = %v, %v", got, err)
	}
}

// TestUnknownRepoHidesPaths: a missing repository is NotFound naming the
// repository; the server's directory never reaches the caller.
func TestUnknownRepoHidesPaths(t *testing.T) {
	dir := t.TempDir()
	r, err := served.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = r.Repo(ctx, "team/never")
	if !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "team/never") || strings.Contains(err.Error(), dir) {
		t.Errorf("Repo: %v", err)
	}
	_, err = served.DeleteRepository(ctx, r.Backend(), "team/never")
	if !errors.Is(err, errdef.ErrNotFound) || strings.Contains(err.Error(), dir) {
		t.Errorf("DeleteRepository: %v", err)
	}
}

func TestUploadLifecycle(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	blob := []byte("hello, chunked world")
	d := digest.FromBytes(blob)
	up, err := r.StartUpload(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.UploadStatus(ctx, "other", up.ID); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("status from another repo = %v", err)
	}
	if up, err = r.WriteUpload(ctx, "a/b", up.ID, 0, 5, bytes.NewReader(blob[:5])); err != nil || up.Offset != 5 {
		t.Fatalf("write = %+v, %v", up, err)
	}
	var oe *served.OffsetError
	if _, err := r.WriteUpload(ctx, "a/b", up.ID, 7, 3, bytes.NewReader(blob[7:10])); !errors.As(err, &oe) || oe.Upload.Offset != 5 {
		t.Fatalf("out of order = %v", err)
	}
	// A body shorter than declared leaves the session as it was.
	if _, err := r.WriteUpload(ctx, "a/b", up.ID, 5, 10, bytes.NewReader(blob[5:8])); !errors.Is(err, errdef.ErrSizeMismatch) {
		t.Fatalf("short chunk = %v", err)
	}
	if up, _ = r.UploadStatus(ctx, "a/b", up.ID); up.Offset != 5 {
		t.Fatalf("offset after failed chunk = %d", up.Offset)
	}
	if _, err := r.CommitUpload(ctx, "a/b", up.ID, digest.FromString("other"), 5, -1, bytes.NewReader(blob[5:])); !errors.Is(err, errdef.ErrDigestMismatch) {
		t.Fatalf("commit with wrong digest = %v", err)
	}
	// The session survives a wrong digest, holding everything sent.
	if up, err = r.UploadStatus(ctx, "a/b", up.ID); err != nil || up.Offset != int64(len(blob)) {
		t.Fatalf("status after mismatch = %+v, %v", up, err)
	}
	n, err := r.CommitUpload(ctx, "a/b", up.ID, d, -1, -1, nil)
	if err != nil || n != int64(len(blob)) {
		t.Fatalf("commit = %d, %v", n, err)
	}
	if _, err := r.UploadStatus(ctx, "a/b", up.ID); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("session after commit = %v", err)
	}
	fs, err := r.Repo(ctx, "a/b")
	if err != nil {
		t.Fatal(err)
	}
	if size, err := fs.Stat(ctx, d); err != nil || size != int64(len(blob)) {
		t.Fatalf("Stat = %d, %v", size, err)
	}
}

// sha512 uploads are hashed at commit, from the data file.
func TestUploadSHA512(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	blob := []byte("sha512 content")
	d := digest.SHA512.FromBytes(blob)
	up, _ := r.StartUpload(ctx, "x")
	if _, err := r.WriteUpload(ctx, "x", up.ID, -1, -1, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CommitUpload(ctx, "x", up.ID, d, -1, 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestUploadIDsNeverPaths(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	for _, id := range []string{"", "..", "../repos", "a/b", "0d3b0b7e-1c1d-4f5e-9a1b-2c3d4e5f6a7B", strings.Repeat("0", 36)} {
		if _, err := r.UploadStatus(ctx, "x", id); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("UploadStatus(%q) = %v", id, err)
		}
		if err := r.CancelUpload(ctx, "x", id); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("CancelUpload(%q) = %v", id, err)
		}
	}
	if _, err := r.StartUpload(ctx, "../x"); !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("StartUpload with bad repo = %v", err)
	}
}

func TestExpireUploads(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	old, _ := r.StartUpload(ctx, "x")
	cutoff := time.Now().Add(time.Second)
	n, err := r.ExpireUploads(ctx, cutoff)
	if err != nil || n != 1 {
		t.Fatalf("ExpireUploads = %d, %v", n, err)
	}
	if _, err := r.UploadStatus(ctx, "x", old.ID); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("expired session still there: %v", err)
	}
	fresh, _ := r.StartUpload(ctx, "x")
	if n, _ := r.ExpireUploads(ctx, time.Now().Add(-time.Hour)); n != 0 {
		t.Fatalf("expired a fresh session")
	}
	r.CancelUpload(ctx, "x", fresh.ID)
}

// Concurrent pushes of one blob into many repositories leave one verified
// file, linked everywhere, and no temp files.
func TestConcurrentCommitsSameBlob(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	blob := bytes.Repeat([]byte("z"), 1<<20)
	d := digest.FromBytes(blob)
	var wg sync.WaitGroup
	for i := range 8 {
		repo := "r" + string(rune('a'+i))
		wg.Go(func() {
			up, err := r.StartUpload(ctx, repo)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := r.CommitUpload(ctx, repo, up.ID, d, -1, -1, bytes.NewReader(blob)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	fi, err := os.Stat(filepath.Join(r.Dir(), "blobs", "sha256", d.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		gi, err := os.Stat(filepath.Join(r.Dir(), "repos", "r"+string(rune('a'+i)), "_oci", "blobs", "sha256", d.Encoded()))
		if err != nil || !os.SameFile(fi, gi) {
			t.Fatalf("repo %d: not the pool's file (%v)", i, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(r.Dir(), "uploads")); len(entries) != 0 {
		t.Fatalf("sessions left: %v", entries)
	}
}

func TestMountAndPut(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	a, _ := r.CreateRepo(ctx, "a")
	b, _ := r.CreateRepo(ctx, "b")
	blob := []byte("manifest-ish")
	desc := oci.Descriptor{Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	if err := r.Put(ctx, a, desc, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Mount(ctx, b, digest.FromString("absent"), a); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Mount of absent = %v", err)
	}
	if n, err := r.Mount(ctx, b, desc.Digest, a); err != nil || n != desc.Size {
		t.Fatalf("Mount = %d, %v", n, err)
	}
	c, _ := r.CreateRepo(ctx, "c")
	if _, err := r.Mount(ctx, c, desc.Digest, nil); err != nil {
		t.Fatalf("Mount from the pool = %v", err)
	}
}

func TestReferrersRecord(t *testing.T) {
	r := newRoot(t)
	ctx := context.Background()
	subj, ref1, ref2 := digest.FromString("s"), digest.FromString("1"), digest.SHA512.FromString("2")
	if ds, err := r.Referrers(ctx, "x", subj); err != nil || len(ds) != 0 {
		t.Fatalf("Referrers of nothing = %v, %v", ds, err)
	}
	r.AddReferrer(ctx, "x", subj, ref1)
	r.AddReferrer(ctx, "x", subj, ref2)
	r.AddReferrer(ctx, "x", subj, ref1)
	ds, err := r.Referrers(ctx, "x", subj)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Referrers = %v, %v", ds, err)
	}
	r.RemoveReferrer(ctx, "x", subj, ref1)
	if ds, _ := r.Referrers(ctx, "x", subj); len(ds) != 1 || ds[0] != ref2 {
		t.Fatalf("after remove = %v", ds)
	}
	if _, err := r.Referrers(ctx, "../x", subj); !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("bad repo = %v", err)
	}
}
