package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// startRegistry serves an empty in-process registry and returns its host.
func startRegistry(t *testing.T) string {
	t.Helper()
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// runMirror drains a Mirror stream.
func runMirror(t *testing.T, c stevedorev1.ImageServiceClient, req *stevedorev1.MirrorRequest) ([]*stevedorev1.MirrorImage, *stevedorev1.MirrorSummary, error) {
	t.Helper()
	stream, err := c.Mirror(context.Background(), req)
	if err != nil {
		return nil, nil, err
	}
	var images []*stevedorev1.MirrorImage
	var sum *stevedorev1.MirrorSummary
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return images, sum, nil
		}
		if err != nil {
			return images, sum, err
		}
		if sum != nil {
			t.Fatal("a message after the summary")
		}
		if msg.GetImage() != nil {
			images = append(images, msg.GetImage())
		}
		sum = msg.GetSummary()
	}
}

func TestMirror(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	src, dst := startRegistry(t), startRegistry(t)
	for _, tag := range []string{"v1", "multi"} {
		if _, err := runCopy(t, c, &stevedorev1.CopyRequest{Source: f.ref(":" + tag), Destination: src + "/app:" + tag}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf("destination: {registry: %q, prefix: mirror}\nsources:\n  - repository: %s/app\n", dst, src)
	for _, tc := range []struct {
		name   string
		dryRun bool
		action string
		copied int32
	}{
		{"dry run", true, "would-copy", 0},
		{"cold", false, "copied", 2},
		{"again", false, "skipped", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			images, sum, err := runMirror(t, c, &stevedorev1.MirrorRequest{Config: cfg, DryRun: tc.dryRun})
			if err != nil {
				t.Fatal(err)
			}
			if len(images) != 2 || sum == nil || sum.GetImages() != 2 || sum.GetCopied() != tc.copied || sum.GetFailed() != 0 || sum.GetDryRun() != tc.dryRun {
				t.Fatalf("images %v, summary %v", images, sum)
			}
			for _, im := range images {
				if im.GetAction() != tc.action || !strings.HasPrefix(im.GetDestination(), "docker://"+dst+"/mirror/app:") {
					t.Errorf("image %v: want action %s", im, tc.action)
				}
			}
		})
	}
	t.Run("failures are reported, not returned", func(t *testing.T) {
		bad := fmt.Sprintf("destination: {registry: %q}\nsources:\n  - images: [%s/app:nope]\n", dst, src)
		images, sum, err := runMirror(t, c, &stevedorev1.MirrorRequest{Config: bad})
		if err != nil {
			t.Fatal(err)
		}
		if len(images) != 1 || images[0].GetAction() != "failed" || images[0].GetErrorCode() != "NOT_FOUND" || sum.GetFailed() != 1 {
			t.Fatalf("images %v, summary %v", images, sum)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, req := range []*stevedorev1.MirrorRequest{
			{Config: "sources: []\nbogus: 1\n"},
			{Config: ""},
			{Config: cfg, Concurrency: 65},
		} {
			_, _, err := runMirror(t, c, req)
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("config %q: %v, want InvalidArgument", req.GetConfig(), err)
			}
		}
	})
}

// TestCopyOptions: the index and conversion options reach the engine, and
// a copy that changed the digest reports both.
func TestCopyOptions(t *testing.T) {
	f := newFixture(t)
	c := newClient(t)
	index, manifest := digest.FromBytes(f.index).String(), digest.FromBytes(f.manifest).String()
	for _, tc := range []struct {
		name      string
		req       *stevedorev1.CopyRequest
		newDigest bool
	}{
		{"filtered index", &stevedorev1.CopyRequest{Source: f.ref(":multi"), Platforms: []string{"linux/arm64"}}, true},
		{"sparse index", &stevedorev1.CopyRequest{Source: f.ref(":multi"), Platforms: []string{"linux/arm64"}, Sparse: true}, false},
		{"docker format", &stevedorev1.CopyRequest{Source: f.ref(":v1"), Format: "docker"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Destination = "oci:" + filepath.Join(t.TempDir(), "out") + ":copied"
			events, err := runCopy(t, c, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			res := events[len(events)-1].GetResult()
			src := manifest
			if strings.HasSuffix(tc.req.Source, ":multi") {
				src = index
			}
			if res.GetSourceDigest() != src || (res.GetDigest() != src) != tc.newDigest {
				t.Errorf("result %v: source %s, new digest %v", res, src, tc.newDigest)
			}
		})
	}
	for _, req := range []*stevedorev1.CopyRequest{
		{Source: f.ref(":v1"), ChunkSize: 1000},
		{Source: f.ref(":v1"), Format: "tar"},
		{Source: f.ref(":multi"), Sparse: true},
		{Source: f.ref(":v1"), Format: "oci", Referrers: true},
	} {
		req.Destination = "oci:" + filepath.Join(t.TempDir(), "out")
		if _, err := runCopy(t, c, req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: %v, want InvalidArgument", req, err)
		}
	}
}
