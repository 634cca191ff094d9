package copy_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
	"github.com/stevedore-dev/stevedore/registryhttp"
)

// flipLast flips the last byte of every response body it writes.
type flipLast struct {
	http.ResponseWriter
	left int64
}

func (w *flipLast) Write(p []byte) (int, error) {
	if w.left > 0 && int64(len(p)) >= w.left {
		q := append([]byte{}, p...)
		q[w.left-1] ^= 1
		p = q
	}
	w.left -= int64(len(p))
	return w.ResponseWriter.Write(p)
}

// TestCopyRegistryToLayoutHashesOnce: a registry → layout copy reads the
// blobs unverified (the layout's store hashes what it writes) and still
// refuses a corrupt blob, blaming the source.
func TestCopyRegistryToLayoutHashesOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg, err := registryhttp.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if corrupt && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, f.bigLayer.Digest.String()) {
			w = &flipLast{ResponseWriter: w, left: f.bigLayer.Size}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src := registry.New(strings.TrimPrefix(srv.URL, "http://"), "copy/raw", registry.Options{})
	if _, err := copy.Copy(ctx, f.src, "v1", src, "v1", copy.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		corrupt bool
	}{{"intact", false}, {"corrupt layer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			corrupt = tc.corrupt
			dst := newLayout(t)
			res, err := copy.Copy(ctx, src, "v1", dst, "v1", copy.Options{})
			if !tc.corrupt {
				if err != nil || res.Digest != f.image.Digest || !has(t, dst, f.bigLayer) {
					t.Fatalf("copy: %v %+v", err, res)
				}
				return
			}
			var cerr *copy.Error
			if !errors.As(err, &cerr) || cerr.Origin != copy.OriginSource || !errors.Is(err, errdef.ErrDigestMismatch) {
				t.Fatalf("error %v, want a source digest mismatch", err)
			}
			if ok, _ := dst.Exists(ctx, f.bigLayer); ok {
				t.Error("destination holds the corrupt blob")
			}
		})
	}
}
