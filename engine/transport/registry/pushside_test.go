package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// serve starts our registry behind wrap and returns its host.
func serve(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wrap(reg))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func blob(n int) ([]byte, oci.Descriptor) {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b, oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: digest.FromBytes(b), Size: int64(n)}
}

func readBack(t *testing.T, r *registry.Repository, d oci.Descriptor) []byte {
	t.Helper()
	rc, err := r.Fetch(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPushResumable: a chunked upload whose connection drops mid-chunk
// asks the registry where it got to and carries on from there, re-reading
// the source only from that offset.
func TestPushResumable(t *testing.T) {
	var patches atomic.Int32
	host := serve(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && patches.Add(1) == 2 {
				// Take half the chunk, then drop the connection.
				io.CopyN(io.Discard, r.Body, 1000)
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	repo := registry.New(host, "chunked/test", registry.Options{})
	b, d := blob(10_000)
	var opened []int64
	open := func(ctx context.Context, off int64) (io.ReadCloser, error) {
		opened = append(opened, off)
		if off == 0 {
			return io.NopCloser(oci.NewVerifyReader(bytes.NewReader(b), d.Digest, d.Size)), nil
		}
		return io.NopCloser(bytes.NewReader(b[off:])), nil
	}
	if err := repo.PushResumable(context.Background(), d, 4096, open); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 2 || opened[0] != 0 || opened[1] != 4096 {
		t.Errorf("source opened at %v, want [0 4096]", opened)
	}
	if got := readBack(t, repo, d); !bytes.Equal(got, b) {
		t.Error("blob read back differs")
	}

	// A corrupt source fails before the upload completes.
	b2, d2 := blob(9000)
	bad := append([]byte{}, b2...)
	bad[10] ^= 1
	err := repo.PushResumable(context.Background(), d2, 4096, func(ctx context.Context, off int64) (io.ReadCloser, error) {
		return io.NopCloser(oci.NewVerifyReader(bytes.NewReader(bad), d2.Digest, d2.Size)), nil
	})
	if err == nil {
		t.Fatal("corrupt source accepted")
	}
	if ok, _ := repo.Exists(context.Background(), d2); ok {
		t.Error("corrupt blob stored")
	}
}

// TestMount: a blob is mounted from another repository of the registry.
func TestMount(t *testing.T) {
	ctx := context.Background()
	host := serve(t, func(h http.Handler) http.Handler { return h })
	a := registry.New(host, "mount/a", registry.Options{})
	bRepo := registry.New(host, "mount/b", registry.Options{})
	b, d := blob(100)
	if err := a.Push(ctx, d, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	ok, err := bRepo.Mount(ctx, d, "mount/a")
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		if has, _ := bRepo.Exists(ctx, d); !has {
			t.Error("mounted blob not in the target")
		}
	}
	_, missing := blob(7)
	if ok, err := bRepo.Mount(ctx, missing, "mount/a"); ok || err != nil {
		t.Errorf("mount of an absent blob = %v, %v", ok, err)
	}
}

// TestReferrersFallback: against a registry without the referrers API, a
// pushed referrer lands in the sha256-<hex> tag schema index, Referrers
// finds it there, and an index entry whose subject is not the digest is
// ignored. Legacy cosign tags are found too.
func TestReferrersFallback(t *testing.T) {
	for _, api := range []bool{true, false} {
		t.Run(map[bool]string{true: "api", false: "tag schema"}[api], func(t *testing.T) {
			ctx := context.Background()
			host := serve(t, func(h http.Handler) http.Handler {
				if api {
					return h
				}
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.Contains(r.URL.Path, "/referrers/") {
						http.NotFound(w, r)
						return
					}
					h.ServeHTTP(hideSubject{w}, r)
				})
			})
			repo := registry.New(host, "ref/test", registry.Options{})
			put := func(mt string, v any) oci.Descriptor {
				raw, _ := json.Marshal(v)
				d := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
				if err := repo.Push(ctx, d, bytes.NewReader(raw)); err != nil {
					t.Fatal(err)
				}
				return d
			}
			empty := put(oci.MediaTypeEmptyJSON, map[string]any{})
			subject := put(oci.MediaTypeImageManifest, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": empty, "layers": []any{}})
			sbom := put(oci.MediaTypeImageManifest, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "artifactType": "application/spdx+json",
				"config": empty, "layers": []any{}, "subject": subject})
			other := put(oci.MediaTypeImageManifest, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": empty, "layers": []any{}, "annotations": map[string]string{"x": "y"}})
			sig := put(oci.MediaTypeImageManifest, map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageManifest, "config": empty, "layers": []any{}, "annotations": map[string]string{"sig": "1"}})
			if err := repo.Tag(ctx, sig, transport.FallbackTag(subject)+".sig"); err != nil {
				t.Fatal(err)
			}
			if !api {
				// A forged entry without the subject must not be listed.
				raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": oci.MediaTypeImageIndex, "manifests": []oci.Descriptor{sbom, other}})
				d := oci.Descriptor{MediaType: oci.MediaTypeImageIndex, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
				if err := repo.Push(ctx, d, bytes.NewReader(raw)); err != nil {
					t.Fatal(err)
				}
				if err := repo.Tag(ctx, d, transport.FallbackTag(subject)); err != nil {
					t.Fatal(err)
				}
			}
			refs, err := repo.Referrers(ctx, subject)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.Digest.String()+" "+r.ArtifactType+" "+r.Annotations[transport.AnnotationLegacyTag])
			}
			want := []string{sbom.Digest.String() + " application/spdx+json ", sig.Digest.String() + "  " + transport.FallbackTag(subject) + ".sig"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("referrers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// hideSubject plays a registry without the referrers API: it never
// acknowledges a subject.
type hideSubject struct{ http.ResponseWriter }

func (h hideSubject) WriteHeader(code int) {
	h.Header().Del("OCI-Subject")
	h.ResponseWriter.WriteHeader(code)
}
