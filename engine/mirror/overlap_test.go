package mirror_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stevedore-dev/stevedore/engine"
	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/mirror"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// TestMirrorOverlappingSources: an image that a repository source lists
// and an images: entry names again is mirrored, and reported, once.
func TestMirrorOverlappingSources(t *testing.T) {
	src, dst := newServer(t), newServer(t)
	app := src.repo(t, "org/app")
	app.tag(app.image("amd64", "base", "v1 layer"), "v1")
	app.tag(app.image("amd64", "base", "v2 layer"), "v2")
	cfg := fmt.Sprintf(`
destination: {registry: %q}
sources:
  - repository: %s/org/app
  - images: [docker://%s/org/app:v1]
`, dst.host, src.host, src.host)
	rep := run(t, cfg, mirror.Options{})
	if s := rep.Summary; s.Images != 2 || s.Copied != 2 || len(rep.Images) != 2 || rep.Failed() {
		t.Errorf("summary %+v over %d images, want 2 images copied once each", s, len(rep.Images))
	}
}

// TestMirrorReferrersBytes: a mirror with referrers counts an image's
// bytes as copy --referrers does (the tag's push of a manifest already
// sent is not sent bytes again).
func TestMirrorReferrersBytes(t *testing.T) {
	src, dst, other := newServer(t), newServer(t), newServer(t)
	app := src.repo(t, "org/app")
	app.tag(app.image("amd64", "base", "v1 layer"), "v1")
	cfg := fmt.Sprintf(`
referrers: true
destination: {registry: %q}
sources:
  - images: [%s/org/app:v1]
`, dst.host, src.host)
	rep := run(t, cfg, mirror.Options{})
	if len(rep.Images) != 1 || rep.Failed() {
		t.Fatalf("report %+v", rep)
	}
	e := engine.New(engine.Options{})
	ref := func(s string) transport.Ref {
		r, err := transport.ParseRef(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	res, err := e.Copy(context.Background(), ref(src.host+"/org/app:v1"), ref(other.host+"/org/app:v1"), engine.CopyOptions{Options: imgcopy.Options{Referrers: true}})
	if err != nil {
		t.Fatal(err)
	}
	if im := rep.Images[0]; im.Bytes != res.Bytes || rep.Summary.Bytes != res.Bytes || im.BlobsCopied != res.BlobsCopied {
		t.Errorf("mirror sent %d bytes, %d blobs (summary %d bytes); copy --referrers %d bytes, %d blobs", im.Bytes, im.BlobsCopied, rep.Summary.Bytes, res.Bytes, res.BlobsCopied)
	}
}
