package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// layoutRegistry serves img's layout as repository "test" of a read-only
// registry (manifest by tag v1 or digest, blobs by digest) and counts the
// blob GETs per digest.
type layoutRegistry struct {
	img  *image
	mu   sync.Mutex
	gets map[string]int
}

func (l *layoutRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/test/")
	if !ok {
		return // GET /v2/
	}
	kind, ref, _ := strings.Cut(rest, "/")
	if kind == "manifests" && ref == "v1" {
		ref = l.img.manifest.Digest.String()
	}
	d, hex, _ := strings.Cut(ref, ":")
	b, err := os.ReadFile(filepath.Join(l.img.dir, "blobs", d, hex))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if kind == "manifests" {
		w.Header().Set("Content-Type", l.img.manifest.MediaType)
		w.Header().Set("Docker-Content-Digest", ref)
	} else if r.Method == http.MethodGet {
		l.mu.Lock()
		l.gets[ref]++
		l.mu.Unlock()
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// TestExportFromRegistryDownloadsOnce exports through a registry: the tar
// equals the layout's export, every layer is downloaded exactly once, and
// nothing is left in $TMPDIR, on success and on failure.
func TestExportFromRegistryDownloadsOnce(t *testing.T) {
	ctx := context.Background()
	im := whiteoutImage(t)
	var want bytes.Buffer
	if err := analyze.Export(ctx, im.src, "v1", &want, analyze.Options{}); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	reg := &layoutRegistry{img: im, gets: map[string]int{}}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	src := registry.New(strings.TrimPrefix(srv.URL, "http://"), "test", registry.Options{})

	var got bytes.Buffer
	if err := analyze.Export(ctx, src, "v1", &got, analyze.Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Error("export through the registry differs from the layout's")
	}
	for _, l := range im.layers {
		if n := reg.gets[l.Digest.String()]; n != 1 {
			t.Errorf("layer %s downloaded %d times, want 1", l.Digest, n)
		}
	}
	assertEmpty(t, tmp)

	t.Run("failing writer", func(t *testing.T) {
		err := analyze.Export(ctx, src, "v1", failWriter{}, analyze.Options{})
		if err == nil {
			t.Fatal("export to a failing writer succeeded")
		}
		assertEmpty(t, tmp)
	})
}

// assertEmpty fails unless dir holds nothing.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// tamperSource serves a blob faithfully the first time and, from the second
// Fetch on, with its last byte changed (under the same verifying reader a
// real source uses).
type tamperSource struct {
	transport.Source
	seen map[string]bool
}

func (s *tamperSource) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	rc, err := s.Source.Fetch(ctx, desc)
	if err != nil || !s.seen[desc.Digest.String()] {
		s.seen[desc.Digest.String()] = true
		return rc, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, desc.Size)) // raw bytes, unverified
	if err != nil {
		return nil, err
	}
	b[len(b)-1] ^= 1
	return io.NopCloser(oci.NewVerifyReader(bytes.NewReader(b), desc.Digest, desc.Size)), nil
}

// TestReadFileVerifiesAtEnd reads a file whose layer changes between the
// listing and the read, in the tar padding after the file: reading the
// file to its end fails with a digest mismatch rather than io.EOF.
func TestReadFileVerifiesAtEnd(t *testing.T) {
	ctx := context.Background()
	im := newImage(t, "", plainLayer(t, file("etc/motd", "hello")))
	src := &tamperSource{Source: im.src, seen: map[string]bool{}}
	rc, err := analyze.ReadFile(ctx, src, "v1", "etc/motd", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if !errors.Is(err, errdef.ErrDigestMismatch) {
		t.Fatalf("ReadAll = %q, %v; want %v", b, err, errdef.ErrDigestMismatch)
	}
	// Faithful source: the same read ends in io.EOF.
	rc2, err := analyze.ReadFile(ctx, im.src, "v1", "etc/motd", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rc2); got != "hello" {
		t.Errorf("content %q", got)
	}
}
