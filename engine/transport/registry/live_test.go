package registry

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/oci"
)

// TestLiveRegistry runs against a real registry when
// STEVEDORE_TEST_REGISTRY names one (host:port) that holds t/x:v1, e.g. the
// CNCF distribution registry after
// `crane append --oci-empty-base -f layer.tar -t HOST/t/x:v1` (scripts/test.sh
// sets one up). Without it the test skips, or fails under
// STEVEDORE_REQUIRE_PEERS=1.
func TestLiveRegistry(t *testing.T) {
	host := os.Getenv("STEVEDORE_TEST_REGISTRY")
	if host == "" {
		if os.Getenv("STEVEDORE_REQUIRE_PEERS") == "1" {
			t.Fatal("STEVEDORE_TEST_REGISTRY not set (STEVEDORE_REQUIRE_PEERS=1 makes this a failure; scripts/test.sh sets it)")
		}
		t.Skip("STEVEDORE_TEST_REGISTRY not set")
	}
	ctx := context.Background()
	r := New(host, "t/x", Options{})
	md, err := r.Resolve(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	byDigest, err := r.Resolve(ctx, md.Digest.String())
	if err != nil || byDigest.Digest != md.Digest || byDigest.Size != md.Size || byDigest.MediaType != md.MediaType {
		t.Fatalf("Resolve by digest = %+v, %v; want %+v", byDigest, err, md)
	}
	rc, err := r.Fetch(ctx, md)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := oci.ReadAllLimited(rc, oci.DefaultManifestLimit)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, err := oci.ParseManifest(md.MediaType, raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Children() {
		st, err := r.StatBlob(ctx, d.Digest)
		if err != nil || st.Size != d.Size {
			t.Fatalf("StatBlob(%s) = %+v, %v", d.Digest, st, err)
		}
		rc, err := r.Fetch(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("fetch %s: %v", d.Digest, err)
		}
		rc.Close()
		if d.Size > 2 {
			rc, err := r.FetchRange(ctx, d, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || len(b) != 1 {
				t.Fatalf("FetchRange = %q, %v", b, err)
			}
		}
	}
	// Push a copy to another repository and tag it.
	dst := New(host, "t/copy", Options{})
	for _, d := range append(m.Children(), md) {
		rc, err := r.Fetch(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.Push(ctx, d, rc); err != nil {
			t.Fatalf("push %s: %v", d.Digest, err)
		}
		rc.Close()
		if ok, err := dst.Exists(ctx, d); err != nil || !ok {
			t.Fatalf("Exists(%s) = %v, %v", d.Digest, ok, err)
		}
	}
	if err := dst.Tag(ctx, md, "copied"); err != nil {
		t.Fatal(err)
	}
	tags, err := dst.Tags(ctx)
	if err != nil || !strings.Contains(strings.Join(tags, ","), "copied") {
		t.Fatalf("Tags = %v, %v", tags, err)
	}
	if _, err := dst.Resolve(ctx, "nope"); err == nil {
		t.Fatal("resolved a missing tag")
	} else {
		t.Logf("missing tag: %v", err)
	}
}
