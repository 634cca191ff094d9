package integration

import (
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// copyOut is the final NDJSON line of `stevedore copy --json`.
type copyOut struct {
	Kind   string `json:"kind"`
	Result struct {
		Digest       string `json:"digest"`
		BlobsCopied  int    `json:"blobsCopied"`
		BlobsSkipped int    `json:"blobsSkipped"`
		Bytes        int64  `json:"bytes"`
	} `json:"result"`
}

// sdCopy runs `stevedore copy --json` and returns its result line, after
// checking that every line before it is a progress event.
func sdCopy(t *testing.T, args ...string) copyOut {
	t.Helper()
	ls := lines(sd(t, append([]string{"copy", "--json"}, args...)...))
	if len(ls) == 0 {
		t.Fatalf("stevedore copy %s: no output", strings.Join(args, " "))
	}
	for _, l := range ls[:len(ls)-1] {
		var e struct {
			Kind       string
			Descriptor struct{ Digest string }
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Kind == "" || e.Descriptor.Digest == "" {
			t.Errorf("progress line %q (%v)", l, err)
		}
	}
	var out copyOut
	if err := json.Unmarshal([]byte(ls[len(ls)-1]), &out); err != nil || out.Kind != "result" {
		t.Fatalf("last line %q (%v), want the result", ls[len(ls)-1], err)
	}
	return out
}

var (
	dist2Once sync.Once
	dist2     *distRegistry
	dist2Err  error
)

// secondDistribution is a distribution registry other than the fixtures',
// so registry-to-registry copies cannot mount across repositories.
func secondDistribution(t *testing.T) *distRegistry {
	t.Helper()
	dist2Once.Do(func() { dist2, dist2Err = startDistribution(pkg, "distribution-2", distOptions{}) })
	if dist2Err != nil {
		t.Fatal(dist2Err)
	}
	return dist2
}

// TestCopyToLayout: distribution → `stevedore copy` → oci:DIR:tag, which
// skopeo and oras read with the digest crane reports; a second copy moves
// no byte.
func TestCopyToLayout(t *testing.T) {
	f := sharedFixtures(t)
	img := f.image(t, "oci")
	want := craneSees(t, img.Ref()).Digest
	dir := filepath.Join(t.TempDir(), "layout")

	plain := strings.TrimSpace(string(sd(t, "copy", img.Ref(), "oci:"+dir+":v1")))
	if plain != want {
		t.Fatalf("stevedore copy printed %q, want %s", plain, want)
	}
	var sk struct{ Digest string }
	if err := json.Unmarshal(mustRun(t, nil, "skopeo", "inspect", "oci:"+dir+":v1"), &sk); err != nil || sk.Digest != want {
		t.Errorf("skopeo inspect oci:%s:v1: digest %q (%v), want %s", dir, sk.Digest, err, want)
	}
	if got := sha256Digest(mustRun(t, nil, "oras", "manifest", "fetch", "--oci-layout", dir+":v1")); got != want {
		t.Errorf("oras manifest fetch --oci-layout: digest %s, want %s", got, want)
	}
	again := sdCopy(t, img.Ref(), "oci:"+dir+":v1")
	if again.Result.Digest != want || again.Result.Bytes != 0 || again.Result.BlobsCopied != 0 {
		t.Errorf("second copy %+v, want nothing transferred", again.Result)
	}
}

// TestCopyBetweenRegistries: distribution → another distribution, an image
// and a two-platform index (whole, and one platform of it); crane agrees on
// every digest and validates what arrived.
func TestCopyBetweenRegistries(t *testing.T) {
	f := sharedFixtures(t)
	d2 := secondDistribution(t)
	for _, tc := range []struct {
		name, src, dst string
		args           []string
		want           string // reference whose digest the copy must keep
	}{
		{"image", f.image(t, "oci").Ref(), d2.Host + "/copy/oci:v1", nil, f.image(t, "oci").Ref()},
		{"docker image", f.image(t, "docker").Ref(), d2.Host + "/copy/docker:v1", nil, f.image(t, "docker").Ref()},
		{"index all", f.image(t, "index").Ref(), d2.Host + "/copy/multi:v1", nil, f.image(t, "index").Ref()},
		{"index one platform", f.image(t, "index").Ref(), d2.Host + "/copy/multi:arm64", []string{"--platform", "linux/arm64"}, f.image(t, "arm64").Ref()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := craneSees(t, tc.want).Digest
			out := sdCopy(t, append(tc.args, "docker://"+tc.src, tc.dst)...)
			if out.Result.Digest != want {
				t.Errorf("copy result digest %s, want %s", out.Result.Digest, want)
			}
			if got := craneSees(t, tc.dst).Digest; got != want {
				t.Errorf("crane digest %s: %s, want %s", tc.dst, got, want)
			}
			crane(t, "validate", "--remote", tc.dst)
		})
	}
}

// TestCopyToStevedore: distribution → stevedore's own registry port, then
// read back over gRPC; and the Copy RPC itself, streaming progress.
func TestCopyToStevedore(t *testing.T) {
	f := sharedFixtures(t)
	s := sharedServer(t)
	img := f.image(t, "oci")
	want := craneSees(t, img.Ref()).Digest

	t.Run("cli", func(t *testing.T) {
		dst := s.Registry + "/copy/cli:v1"
		if out := sdCopy(t, img.Ref(), dst); out.Result.Digest != want {
			t.Errorf("copy result digest %s, want %s", out.Result.Digest, want)
		}
		got, err := newGRPCView(s).Inspect(dst, "")
		if err != nil || got.Digest != want {
			t.Errorf("gRPC Inspect %s: %s (%v), want %s", dst, got.Digest, err, want)
		}
	})

	t.Run("rpc", func(t *testing.T) {
		idx := f.image(t, "index")
		wantIdx := craneSees(t, idx.Ref()).Digest
		for _, dst := range []string{s.Registry + "/copy/rpc:v1", "oci:" + filepath.Join(t.TempDir(), "rpc") + ":v1"} {
			ctx, cancel := grpcCtx()
			defer cancel()
			stream, err := stevedorev1.NewImageServiceClient(s.Conn).Copy(ctx, &stevedorev1.CopyRequest{Source: idx.Ref(), Destination: dst, Concurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			var events []*stevedorev1.CopyResponse
			for {
				e, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("Copy to %s: %v", dst, grpcErr(err))
				}
				events = append(events, e)
			}
			done := 0
			for _, e := range events {
				if e.GetKind() == stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_DONE {
					done++
				}
			}
			last := events[len(events)-1]
			if last.GetKind() != stevedorev1.CopyEventKind_COPY_EVENT_KIND_RESULT || last.GetResult().GetDigest() != wantIdx || done == 0 {
				t.Errorf("Copy to %s: %d blob-done events, last %v; want a result with %s", dst, done, last, wantIdx)
			}
			got, err := newGRPCView(s).Inspect(dst, "")
			if err != nil || got.Digest != wantIdx {
				t.Errorf("gRPC Inspect %s: %s (%v), want %s", dst, got.Digest, err, wantIdx)
			}
		}
	})
}
