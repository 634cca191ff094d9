package served_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// TestTouchRestartsGrace is the race a push and an online collection run:
// a manifest about to be tagged references an old blob nothing marks yet.
// Touched first, the blob outlives a collection that runs before the tag.
func TestTouchRestartsGrace(t *testing.T) {
	ctx := context.Background()
	r := newRoot(t)
	repo, err := r.CreateRepo(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	old := putBlob(t, r, repo, oci.MediaTypeLayer, []byte("old layer"))
	untouched := putBlob(t, r, repo, oci.MediaTypeLayer, []byte("garbage"))
	// Ages are change times, which cannot be set back: measure them from
	// t0, a moment after both puts and before the touch.
	time.Sleep(20 * time.Millisecond)
	t0 := time.Now()
	time.Sleep(20 * time.Millisecond)
	b := r.Backend()
	toucher, ok := b.(served.Toucher)
	if !ok {
		t.Fatal("Root's Backend is not a Toucher")
	}
	missing := digest.FromString("never pushed")
	err = toucher.Touch(ctx, repo, old.Digest, missing)
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Touch with a missing blob: %v, want ErrNotFound", err)
	}
	const grace = time.Hour
	if _, err := r.GC(ctx, served.GCOptions{Grace: grace, Now: t0.Add(grace)}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Stat(ctx, old.Digest); err != nil {
		t.Errorf("touched blob collected: %v", err)
	}
	if _, err := repo.Stat(ctx, untouched.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("untouched blob kept: %v", err)
	}
}
