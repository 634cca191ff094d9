package s3

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// TestRetentionHistory: what retention reads of a bucket's repository —
// each tag's last write (its object's LastModified) and the untagged roots.
func TestRetentionHistory(t *testing.T) {
	ctx := context.Background()
	f, rs := newFakeRoots(t, 1)
	repo, err := rs[0].CreateRepo(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	manifest := func(n int) oci.Descriptor {
		b := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":2},"layers":[],"annotations":{"n":"%d"}}`,
			oci.MediaTypeImageManifest, oci.MediaTypeImageConfig, digest.FromString("{}"), n)
		d := oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := rs[0].Put(ctx, repo, d, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	tagged, untagged := manifest(1), manifest(2)
	if err := repo.Tag(ctx, tagged, "v1"); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.mu.Lock()
	f.modified[rs[0].s.keys.tag("app", "v1")] = old
	f.mu.Unlock()
	if err := repo.AddRoot(ctx, untagged); err != nil {
		t.Fatal(err)
	}

	times, err := served.PushTimes(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if got := times["v1"]; len(times) != 1 || got.Desc.Digest != tagged.Digest || !got.Pushed.Equal(old) {
		t.Errorf("PushTimes = %+v, want v1 -> %s pushed %v", times, tagged.Digest, old)
	}
	roots, err := served.UntaggedRoots(ctx, repo)
	if err != nil || len(roots) != 1 || roots[0].Digest != untagged.Digest {
		t.Errorf("UntaggedRoots = %v, %v; want %s", roots, err, untagged.Digest)
	}
}
