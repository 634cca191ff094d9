package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// manifestOf pushes a one-layer image's blobs to r and returns its manifest.
func manifestOf(t *testing.T, r *registry.Repository) (oci.Descriptor, []byte) {
	t.Helper()
	ctx := context.Background()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := oci.Descriptor{MediaType: oci.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if err := r.Push(ctx, cd, bytes.NewReader(cfg)); err != nil {
		t.Fatal(err)
	}
	raw := []byte(`{"schemaVersion":2,"mediaType":"` + oci.MediaTypeImageManifest + `","config":{"mediaType":"` + cd.MediaType + `","digest":"` + cd.Digest.String() + `","size":` + strconv.FormatInt(cd.Size, 10) + `},"layers":[]}`)
	return oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digest.FromBytes(raw), Size: int64(len(raw))}, raw
}

// TestPushTagged: one PUT by tag stores and tags; a registry that says it
// stored another digest is caught; Untag removes the tag only.
func TestPushTagged(t *testing.T) {
	ctx := context.Background()
	var puts atomic.Int32
	var lie atomic.Bool
	host := serve(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				puts.Add(1)
				if lie.Load() {
					w.Header().Set("Docker-Content-Digest", digest.FromString("other").String())
					w.WriteHeader(http.StatusCreated)
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	r := registry.New(host, "tag/push", registry.Options{})
	desc, raw := manifestOf(t, r)
	if err := r.PushTagged(ctx, desc, bytes.NewReader(raw), "v1"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Resolve(ctx, "v1"); err != nil || got.Digest != desc.Digest {
		t.Fatalf("v1 resolves to %v, %v", got.Digest, err)
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("%d manifest PUTs, want 1", n)
	}

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			desc oci.Descriptor
			raw  []byte
			tag  string
			want error
		}{
			{"bad tag", desc, raw, "-x", errdef.ErrInvalid},
			{"not a manifest", oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: desc.Digest, Size: desc.Size}, raw, "v2", errdef.ErrInvalid},
			{"bytes do not match", desc, append([]byte{' '}, raw[1:]...), "v2", errdef.ErrDigestMismatch},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := r.PushTagged(ctx, tc.desc, bytes.NewReader(tc.raw), tc.tag); !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
			})
		}
	})

	t.Run("registry stores another digest", func(t *testing.T) {
		lie.Store(true)
		defer lie.Store(false)
		err := r.PushTagged(ctx, desc, bytes.NewReader(raw), "v3")
		if !errors.Is(err, errdef.ErrDigestMismatch) {
			t.Fatalf("err = %v, want a digest mismatch", err)
		}
	})

	t.Run("untag", func(t *testing.T) {
		if err := r.Untag(ctx, "v1"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Resolve(ctx, "v1"); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("v1 after untag: %v, want not found", err)
		}
		if ok, err := r.Exists(ctx, desc); err != nil || !ok {
			t.Errorf("manifest after untag: %v, %v; want kept", ok, err)
		}
		if err := r.Untag(ctx, "v1"); !errors.Is(err, errdef.ErrNotFound) {
			t.Errorf("untag of a missing tag: %v, want not found", err)
		}
	})
}

// TestPushRetriesReopen: a blob PUT or PATCH refused with 429 and
// Retry-After is resent after the wait with the source opened again.
func TestPushRetriesReopen(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		size      int
		chunk     int64
		method    string
		wantOpens int
	}{
		{"monolithic PUT", 100 << 10, 1 << 20, http.MethodPut, 2},
		{"chunked PATCH", 300 << 10, 128 << 10, http.MethodPatch, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refused atomic.Int32
			var at time.Time
			var waited time.Duration
			host := serve(t, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == tc.method && strings.Contains(r.URL.Path, "/blobs/uploads/") {
						switch refused.Add(1) {
						case 1:
							io.Copy(io.Discard, r.Body)
							at = time.Now()
							w.Header().Set("Retry-After", "1")
							w.WriteHeader(http.StatusTooManyRequests)
							return
						case 2:
							waited = time.Since(at)
						}
					}
					h.ServeHTTP(w, r)
				})
			})
			r := registry.New(host, "retry/push", registry.Options{})
			b, desc := blob(tc.size)
			var opens atomic.Int32
			open := func(_ context.Context, off int64) (io.ReadCloser, error) {
				opens.Add(1)
				return io.NopCloser(bytes.NewReader(b[off:])), nil
			}
			if err := r.PushResumable(ctx, desc, tc.chunk, open); err != nil {
				t.Fatal(err)
			}
			if got := readBack(t, r, desc); !bytes.Equal(got, b) {
				t.Fatal("read back differs")
			}
			if n := opens.Load(); int(n) != tc.wantOpens {
				t.Errorf("source opened %d times, want %d", n, tc.wantOpens)
			}
			if waited < time.Second {
				t.Errorf("resent %v after a Retry-After of 1s", waited)
			}
		})
	}
}
