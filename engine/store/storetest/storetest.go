// Package storetest is the conformance suite every store.Store implementation
// runs, so that the filesystem store and any later one (S3, memory) promise
// callers the same things: verified puts, nothing partial visible, seekable
// reads, and tags that resolve.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Run runs the suite. newStore returns an empty store; it is called once per
// subtest and may use t.TempDir and t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutStatOpen", testPutStatOpen},
		{"PutUnknownSize", testPutUnknownSize},
		{"PutDigestMismatch", testPutDigestMismatch},
		{"PutSizeMismatch", testPutSizeMismatch},
		{"PutExistingDoesNotRead", testPutExisting},
		{"PutConcurrentSameBlob", testPutConcurrent},
		{"PutReaderError", testPutReaderError},
		{"PutCancelled", testPutCancelled},
		{"OpenSeek", testOpenSeek},
		{"NotFound", testNotFound},
		{"InvalidDigest", testInvalidDigest},
		{"TagResolve", testTagResolve},
		{"TagUnstored", testTagUnstored},
		{"TagConcurrent", testTagConcurrent},
		{"Empty", testEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// Blob returns content and a descriptor for it, for tests here and elsewhere.
func Blob(content string) ([]byte, oci.Descriptor) {
	b := []byte(content)
	return b, oci.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// Manifest returns a minimal image manifest whose bytes differ by seed.
func Manifest(seed string) ([]byte, oci.Descriptor) {
	b := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":2},"layers":[],"annotations":{"seed":%q}}`,
		oci.MediaTypeImageManifest, oci.MediaTypeEmptyJSON, digest.FromString("{}"), seed))
	return b, oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

func mustPut(t *testing.T, s store.Store, desc oci.Descriptor, b []byte) {
	t.Helper()
	if err := s.Put(context.Background(), desc, bytes.NewReader(b)); err != nil {
		t.Fatalf("Put(%s): %v", desc.Digest, err)
	}
}

func wantGone(t *testing.T, s store.Store, d digest.Digest) {
	t.Helper()
	if _, err := s.Stat(context.Background(), d); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Stat(%s) after a failed put = %v, want ErrNotFound", d, err)
	}
}

func readAll(t *testing.T, s store.Store, d digest.Digest) []byte {
	t.Helper()
	rc, size, err := s.Open(context.Background(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(oci.NewVerifyReader(rc, d, size))
	if err != nil {
		t.Fatalf("verified read of %s: %v", d, err)
	}
	return b
}

func testPutStatOpen(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, content := range []string{"", "hello", strings.Repeat("0123456789abcdef", 1<<16+3)} {
		b, desc := Blob(content)
		mustPut(t, s, desc, b)
		n, err := s.Stat(ctx, desc.Digest)
		if err != nil || n != desc.Size {
			t.Fatalf("Stat = %d, %v; want %d", n, err, desc.Size)
		}
		if got := readAll(t, s, desc.Digest); !bytes.Equal(got, b) {
			t.Fatalf("read back %d bytes, want %d", len(got), len(b))
		}
	}
}

func testPutUnknownSize(t *testing.T, s store.Store) {
	b, desc := Blob("size not known in advance")
	desc.Size = -1
	mustPut(t, s, desc, b)
	if n, err := s.Stat(context.Background(), desc.Digest); err != nil || n != int64(len(b)) {
		t.Fatalf("Stat = %d, %v; want %d", n, err, len(b))
	}
}

func testPutDigestMismatch(t *testing.T, s store.Store) {
	_, desc := Blob("what was promised")
	err := s.Put(context.Background(), desc, strings.NewReader("what was sent!!!!"))
	var ve *oci.VerifyError
	if !errors.Is(err, errdef.ErrDigestMismatch) || !errors.As(err, &ve) {
		t.Fatalf("Put = %v, want a *oci.VerifyError matching ErrDigestMismatch", err)
	}
	wantGone(t, s, desc.Digest)
}

func testPutSizeMismatch(t *testing.T, s store.Store) {
	b, desc := Blob("twelve bytes")
	for _, size := range []int64{desc.Size - 1, desc.Size + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			d := desc
			d.Size = size
			if err := s.Put(context.Background(), d, bytes.NewReader(b)); !errors.Is(err, errdef.ErrSizeMismatch) {
				t.Fatalf("Put = %v, want ErrSizeMismatch", err)
			}
			wantGone(t, s, desc.Digest)
		})
	}
}

// failReader fails the test if anyone reads it.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("Put read the reader of a blob already present")
	return 0, io.ErrUnexpectedEOF
}

func testPutExisting(t *testing.T, s store.Store) {
	b, desc := Blob("already here")
	mustPut(t, s, desc, b)
	if err := s.Put(context.Background(), desc, failReader{t}); err != nil {
		t.Fatalf("second Put = %v, want nil", err)
	}
}

func testPutConcurrent(t *testing.T, s store.Store) {
	b, desc := Blob(strings.Repeat("concurrent ", 100000))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Put(context.Background(), desc, bytes.NewReader(b)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if got := readAll(t, s, desc.Digest); !bytes.Equal(got, b) {
		t.Fatal("content differs after concurrent puts")
	}
}

// errReader yields some bytes, then fails.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), r.n)
	clear(p[:n])
	r.n -= n
	return n, nil
}

func testPutReaderError(t *testing.T, s store.Store) {
	_, desc := Blob(strings.Repeat("x", 4096))
	if err := s.Put(context.Background(), desc, &errReader{n: 100}); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	wantGone(t, s, desc.Digest)
}

func testPutCancelled(t *testing.T, s store.Store) {
	b, desc := Blob("never stored")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, desc, bytes.NewReader(b)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	wantGone(t, s, desc.Digest)
}

func testOpenSeek(t *testing.T, s store.Store) {
	b, desc := Blob("0123456789")
	mustPut(t, s, desc, b)
	tests := []struct {
		offset int64
		whence int
		n      int64
		want   string
	}{
		{0, io.SeekStart, 3, "012"},
		{7, io.SeekStart, 10, "789"},
		{-2, io.SeekEnd, 10, "89"},
		{10, io.SeekStart, 10, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.offset, tc.whence), func(t *testing.T) {
			rc, size, err := s.Open(context.Background(), desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if size != desc.Size {
				t.Fatalf("Open size = %d, want %d", size, desc.Size)
			}
			if _, err := rc.Seek(tc.offset, tc.whence); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(io.LimitReader(rc, tc.n))
			if err != nil || string(got) != tc.want {
				t.Fatalf("read %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := digest.FromString("absent")
	if _, err := s.Stat(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Stat = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Open(ctx, d); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Open = %v, want ErrNotFound", err)
	}
	if _, err := s.Resolve(ctx, "absent"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Resolve = %v, want ErrNotFound", err)
	}
}

func testInvalidDigest(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, d := range []digest.Digest{"", "sha256:../../../etc/passwd", "sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", digest.Digest("sha256/" + digest.FromString("x").Encoded())} {
		t.Run(string(d), func(t *testing.T) {
			if _, err := s.Stat(ctx, d); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Stat = %v, want ErrInvalid", err)
			}
			if _, _, err := s.Open(ctx, d); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Open = %v, want ErrInvalid", err)
			}
			if err := s.Put(ctx, oci.Descriptor{Digest: d, Size: 1}, strings.NewReader("x")); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Put = %v, want ErrInvalid", err)
			}
			if err := s.Tag(ctx, oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: d, Size: 1}, "t"); !errors.Is(err, errdef.ErrInvalid) {
				t.Errorf("Tag = %v, want ErrInvalid", err)
			}
		})
	}
}

func testTagResolve(t *testing.T, s store.Store) {
	ctx := context.Background()
	b1, m1 := Manifest("one")
	b2, m2 := Manifest("two")
	mustPut(t, s, m1, b1)
	mustPut(t, s, m2, b2)
	for _, tag := range []string{"v1", "latest", "a.b-c_d"} {
		if err := s.Tag(ctx, m1, tag); err != nil {
			t.Fatalf("Tag(%s): %v", tag, err)
		}
	}
	if err := s.Tag(ctx, m2, "latest"); err != nil {
		t.Fatalf("retag: %v", err)
	}
	for tag, want := range map[string]oci.Descriptor{"v1": m1, "a.b-c_d": m1, "latest": m2} {
		got, err := s.Resolve(ctx, tag)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", tag, err)
		}
		if got.Digest != want.Digest || got.Size != want.Size || got.MediaType != want.MediaType {
			t.Errorf("Resolve(%s) = %s %d %s, want %s %d %s", tag, got.Digest, got.Size, got.MediaType, want.Digest, want.Size, want.MediaType)
		}
	}
	tags, err := s.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.b-c_d", "latest", "v1"}; fmt.Sprint(tags) != fmt.Sprint(want) {
		t.Errorf("Tags = %q, want %q", tags, want)
	}
	for _, bad := range []string{"", "has space", "-leading", strings.Repeat("x", 256)} {
		if err := s.Tag(ctx, m1, bad); !errors.Is(err, errdef.ErrInvalid) {
			t.Errorf("Tag(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	wrong := m1
	wrong.Size++
	if err := s.Tag(ctx, wrong, "wrong"); !errors.Is(err, errdef.ErrSizeMismatch) {
		t.Errorf("Tag with a wrong size = %v, want ErrSizeMismatch", err)
	}
}

func testTagUnstored(t *testing.T, s store.Store) {
	_, m := Manifest("not stored")
	if err := s.Tag(context.Background(), m, "v1"); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("Tag of an unstored manifest = %v, want ErrNotFound", err)
	}
}

func testTagConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	b, m := Manifest("shared")
	mustPut(t, s, m, b)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if err := s.Tag(ctx, m, fmt.Sprintf("t%02d", i)); err != nil {
				t.Errorf("Tag(t%02d): %v", i, err)
			}
		})
	}
	wg.Wait()
	tags, err := s.Tags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 16 {
		t.Fatalf("after 16 concurrent tags, Tags = %q", tags)
	}
}

func testEmpty(t *testing.T, s store.Store) {
	tags, err := s.Tags(context.Background())
	if err != nil || len(tags) != 0 {
		t.Fatalf("Tags of an empty store = %q, %v", tags, err)
	}
}
