package layout_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
	"github.com/stevedore-dev/stevedore/engine/store/storetest"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

func newLayout(t *testing.T) (*layout.Layout, *store.FS) {
	t.Helper()
	fs, err := store.CreateFS(filepath.Join(t.TempDir(), "oci"))
	if err != nil {
		t.Fatal(err)
	}
	return layout.New(fs), fs
}

func push(t *testing.T, l *layout.Layout, desc oci.Descriptor, b []byte) {
	t.Helper()
	if err := l.Push(context.Background(), desc, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	l, _ := newLayout(t)
	b1, m1 := storetest.Manifest("one")
	b2, m2 := storetest.Manifest("two")
	idx := []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"` + m2.MediaType + `","digest":"` + m2.Digest.String() + `","size":1}]}`)
	mi := oci.Descriptor{Digest: digest.FromBytes(idx), Size: int64(len(idx))}
	layer, ld := storetest.Blob("not a manifest")
	push(t, l, m1, b1)
	push(t, l, m2, b2)
	push(t, l, mi, idx)
	push(t, l, ld, layer)

	if _, err := l.Resolve(ctx, ""); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Resolve(\"\") of an empty layout = %v, want ErrNotFound", err)
	}
	if err := l.Tag(ctx, m1, "v1"); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Resolve(ctx, ""); err != nil || got.Digest != m1.Digest {
		t.Fatalf("Resolve(\"\") with one root = %v, %v", got.Digest, err)
	}
	if err := l.Tag(ctx, m2, "v2"); err != nil {
		t.Fatal(err)
	}
	_, err := l.Resolve(ctx, "")
	if !errors.Is(err, errdef.ErrInvalid) || !strings.Contains(err.Error(), "v1, v2") {
		t.Fatalf("Resolve(\"\") with two roots = %v, want ErrInvalid listing the tags", err)
	}

	tests := []struct {
		ref       string
		wantMT    string
		wantD     digest.Digest
		wantClass error
	}{
		{"v1", oci.MediaTypeImageManifest, m1.Digest, nil},
		{m2.Digest.String(), oci.MediaTypeImageManifest, m2.Digest, nil},
		{mi.Digest.String(), oci.MediaTypeImageIndex, mi.Digest, nil}, // untagged: media type read from the blob
		{"nope", "", "", errdef.ErrNotFound},
		{digest.FromString("absent").String(), "", "", errdef.ErrNotFound},
		{"sha256:123", "", "", errdef.ErrInvalid},
		{ld.Digest.String(), "", "", errdef.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := l.Resolve(ctx, tc.ref)
			if tc.wantClass != nil {
				if !errors.Is(err, tc.wantClass) {
					t.Fatalf("Resolve = %v, want %v", err, tc.wantClass)
				}
				return
			}
			if err != nil || got.Digest != tc.wantD || got.MediaType != tc.wantMT || got.Size <= 0 {
				t.Fatalf("Resolve = %+v, %v; want %s %s", got, err, tc.wantMT, tc.wantD)
			}
		})
	}
	tags, err := l.Tags(ctx)
	if err != nil || strings.Join(tags, ",") != "v1,v2" {
		t.Fatalf("Tags = %q, %v", tags, err)
	}
}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	l, fs := newLayout(t)
	b, desc := storetest.Blob(strings.Repeat("layer bytes ", 10000))
	push(t, l, desc, b)

	rc, err := l.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("Fetch read %d bytes, %v", len(got), err)
	}

	p := filepath.Join(fs.Dir(), "blobs", "sha256", desc.Digest.Encoded())
	b[100] ^= 0x20
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err = l.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	var ve *oci.VerifyError
	if !errors.Is(err, errdef.ErrDigestMismatch) || !errors.As(err, &ve) {
		t.Fatalf("Fetch of a corrupt blob = %v, want *oci.VerifyError matching ErrDigestMismatch", err)
	}

	if _, err := l.Fetch(ctx, oci.Descriptor{Digest: digest.FromString("absent"), Size: 1}); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Fetch of a missing blob = %v, want ErrNotFound", err)
	}
}

func TestFetchRange(t *testing.T) {
	l, _ := newLayout(t)
	b, desc := storetest.Blob("0123456789")
	push(t, l, desc, b)
	tests := []struct {
		offset, length int64
		want           string
		wantErr        error
	}{
		{0, 3, "012", nil},
		{4, -1, "456789", nil},
		{8, 100, "89", nil},
		{10, -1, "", nil},
		{11, -1, "", errdef.ErrInvalid},
		{-1, 1, "", errdef.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			rc, err := l.FetchRange(context.Background(), desc, tc.offset, tc.length)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("FetchRange = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil || string(got) != tc.want {
				t.Fatalf("read %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	ctx := context.Background()
	l, _ := newLayout(t)
	b, desc := storetest.Blob("target")
	if ok, err := l.Exists(ctx, desc); ok || err != nil {
		t.Fatalf("Exists before push = %v, %v", ok, err)
	}
	push(t, l, desc, b)
	if ok, err := l.Exists(ctx, desc); !ok || err != nil {
		t.Fatalf("Exists after push = %v, %v", ok, err)
	}
	if _, err := l.Exists(ctx, oci.Descriptor{Digest: "sha256:bad"}); !errors.Is(err, errdef.ErrInvalid) {
		t.Fatalf("Exists of a bad digest = %v, want ErrInvalid", err)
	}
	st, err := l.StatBlob(ctx, desc.Digest)
	if err != nil || st.Size != desc.Size || st.Digest != desc.Digest {
		t.Fatalf("StatBlob = %+v, %v", st, err)
	}
	if err := l.Push(ctx, desc, strings.NewReader("other bytes")); err != nil {
		t.Fatalf("re-push of a present blob = %v", err)
	}
}
