package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// TestDeleteLayout: deleting by tag or digest removes the manifest with all
// its tags; --tag-only removes one tag and keeps the manifest.
func TestDeleteLayout(t *testing.T) {
	ctx := context.Background()
	e := engine.New(engine.Options{})
	for _, tc := range []struct {
		name     string
		ref      func(dir string, d digest.Digest) string
		tagOnly  bool
		class    error
		v1, v2   bool // whether each tag resolves afterwards
		manifest bool // whether the manifest is still readable by digest
	}{
		{"by tag", func(dir string, _ digest.Digest) string { return "oci:" + dir + ":v1" }, false, nil, false, false, false},
		{"by digest", func(dir string, d digest.Digest) string { return "oci:" + dir + "@" + d.String() }, false, nil, false, false, false},
		{"tag only", func(dir string, _ digest.Digest) string { return "oci:" + dir + ":v1" }, true, nil, false, true, true},
		{"tag only with digest", func(dir string, d digest.Digest) string { return "oci:" + dir + "@" + d.String() }, true, errdef.ErrInvalid, true, true, true},
		{"unknown tag", func(dir string, _ digest.Digest) string { return "oci:" + dir + ":nope" }, false, errdef.ErrNotFound, true, true, true},
		{"archive", func(dir string, _ digest.Digest) string { return "oci-archive:" + dir + ".tar:v1" }, false, errdef.ErrUnsupported, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			d := seedImage(t, dir)
			fs, err := store.OpenFS(dir)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := fs.Resolve(ctx, "v1")
			if err != nil {
				t.Fatal(err)
			}
			if err := fs.Tag(ctx, desc, "v2"); err != nil {
				t.Fatal(err)
			}
			got, err := e.Delete(ctx, ref(t, tc.ref(dir, d)), engine.DeleteOptions{TagOnly: tc.tagOnly})
			switch {
			case tc.class != nil && !errors.Is(err, tc.class):
				t.Fatalf("Delete: %v, want %v", err, tc.class)
			case tc.class == nil && (err != nil || got.Digest != d):
				t.Fatalf("Delete: %v, %v; want %s", got, err, d)
			}
			for r, want := range map[string]bool{"oci:" + dir + ":v1": tc.v1, "oci:" + dir + ":v2": tc.v2, "oci:" + dir + "@" + d.String(): tc.manifest} {
				if _, err := e.GetManifest(ctx, ref(t, r)); (err == nil) != want {
					t.Errorf("after delete, %s: %v, want present=%v", r, err, want)
				}
			}
		})
	}
}

// TestDeleteRegistry: a manifest is deleted by digest (a tag resolved
// first); a registry with deletes disabled (405) says so.
func TestDeleteRegistry(t *testing.T) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	d := digest.FromBytes(manifest)
	var mu sync.Mutex
	var deletes []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ref, ok := strings.Cut(r.URL.Path, "/manifests/")
		switch {
		case r.URL.Path == "/v2/":
		case !ok:
			w.WriteHeader(http.StatusNotFound)
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/v2/readonly/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`))
		case r.Method == http.MethodDelete:
			mu.Lock()
			deletes = append(deletes, ref)
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		case ref == "v1" || ref == d.String():
			w.Header().Set("Content-Type", oci.MediaTypeImageManifest)
			w.Header().Set("Docker-Content-Digest", d.String())
			w.Header().Set("Content-Length", strconv.Itoa(len(manifest)))
			if r.Method == http.MethodGet {
				w.Write(manifest)
			}
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	e := engine.New(engine.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name, ref   string
		tagOnly     bool
		class       error
		wantDeleted string
	}{
		{"tag resolves to digest", host + "/app:v1", false, nil, d.String()},
		{"digest", host + "/app@" + d.String(), false, nil, d.String()},
		{"tag only", host + "/app:v1", true, nil, "v1"},
		{"deletes disabled", host + "/readonly:v1", false, errdef.ErrUnsupported, ""},
		{"unknown", host + "/app:nope", false, errdef.ErrNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			deletes = nil
			mu.Unlock()
			got, err := e.Delete(ctx, ref(t, tc.ref), engine.DeleteOptions{TagOnly: tc.tagOnly})
			if tc.class != nil {
				if !errors.Is(err, tc.class) {
					t.Fatalf("Delete: %v, want %v", err, tc.class)
				}
				if tc.class == errdef.ErrUnsupported && !strings.Contains(err.Error(), "deletes disabled") {
					t.Errorf("error %q does not say deletes are disabled", err)
				}
				return
			}
			if err != nil || got.Digest != d {
				t.Fatalf("Delete: %v, %v", got, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(deletes) != 1 || deletes[0] != tc.wantDeleted {
				t.Errorf("DELETEs %v, want [%s]", deletes, tc.wantDeleted)
			}
		})
	}
}
