package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// TestPushResumableStreams: without a chunk size a large blob goes up in
// one streaming PATCH (POST, PATCH, PUT), and a PATCH cut off mid-way is
// resumed from where the registry says the upload got to.
func TestPushResumableStreams(t *testing.T) {
	b, d := blob(40 << 20) // over streamAbove
	for _, tc := range []struct {
		name      string
		drop      bool
		wantPatch int32
	}{
		{"one request carries the blob", false, 1},
		{"a dropped PATCH is resumed", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := map[string]int32{}
			var patches atomic.Int32
			host := serve(t, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method != http.MethodHead && r.Method != http.MethodGet {
						mu.Lock()
						calls[r.Method]++
						mu.Unlock()
					}
					if r.Method == http.MethodPatch && patches.Add(1) == 1 && tc.drop {
						io.CopyN(io.Discard, r.Body, 1<<20)
						hj, _ := w.(http.Hijacker)
						c, _, _ := hj.Hijack()
						c.Close()
						return
					}
					h.ServeHTTP(w, r)
				})
			})
			repo := registry.New(host, "stream/test", registry.Options{})
			var opened []int64
			open := func(ctx context.Context, off int64) (io.ReadCloser, error) {
				opened = append(opened, off)
				if off == 0 {
					return io.NopCloser(oci.NewVerifyReader(bytes.NewReader(b), d.Digest, d.Size)), nil
				}
				return io.NopCloser(bytes.NewReader(b[off:])), nil
			}
			if err := repo.PushResumable(context.Background(), d, 0, open); err != nil {
				t.Fatal(err)
			}
			if calls[http.MethodPatch] != tc.wantPatch || calls[http.MethodPut] != 1 {
				t.Errorf("requests %v, want %d PATCH and 1 PUT", calls, tc.wantPatch)
			}
			if len(opened) != int(tc.wantPatch) || opened[0] != 0 {
				t.Errorf("source opened at %v", opened)
			}
			if got := readBack(t, repo, d); !bytes.Equal(got, b) {
				t.Error("blob read back differs")
			}
		})
	}
}

// TestMonolithicCorruptCutShort: a monolithic upload from a verifying
// source that turns out corrupt never completes its PUT body, so even a
// registry that checked no digest could not keep the bytes.
func TestMonolithicCorruptCutShort(t *testing.T) {
	b, d := blob(1 << 20)
	bad := append([]byte{}, b...)
	bad[len(bad)-1] ^= 1
	var complete atomic.Bool
	host := serve(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && r.ContentLength > 0 {
				n, err := io.Copy(io.Discard, r.Body)
				if err == nil && n == r.ContentLength {
					complete.Store(true)
				}
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	repo := registry.New(host, "stream/bad", registry.Options{MaxRetries: 1})
	err := repo.PushResumable(context.Background(), d, 0, func(ctx context.Context, off int64) (io.ReadCloser, error) {
		return io.NopCloser(oci.NewVerifyReader(bytes.NewReader(bad), d.Digest, d.Size)), nil
	})
	var ve *oci.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *oci.VerifyError", err)
	}
	if complete.Load() {
		t.Error("the registry received the whole corrupt body")
	}
}
