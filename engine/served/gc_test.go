package served_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// gcFixture is a data directory with reachable and unreachable content in
// two repositories.
type gcFixture struct {
	root *served.Root
	a, b *store.FS
	// keepA must survive in repository a, goneA and goneB must not; freed
	// are the pool blobs no repository holds afterwards.
	keepA, goneA, goneB, freed []digest.Digest
}

func putBlob(t *testing.T, r *served.Root, repo *store.FS, mt string, b []byte) oci.Descriptor {
	t.Helper()
	d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if err := r.Put(context.Background(), repo, d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

func putManifest(t *testing.T, r *served.Root, repo *store.FS, doc map[string]any) oci.Descriptor {
	t.Helper()
	doc["schemaVersion"] = 2
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return putBlob(t, r, repo, doc["mediaType"].(string), b)
}

func image(config oci.Descriptor, layers ...oci.Descriptor) map[string]any {
	return map[string]any{"mediaType": oci.MediaTypeImageManifest, "config": config, "layers": layers}
}

func newGCFixture(t *testing.T) *gcFixture {
	t.Helper()
	ctx := context.Background()
	r := newRoot(t)
	a, err := r.CreateRepo(ctx, "app/a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.CreateRepo(ctx, "app/b")
	if err != nil {
		t.Fatal(err)
	}
	f := &gcFixture{root: r, a: a, b: b}
	blob := func(repo *store.FS, s string) oci.Descriptor {
		return putBlob(t, r, repo, oci.MediaTypeLayer, []byte(s))
	}
	cfg := putBlob(t, r, a, oci.MediaTypeImageConfig, []byte(`{"os":"linux"}`))
	empty := putBlob(t, r, a, oci.MediaTypeEmptyJSON, []byte(`{}`))
	shared, l2 := blob(a, "shared layer"), blob(a, "layer 2")

	// Tagged image.
	m1 := putManifest(t, r, a, image(cfg, shared, l2))
	if err := a.Tag(ctx, m1, "v1"); err != nil {
		t.Fatal(err)
	}
	// Untagged root (pushed by digest).
	l3 := blob(a, "layer 3")
	m2 := putManifest(t, r, a, image(cfg, l3))
	if err := a.AddRoot(ctx, m2); err != nil {
		t.Fatal(err)
	}
	// Tagged index over a manifest that is no root itself.
	l6 := blob(a, "layer 6")
	m4 := putManifest(t, r, a, image(cfg, l6))
	idx := putManifest(t, r, a, map[string]any{"mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{m4}})
	if err := a.Tag(ctx, idx, "multi"); err != nil {
		t.Fatal(err)
	}
	// A referrer of m1, recorded only in the referrers record.
	l5 := blob(a, "signature")
	ref := image(empty, l5)
	ref["subject"] = m1
	ref["artifactType"] = "application/vnd.example.sig"
	rm := putManifest(t, r, a, ref)
	if err := r.AddReferrer(ctx, "app/a", m1.Digest, rm.Digest); err != nil {
		t.Fatal(err)
	}
	// Garbage: an untagged manifest and its only layer, and an orphan blob.
	l4 := blob(a, "layer 4")
	m3 := putManifest(t, r, a, image(cfg, l4))
	if err := a.Tag(ctx, m3, "old"); err != nil {
		t.Fatal(err)
	}
	if err := a.Untag(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	orphan := blob(a, "orphan")
	// Repository b holds the shared layer only, unreferenced.
	if _, err := r.Mount(ctx, b, shared.Digest, a); err != nil {
		t.Fatal(err)
	}

	f.keepA = []digest.Digest{cfg.Digest, empty.Digest, shared.Digest, l2.Digest, m1.Digest, l3.Digest, m2.Digest,
		l6.Digest, m4.Digest, idx.Digest, l5.Digest, rm.Digest}
	f.goneA = []digest.Digest{m3.Digest, l4.Digest, orphan.Digest}
	f.goneB = []digest.Digest{shared.Digest}
	f.freed = f.goneA
	return f
}

// snapshot lists every file under dir with its size, to prove a dry run
// changes nothing.
func snapshot(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			out[p] = fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	later := time.Now().Add(2 * time.Hour) // everything is older than the grace period
	f := newGCFixture(t)
	poolPath := func(d digest.Digest) string {
		return filepath.Join(f.root.Dir(), "blobs", d.Algorithm().String(), d.Encoded())
	}

	t.Run("young content is kept", func(t *testing.T) {
		before := snapshot(t, f.root.Dir())
		rep, err := f.root.GC(ctx, served.GCOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Removed != 0 || rep.PoolRemoved != 0 || rep.Young != len(f.goneA)+len(f.goneB) {
			t.Fatalf("report %+v, want nothing removed and %d young", rep, len(f.goneA)+len(f.goneB))
		}
		if diff := cmp.Diff(before, snapshot(t, f.root.Dir())); diff != "" {
			t.Fatalf("GC inside the grace period changed files (-before +after):\n%s", diff)
		}
	})

	var dry served.GCReport
	t.Run("dry run", func(t *testing.T) {
		before := snapshot(t, f.root.Dir())
		var err error
		dry, err = f.root.GC(ctx, served.GCOptions{DryRun: true, Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if dry.Removed != len(f.goneA)+len(f.goneB) || dry.PoolRemoved != len(f.freed) || dry.Repositories != 2 || len(dry.Skipped) != 0 {
			t.Fatalf("dry run report %+v", dry)
		}
		if diff := cmp.Diff(before, snapshot(t, f.root.Dir())); diff != "" {
			t.Fatalf("dry run changed files (-before +after):\n%s", diff)
		}
	})

	t.Run("sweep", func(t *testing.T) {
		rep, err := f.root.GC(ctx, served.GCOptions{Now: later})
		if err != nil {
			t.Fatal(err)
		}
		dry.DryRun = false
		if diff := cmp.Diff(dry, rep); diff != "" {
			t.Errorf("sweep report differs from the dry run's (-dry +sweep):\n%s", diff)
		}
		for _, d := range f.keepA {
			if _, err := f.a.Stat(ctx, d); err != nil {
				t.Errorf("reachable %s collected: %v", d, err)
			}
		}
		for _, c := range []struct {
			repo *store.FS
			gone []digest.Digest
		}{{f.a, f.goneA}, {f.b, f.goneB}} {
			for _, d := range c.gone {
				if _, err := c.repo.Stat(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
					t.Errorf("unreachable %s in %s kept: %v", d, c.repo.Dir(), err)
				}
			}
		}
		for _, d := range f.freed {
			if _, err := os.Stat(poolPath(d)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pool still holds %s: %v", d, err)
			}
		}
		if _, err := os.Stat(poolPath(f.goneB[0])); err != nil {
			t.Errorf("pool lost %s, which repository a still holds: %v", f.goneB[0], err)
		}
		if _, err := f.a.Resolve(ctx, "v1"); err != nil {
			t.Error(err)
		}
	})

	t.Run("second run finds nothing", func(t *testing.T) {
		rep, err := f.root.GC(ctx, served.GCOptions{Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Removed != 0 || rep.PoolRemoved != 0 {
			t.Fatalf("report %+v", rep)
		}
	})
}

func TestGCSkipsUnreadableRepository(t *testing.T) {
	ctx := context.Background()
	f := newGCFixture(t)
	// Replace the tagged manifest's bytes: its children can no longer be known.
	desc, err := f.a.Resolve(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(f.a.Dir(), "blobs", "sha256", desc.Digest.Encoded())
	if err := os.Remove(p); err != nil { // a hard link: replace, do not write through
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"not":"it"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := f.root.GC(ctx, served.GCOptions{Now: time.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Repo != "app/a" {
		t.Fatalf("skipped = %+v, want app/a", rep.Skipped)
	}
	for _, d := range f.goneA {
		if _, err := f.a.Stat(ctx, d); err != nil {
			t.Errorf("%s removed from a repository GC could not read: %v", d, err)
		}
	}
	if _, err := f.b.Stat(ctx, f.goneB[0]); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("the other repository was not swept: %v", err)
	}
}

func TestGCLeavesUploadsAndSweepsOldTemps(t *testing.T) {
	ctx := context.Background()
	r := newRoot(t)
	up, err := r.StartUpload(ctx, "app/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteUpload(ctx, "app/a", up.ID, 0, 4, bytes.NewReader([]byte("data"))); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(r.Dir(), ".ingest", "blob-123")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := r.GC(ctx, served.GCOptions{Now: time.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TempRemoved != 1 {
		t.Errorf("TempRemoved = %d, want 1", rep.TempRemoved)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old temp file kept: %v", err)
	}
	if st, err := r.UploadStatus(ctx, "app/a", up.ID); err != nil || st.Offset != 4 {
		t.Errorf("upload session after GC = %+v, %v", st, err)
	}
}
