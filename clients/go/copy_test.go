package stevedoreclient_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	stevedoreclient "github.com/stevedore-dev/stevedore/clients/go"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// TestCopy copies the fixture to a new layout and into a real registry (the
// server's own OCI handler on a loopback httptest server) and checks the
// progress stream and that the digest survives.
func TestCopy(t *testing.T) {
	reg, err := registryhttp.New(t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(reg)
	t.Cleanup(hs.Close)
	host := strings.TrimPrefix(hs.URL, "http://")

	c := dial(t, addr)
	for _, tc := range []struct {
		name, src, dst, platform, digest string
	}{
		{"image to layout", fx.Ref(":v1"), "oci:" + filepath.Join(t.TempDir(), "out") + ":copied", "", fx.Manifest.Digest.String()},
		{"index to registry", fx.Ref(":multi"), host + "/clients/go:multi", "", fx.Index.Digest.String()},
		{"one platform to registry", fx.Ref(":multi"), host + "/clients/go:amd64", "linux/amd64", fx.Manifest.Digest.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events []stevedoreclient.Event
			res, err := c.Copy(context.Background(), tc.src, tc.dst, stevedoreclient.CopyOptions{Platform: tc.platform}, func(e stevedoreclient.Event) {
				events = append(events, e)
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.GetDigest() != tc.digest {
				t.Errorf("copied digest %s, want %s", res.GetDigest(), tc.digest)
			}
			if len(events) < 2 || events[len(events)-1].GetResult() != res {
				t.Fatalf("%d events, the last not the result", len(events))
			}
			kinds := map[stevedorev1.CopyEventKind]int{}
			for _, e := range events {
				kinds[e.GetKind()]++
			}
			if kinds[stevedorev1.CopyEventKind_COPY_EVENT_KIND_IMAGE_DONE]+kinds[stevedorev1.CopyEventKind_COPY_EVENT_KIND_IMAGE_SKIPPED] == 0 {
				t.Errorf("no image event among %v", kinds)
			}
			// The copy landed: the destination resolves to the same digest.
			info, err := c.Inspect(context.Background(), tc.dst, tc.platform)
			if err != nil {
				t.Fatal(err)
			}
			if info.GetDigest() != tc.digest {
				t.Errorf("destination digest %s, want %s", info.GetDigest(), tc.digest)
			}
		})
	}
}

func TestCopyErrors(t *testing.T) {
	c := dial(t, addr)
	dst := "oci:" + filepath.Join(t.TempDir(), "out") + ":x"
	for _, tc := range []struct {
		name, src, dst string
		want           error
	}{
		{"unknown source", fx.Ref(":nope"), dst, errdef.ErrNotFound},
		{"missing layout", "oci:/nonexistent/layout:v1", dst, errdef.ErrNotFound},
		{"digest destination", fx.Ref(":v1"), "oci:/tmp/x@" + fx.Manifest.Digest.String(), errdef.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := 0
			_, err := c.Copy(context.Background(), tc.src, tc.dst, stevedoreclient.CopyOptions{}, func(stevedoreclient.Event) { called++ })
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var se *stevedoreclient.Error
			if !errors.As(err, &se) {
				t.Errorf("%T is not *stevedoreclient.Error", err)
			}
			if called != 0 {
				t.Errorf("%d progress events before the failure", called)
			}
		})
	}
}
