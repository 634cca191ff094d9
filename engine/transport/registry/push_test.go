package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

func descOf(b []byte) oci.Descriptor {
	return oci.Descriptor{MediaType: oci.MediaTypeLayer, Digest: digestOf(b), Size: int64(len(b))}
}

func TestPushRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry()
	r := testRepo(t, f.start(t), Options{})

	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte(strings.Repeat("streamed layer ", 4096))
	empty := []byte{}
	cd, ld, ed := descOf(config), descOf(layer), descOf(empty)
	cd.MediaType = oci.MediaTypeImageConfig
	raw := imageManifest(cd, ld, ed)
	md := oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digestOf(raw), Size: int64(len(raw))}

	for _, item := range []struct {
		desc oci.Descriptor
		data []byte
	}{{cd, config}, {ld, layer}, {ed, empty}, {md, raw}} {
		ok, err := r.Exists(ctx, item.desc)
		if err != nil || ok {
			t.Fatalf("Exists(%s) before push = %v, %v", item.desc.Digest, ok, err)
		}
		// A plain io.Reader (no Len, no Seek): the upload must stream it.
		if err := r.Push(ctx, item.desc, io.MultiReader(strings.NewReader(string(item.data)))); err != nil {
			t.Fatalf("Push(%s): %v", item.desc.MediaType, err)
		}
		ok, err = r.Exists(ctx, item.desc)
		if err != nil || !ok {
			t.Fatalf("Exists(%s) after push = %v, %v", item.desc.Digest, ok, err)
		}
	}
	if got := f.manifests[md.Digest.String()].mediaType; got != md.MediaType {
		t.Errorf("manifest stored with Content-Type %q", got)
	}
	if err := r.Tag(ctx, md, "v1"); err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve(ctx, "v1")
	if err != nil || got.Digest != md.Digest {
		t.Fatalf("Resolve(v1) = %+v, %v", got, err)
	}
	rc, err := r.Fetch(ctx, ld)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != string(layer) {
		t.Errorf("fetched layer differs: %v", err)
	}
	tags, err := r.Tags(ctx)
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Errorf("Tags = %v, %v", tags, err)
	}
}

func TestPushMismatch(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry()
	r := testRepo(t, f.start(t), Options{})
	good := []byte("the real content")
	tests := []struct {
		name  string
		desc  oci.Descriptor
		body  string
		wantE error
	}{
		{"blob digest", descOf(good), "the fake content", errdef.ErrDigestMismatch},
		{"blob short", descOf(good), "the real", errdef.ErrSizeMismatch},
		{"blob long", descOf(good), "the real content and more", errdef.ErrSizeMismatch},
		{"empty blob", descOf([]byte{}), "x", errdef.ErrSizeMismatch},
		{"manifest", oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digestOf(good), Size: int64(len(good))}, "the fake content", errdef.ErrDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Push(ctx, tt.desc, strings.NewReader(tt.body))
			if !errors.Is(err, tt.wantE) {
				t.Errorf("err = %v, want %v", err, tt.wantE)
			}
		})
	}
	// The registry verifies too, so only content matching its digest can
	// land (here the first len(good) bytes of the too-long stream).
	for d, b := range f.blobs {
		if d != digestOf(good) || string(b) != string(good) {
			t.Errorf("registry stored %s = %q", d, b)
		}
	}
	if len(f.manifests) != 0 {
		t.Errorf("registry stored %d manifests", len(f.manifests))
	}
}

func TestTagMissingManifest(t *testing.T) {
	f := newFakeRegistry()
	r := testRepo(t, f.start(t), Options{})
	raw := []byte(`{}`)
	err := r.Tag(context.Background(), oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digestOf(raw), Size: 2}, "v1")
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestPushRejected(t *testing.T) {
	f := newFakeRegistry()
	f.auth = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPost {
			writeErr(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
			return false
		}
		return true
	}
	r := testRepo(t, f.start(t), Options{})
	b := []byte("x")
	err := r.Push(context.Background(), descOf(b), strings.NewReader("x"))
	if !errors.Is(err, errdef.ErrDenied) || !strings.Contains(err.Error(), "403 DENIED: requested access to the resource is denied") {
		t.Errorf("err = %v, want ErrDenied with the registry's message", err)
	}
}

func TestUploadURL(t *testing.T) {
	base, _ := url.Parse("https://reg.io/v2/t/x/blobs/uploads/")
	const d = "sha256:abc"
	tests := []struct{ loc, want string }{
		{"/v2/t/x/blobs/uploads/123", "https://reg.io/v2/t/x/blobs/uploads/123?digest=sha256%3Aabc"},
		{"123?_state=a%2Bb==", "https://reg.io/v2/t/x/blobs/uploads/123?_state=a%2Bb==&digest=sha256%3Aabc"},
		{"https://upload.reg.io/u/9?sig=x&y=1", "https://upload.reg.io/u/9?sig=x&y=1&digest=sha256%3Aabc"},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			got, err := uploadURL(base, tt.loc, d)
			if err != nil || got != tt.want {
				t.Errorf("uploadURL(%q) = %q, %v; want %q", tt.loc, got, err, tt.want)
			}
		})
	}
}
