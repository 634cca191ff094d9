package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// imageManifest returns an OCI image manifest referencing config and layers.
func imageManifest(config oci.Descriptor, layers ...oci.Descriptor) []byte {
	var ls []string
	for _, l := range layers {
		ls = append(ls, fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, oci.MediaTypeLayer, l.Digest, l.Size))
	}
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[%s]}`,
		oci.MediaTypeImageManifest, oci.MediaTypeImageConfig, config.Digest, config.Size, strings.Join(ls, ","))
}

// seed puts a one-layer image tagged v1 into f.
func seed(f *fakeRegistry) (manifest, config, layer oci.Descriptor) {
	config = f.addBlob([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	layer = f.addBlob([]byte(strings.Repeat("layer-bytes ", 1000)))
	manifest = f.addManifest(oci.MediaTypeImageManifest, imageManifest(config, layer), "v1")
	return manifest, config, layer
}

func TestResolveAndFetch(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry()
	md, _, ld := seed(f)
	r := testRepo(t, f.start(t), Options{})

	for _, ref := range []string{"v1", md.Digest.String()} {
		t.Run("resolve "+ref, func(t *testing.T) {
			got, err := r.Resolve(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != md.Digest || got.Size != md.Size || got.MediaType != md.MediaType {
				t.Errorf("Resolve = %+v, want %+v", got, md)
			}
		})
	}
	for name, d := range map[string]oci.Descriptor{"manifest": md, "layer": ld, "unknown size": {Digest: ld.Digest, Size: -1}} {
		t.Run("fetch "+name, func(t *testing.T) {
			rc, err := r.Fetch(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if digest.FromBytes(b) != d.Digest {
				t.Error("wrong bytes")
			}
		})
	}
	t.Run("stat", func(t *testing.T) {
		got, err := r.StatBlob(ctx, ld.Digest)
		if err != nil || got.Size != ld.Size {
			t.Errorf("StatBlob = %+v, %v", got, err)
		}
	})
}

func TestNotFound(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry()
	r := testRepo(t, f.start(t), Options{})
	missing := digest.FromString("missing")
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"resolve tag", func() error { _, err := r.Resolve(ctx, "nope"); return err }, "HEAD http://"},
		{"fetch blob", func() error { _, err := r.Fetch(ctx, oci.Descriptor{Digest: missing, Size: 1}); return err }, "404 BLOB_UNKNOWN: blob unknown to registry"},
		{"fetch manifest", func() error {
			_, err := r.Fetch(ctx, oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: missing, Size: 1})
			return err
		}, "/v2/t/x/manifests/" + missing.String() + ": 404 MANIFEST_UNKNOWN: manifest unknown"},
		{"stat", func() error { _, err := r.StatBlob(ctx, missing); return err }, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, errdef.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			var re *ResponseError
			if !errors.As(err, &re) || re.StatusCode != 404 {
				t.Errorf("err = %#v, want *ResponseError 404", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	ctx := context.Background()
	r := New("127.0.0.1:1", "t/x", Options{Credentials: anonymous})
	for name, call := range map[string]func() error{
		"empty ref":    func() error { _, err := r.Resolve(ctx, ""); return err },
		"bad tag":      func() error { _, err := r.Resolve(ctx, "../../x"); return err },
		"bad digest":   func() error { _, err := r.Resolve(ctx, "sha256:zz"); return err },
		"fetch digest": func() error { _, err := r.Fetch(ctx, oci.Descriptor{Digest: "sha256:../x"}); return err },
		"neg offset": func() error {
			_, err := r.FetchRange(ctx, oci.Descriptor{Digest: digest.FromString("")}, -1, 1)
			return err
		},
		"bad tag push": func() error { return r.Tag(ctx, oci.Descriptor{Digest: digest.FromString("")}, "-x") },
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestResolveFallsBackToGet(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry()
	md, _, _ := seed(f)
	tests := []struct {
		name string
		head func(w http.ResponseWriter)
	}{
		{"no digest", func(w http.ResponseWriter) { w.Header().Set("Content-Type", md.MediaType) }},
		{"head not allowed", func(w http.ResponseWriter) { w.WriteHeader(http.StatusMethodNotAllowed) }},
		{"generic type", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Docker-Content-Digest", md.Digest.String())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodHead {
					tt.head(w)
					return
				}
				r.Header.Del("Accept")
				f.ServeHTTP(w, r)
			}))
			defer srv.Close()
			rp := testRepo(t, srv, Options{})
			for _, ref := range []string{"v1", md.Digest.String()} {
				got, err := rp.Resolve(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				if got.Digest != md.Digest || got.Size != md.Size || got.MediaType != md.MediaType {
					t.Errorf("Resolve(%s) = %+v, want %+v", ref, got, md)
				}
			}
		})
	}
}

func TestLyingRegistry(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry()
	md, _, ld := seed(f)
	// The lie: every body is replaced with other bytes of the same length,
	// and every digest header names the wrong content.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Docker-Content-Digest", digest.FromString("lie").String())
		w.WriteHeader(rec.Code)
		w.Write([]byte(strings.Repeat("x", rec.Body.Len())))
	}))
	defer srv.Close()
	r := testRepo(t, srv, Options{})

	for name, d := range map[string]oci.Descriptor{"blob": ld, "manifest": md, "unknown size": {Digest: ld.Digest, Size: -1}} {
		t.Run("fetch "+name, func(t *testing.T) {
			rc, err := r.Fetch(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			_, err = io.ReadAll(rc)
			var ve *oci.VerifyError
			if !errors.Is(err, errdef.ErrDigestMismatch) || !errors.As(err, &ve) {
				t.Errorf("err = %v, want ErrDigestMismatch", err)
			}
		})
	}
	t.Run("resolve digest", func(t *testing.T) {
		if _, err := r.Resolve(ctx, md.Digest.String()); !errors.Is(err, errdef.ErrDigestMismatch) {
			t.Errorf("err = %v, want ErrDigestMismatch", err)
		}
	})
	t.Run("stat", func(t *testing.T) {
		if _, err := r.StatBlob(ctx, ld.Digest); !errors.Is(err, errdef.ErrDigestMismatch) {
			t.Errorf("err = %v, want ErrDigestMismatch", err)
		}
	})
}

func TestSchema1(t *testing.T) {
	ctx := context.Background()
	schema1 := []byte(`{"schemaVersion":1,"name":"t/x","tag":"old","fsLayers":[{"blobSum":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}]}`)
	for _, tt := range []struct{ name, ct string }{
		{"signed type", oci.MediaTypeDockerSchema1Signed},
		{"plain type", oci.MediaTypeDockerSchema1},
		{"json type", "application/json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry()
			f.addManifest(tt.ct, schema1, "old")
			r := testRepo(t, f.start(t), Options{})
			_, err := r.Resolve(ctx, "old")
			if !errors.Is(err, errdef.ErrUnsupported) || !strings.Contains(err.Error(), "schema1") {
				t.Errorf("err = %v, want ErrUnsupported mentioning schema1", err)
			}
		})
	}
}

func TestFetchRange(t *testing.T) {
	ctx := context.Background()
	content := []byte("0123456789abcdefghij")
	tests := []struct {
		offset, length int64
		want           string
	}{
		{0, 5, "01234"},
		{5, 5, "56789"},
		{10, -1, "abcdefghij"},
		{19, 100, "j"},
		{3, 0, ""},
	}
	for _, ignore := range []bool{false, true} {
		f := newFakeRegistry()
		f.ignoreRange = ignore
		d := f.addBlob(content)
		r := testRepo(t, f.start(t), Options{})
		for _, tt := range tests {
			t.Run(fmt.Sprintf("ignoreRange=%v/%d+%d", ignore, tt.offset, tt.length), func(t *testing.T) {
				rc, err := r.FetchRange(ctx, d, tt.offset, tt.length)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				b, err := io.ReadAll(rc)
				if err != nil || string(b) != tt.want {
					t.Errorf("got %q, %v; want %q", b, err, tt.want)
				}
			})
		}
		t.Run(fmt.Sprintf("ignoreRange=%v/past end", ignore), func(t *testing.T) {
			_, err := r.FetchRange(ctx, d, 50, 1)
			if !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRedirectDropsAuthorization(t *testing.T) {
	ctx := context.Background()
	blob := []byte("redirected blob")
	d := digest.FromBytes(blob)
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			http.Error(w, "unexpected Authorization "+a, http.StatusBadRequest)
			return
		}
		w.Write(blob)
	}))
	defer storage.Close()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, storage.URL+"/bucket/"+d.Encoded()+"?sig=secret", http.StatusTemporaryRedirect)
	}))
	defer reg.Close()
	r := testRepo(t, reg, Options{Credentials: func(context.Context, string) (Credential, error) {
		return Credential{Username: "u", Password: "p"}, nil
	}})
	rc, err := r.Fetch(ctx, oci.Descriptor{Digest: d, Size: int64(len(blob))})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != string(blob) {
		t.Errorf("got %q, %v", b, err)
	}
}
