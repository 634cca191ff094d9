package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/store/storetest"
)

func newFS(t *testing.T) *store.FS {
	t.Helper()
	f, err := store.CreateFS(filepath.Join(t.TempDir(), "layout"))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFSConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFS(t) })
}

func TestOpenFS(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string)
		want  error
	}{
		{"missing dir", func(dir string) { os.RemoveAll(dir) }, errdef.ErrNotFound},
		{"no oci-layout", func(dir string) {}, errdef.ErrNotFound},
		{"a file", func(dir string) { os.RemoveAll(dir); os.WriteFile(dir, nil, 0o644) }, errdef.ErrInvalid},
		{"bad oci-layout", func(dir string) { write(dir, "oci-layout", "{") }, errdef.ErrInvalid},
		{"other version", func(dir string) { write(dir, "oci-layout", `{"imageLayoutVersion":"2.0.0"}`) }, errdef.ErrUnsupported},
		{"no index.json", func(dir string) { write(dir, "oci-layout", `{"imageLayoutVersion":"1.0.0"}`) }, errdef.ErrInvalid},
		{"bad index.json", func(dir string) {
			write(dir, "oci-layout", `{"imageLayoutVersion":"1.0.0"}`)
			write(dir, "index.json", `{"schemaVersion":2,"manifests":{}}`)
		}, errdef.ErrInvalid},
		{"ok", func(dir string) {
			write(dir, "oci-layout", `{"imageLayoutVersion":"1.0.0"}`)
			write(dir, "index.json", `{"schemaVersion":2,"manifests":[]}`)
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(dir)
			f, err := store.OpenFS(dir)
			if tc.want == nil {
				if err != nil || f.Dir() != dir {
					t.Fatalf("OpenFS = %v, %v", f, err)
				}
				return
			}
			var se *store.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &se) {
				t.Fatalf("OpenFS = %v, want a *store.Error matching %v", err, tc.want)
			}
		})
	}
}

func write(dir, name, content string) {
	os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
}

func TestCreateFSKeepsExisting(t *testing.T) {
	f := newFS(t)
	b, m := storetest.Manifest("keep")
	mustPut(t, f, m, b)
	if err := f.Tag(context.Background(), m, "v1"); err != nil {
		t.Fatal(err)
	}
	g, err := store.CreateFS(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Resolve(context.Background(), "v1"); err != nil {
		t.Fatalf("CreateFS over an existing layout lost its tag: %v", err)
	}
}

func TestLayoutOnDisk(t *testing.T) {
	f := newFS(t)
	b, m := storetest.Manifest("disk")
	mustPut(t, f, m, b)
	if err := f.Tag(context.Background(), m, "v1"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(f.Dir(), "blobs", "sha256", m.Digest.Encoded()))
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("blob file = %q, %v", got, err)
	}
	var idx struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType"`
		Manifests     []oci.Descriptor `json:"manifests"`
	}
	readJSON(t, filepath.Join(f.Dir(), "index.json"), &idx)
	if idx.SchemaVersion != 2 || idx.MediaType != oci.MediaTypeImageIndex || len(idx.Manifests) != 1 ||
		idx.Manifests[0].Digest != m.Digest || idx.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1" {
		t.Fatalf("index.json = %+v", idx)
	}
	var layout map[string]string
	readJSON(t, filepath.Join(f.Dir(), "oci-layout"), &layout)
	if layout["imageLayoutVersion"] != "1.0.0" {
		t.Fatalf("oci-layout = %v", layout)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustPut(t *testing.T, s store.Store, desc oci.Descriptor, b []byte) {
	t.Helper()
	if err := s.Put(context.Background(), desc, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// A crash between create and rename leaves a temp file behind; it must not be
// visible as a blob or break anything.
func TestLeftoverTempInvisible(t *testing.T) {
	f := newFS(t)
	b, desc := storetest.Blob("half written")
	ingest := filepath.Join(f.Dir(), ".ingest")
	os.MkdirAll(ingest, 0o755)
	write(ingest, "blob-123", string(b[:4]))
	if _, err := f.Stat(context.Background(), desc.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Stat = %v, want ErrNotFound", err)
	}
	mustPut(t, f, desc, b)
	if _, err := f.Stat(context.Background(), desc.Digest); err != nil {
		t.Fatal(err)
	}
}

// Failed puts must not leave temp files behind.
func TestNoTempLeak(t *testing.T) {
	f := newFS(t)
	_, desc := storetest.Blob("promised")
	for range 3 {
		f.Put(context.Background(), desc, strings.NewReader("delivered"))
	}
	entries, _ := os.ReadDir(filepath.Join(f.Dir(), ".ingest"))
	if len(entries) != 0 {
		t.Fatalf("temp files left: %v", entries)
	}
}

// Readers polling index.json while tags are written must always decode a
// complete document.
func TestIndexWrittenAtomically(t *testing.T) {
	f := newFS(t)
	b, m := storetest.Manifest("atomic")
	mustPut(t, f, m, b)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			raw, err := os.ReadFile(filepath.Join(f.Dir(), "index.json"))
			if err != nil {
				t.Errorf("read index.json: %v", err)
				return
			}
			if !json.Valid(raw) {
				t.Errorf("torn index.json: %q", raw)
				return
			}
		}
	})
	for i := range 200 {
		if err := f.Tag(context.Background(), m, "t"+strings.Repeat("x", i%17)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
}

// Two FS values on one directory stand in for two processes: flock, not just
// the mutex, must keep their read-modify-writes from losing tags.
func TestTagTwoHandles(t *testing.T) {
	f := newFS(t)
	g, err := store.OpenFS(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	b, m := storetest.Manifest("two")
	mustPut(t, f, m, b)
	var wg sync.WaitGroup
	for i, s := range []*store.FS{f, g, f, g} {
		wg.Go(func() {
			for j := range 10 {
				if err := s.Tag(context.Background(), m, string(rune('a'+i))+string(rune('a'+j))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	tags, _ := g.Tags(context.Background())
	if len(tags) != 40 {
		t.Fatalf("got %d tags, want 40", len(tags))
	}
}

func TestIndexPreservesUnknownFields(t *testing.T) {
	f := newFS(t)
	b, m := storetest.Manifest("known")
	mustPut(t, f, m, b)
	write(f.Dir(), "index.json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
		"annotations":{"top":"kept"},"x-future":{"a":[1,2]},
		"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+m.Digest.String()+`","size":`+itoa(m.Size)+`,
		"annotations":{"org.opencontainers.image.ref.name":"other"},"x-entry":"kept too","platform":{"os":"linux","architecture":"arm64"}}]}`)
	if err := f.Tag(context.Background(), m, "new"); err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Annotations map[string]string            `json:"annotations"`
		Future      json.RawMessage              `json:"x-future"`
		Manifests   []map[string]json.RawMessage `json:"manifests"`
	}
	readJSON(t, filepath.Join(f.Dir(), "index.json"), &idx)
	if idx.Annotations["top"] != "kept" || string(idx.Future) != `{"a":[1,2]}` || len(idx.Manifests) != 2 ||
		string(idx.Manifests[0]["x-entry"]) != `"kept too"` || idx.Manifests[0]["platform"] == nil {
		t.Fatalf("index.json lost fields: %+v", idx)
	}
	roots, err := f.Roots(context.Background())
	if err != nil || len(roots) != 2 || roots[0].Platform == nil || roots[0].Platform.Architecture != "arm64" {
		t.Fatalf("Roots = %+v, %v", roots, err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Tagging a digest that is an untagged root drops the untagged entry, so the
// layout still has one root per image.
func TestTagReplacesUntaggedRoot(t *testing.T) {
	f := newFS(t)
	b, m := storetest.Manifest("root")
	mustPut(t, f, m, b)
	write(f.Dir(), "index.json", `{"schemaVersion":2,"manifests":[{"mediaType":"`+m.MediaType+`","digest":"`+m.Digest.String()+`","size":`+itoa(m.Size)+`}]}`)
	if err := f.Tag(context.Background(), m, "v1"); err != nil {
		t.Fatal(err)
	}
	roots, err := f.Roots(context.Background())
	if err != nil || len(roots) != 1 {
		t.Fatalf("Roots = %+v, %v; want the tagged entry only", roots, err)
	}
}

// Nothing on disk is trusted: a bit flipped in a stored blob is caught by a
// full verified read.
func TestCorruptBlobDetected(t *testing.T) {
	f := newFS(t)
	b, desc := storetest.Blob(strings.Repeat("payload ", 1000))
	mustPut(t, f, desc, b)
	p := filepath.Join(f.Dir(), "blobs", "sha256", desc.Digest.Encoded())
	os.Chmod(p, 0o644)
	raw, _ := os.ReadFile(p)
	raw[500] ^= 0x01
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, size, err := f.Open(context.Background(), desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, oci.NewVerifyReader(rc, desc.Digest, size))
	var ve *oci.VerifyError
	if !errors.Is(err, errdef.ErrDigestMismatch) || !errors.As(err, &ve) {
		t.Fatalf("verified read of a corrupt blob = %v, want ErrDigestMismatch", err)
	}
}

func TestStoreError(t *testing.T) {
	f := newFS(t)
	_, err := f.Stat(context.Background(), digest.FromString("absent"))
	var se *store.Error
	if !errors.As(err, &se) || se.Op != "stat" || se.Digest == "" || !strings.Contains(err.Error(), se.Digest.String()) {
		t.Fatalf("Stat error = %#v", err)
	}
}

// FuzzIndex feeds arbitrary index.json content through every reader and a
// tag write: nothing may panic, and a successful write must leave a layout
// that reads back with the new tag.
func FuzzIndex(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"a","digest":"sha256:00","size":1,"annotations":{"org.opencontainers.image.ref.name":"v1"}}],"x":null}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, index []byte) {
		fs := newFS(t)
		b, m := storetest.Manifest("fuzz")
		mustPut(t, fs, m, b)
		if err := os.WriteFile(filepath.Join(fs.Dir(), "index.json"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		fs.Roots(ctx)
		fs.Tags(ctx)
		fs.Resolve(ctx, "v1")
		if err := fs.Tag(ctx, m, "fuzzed"); err != nil {
			return
		}
		if got, err := fs.Resolve(ctx, "fuzzed"); err != nil || got.Digest != m.Digest {
			t.Fatalf("after Tag, Resolve = %v, %v", got.Digest, err)
		}
	})
}

func TestIndexRootsAndDeletes(t *testing.T) {
	f := newFS(t)
	ctx := context.Background()
	b, m := storetest.Manifest("roots")
	mustPut(t, f, m, b)
	if err := f.AddRoot(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := f.AddRoot(ctx, m); err != nil {
		t.Fatal(err)
	}
	if roots, _ := f.Roots(ctx); len(roots) != 1 {
		t.Fatalf("roots = %v", roots)
	}
	f.Tag(ctx, m, "a")
	f.Tag(ctx, m, "b")
	if err := f.Untag(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := f.Untag(ctx, "a"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Untag twice = %v", err)
	}
	if err := f.DeleteManifest(ctx, m.Digest); err != nil {
		t.Fatal(err)
	}
	if roots, _ := f.Roots(ctx); len(roots) != 0 {
		t.Fatalf("roots after delete = %v", roots)
	}
	if err := f.DeleteManifest(ctx, m.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("DeleteManifest twice = %v", err)
	}
	mustPut(t, f, m, b)
	if err := f.Delete(ctx, m.Digest); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete(ctx, m.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Delete twice = %v", err)
	}
}

// Readers reuse a parsed index.json only while it is the file they read: a
// tag moved through another handle (another process), or index.json
// rewritten in place by another tool, is seen by the next Resolve, and a
// caller changing what Resolve returned changes nothing for the next one.
func TestResolveSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	f := newFS(t)
	g, err := store.OpenFS(f.Dir())
	if err != nil {
		t.Fatal(err)
	}
	b1, m1 := storetest.Manifest("one")
	b2, m2 := storetest.Manifest("two")
	mustPut(t, f, m1, b1)
	mustPut(t, f, m2, b2)
	resolve := func(want oci.Descriptor) {
		t.Helper()
		got, err := f.Resolve(ctx, "t")
		if err != nil || got.Digest != want.Digest {
			t.Fatalf("Resolve = %v, %v; want %s", got.Digest, err, want.Digest)
		}
	}
	if err := f.Tag(ctx, m1, "t"); err != nil {
		t.Fatal(err)
	}
	resolve(m1)
	got, _ := f.Resolve(ctx, "t")
	got.Annotations["org.opencontainers.image.ref.name"] = "changed by a caller"
	resolve(m1)
	for range 20 { // quicker than the filesystem's clock ticks
		if err := g.Tag(ctx, m2, "t"); err != nil {
			t.Fatal(err)
		}
		resolve(m2)
		if err := g.Tag(ctx, m1, "t"); err != nil {
			t.Fatal(err)
		}
		resolve(m1)
	}
	// In place, same size: another tool's rewrite without a rename.
	idx := filepath.Join(f.Dir(), "index.json")
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.OpenFile(idx, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // past a coarse clock tick, as a second write by hand would be
	if _, err := fh.Write(bytes.ReplaceAll(b, []byte(m1.Digest.Encoded()), []byte(m2.Digest.Encoded()))); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	resolve(m2)
}
