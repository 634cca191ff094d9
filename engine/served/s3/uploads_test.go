package s3

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// randomBytes is n reproducible incompressible bytes.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// pushChunks runs a session of one chunk per element of sizes, each through
// the next replica, and commits it through the last one; it returns the
// requests the commit made.
func pushChunks(t *testing.T, f *fakeS3, rs []*Root, content []byte, sizes []int, tamper func(id string)) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	up, err := rs[0].StartUpload(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for i, n := range sizes {
		if _, err := rs[i%len(rs)].WriteUpload(ctx, "app", up.ID, int64(off), int64(n), bytes.NewReader(content[off:off+n])); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		off += n
	}
	if tamper != nil {
		tamper(up.ID)
	}
	f.takeLog()
	_, err = rs[len(sizes)%len(rs)].CommitUpload(ctx, "app", up.ID, digest.FromBytes(content), -1, 0, nil)
	return f.takeLog(), err
}

// count is how many requests of log start with prefix and contain sub.
func count(log []string, prefix, sub string) int {
	n := 0
	for _, l := range log {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// TestCommitFromHashState checks a committed session is hashed from the
// state its chunks left, not read back, and assembled by the server: one
// chunk with one CopyObject, several with UploadPartCopy for the chunks of
// 5 MiB and more and one streamed part for the small ones between them.
func TestCommitFromHashState(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sizes  []int
		copies int  // CopyObject or UploadPartCopy requests
		multi  bool // a multipart upload (else one CopyObject)
	}{
		{"one chunk", []int{3000}, 1, false},
		// Over one part, still one CopyObject.
		{"one big chunk", []int{64 << 20}, 1, false},
		{"small chunks", []int{1500, 1500, 7}, 0, true},
		// 6 MiB copied; 3000 bytes topped up to 5 MiB from the next chunk
		// and streamed; the rest of that chunk copied; 100 bytes streamed.
		{"big and small", []int{6 << 20, 1000, 2000, 11 << 20, 100}, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rs := newFakeRoots(t, 3)
			total := 0
			for _, n := range tc.sizes {
				total += n
			}
			content := randomBytes(total, 1)
			log, err := pushChunks(t, f, rs, content, tc.sizes, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := digest.FromBytes(content)
			if !bytes.Equal(f.objects[rs[0].s.keys.blob(d)], content) {
				t.Fatal("the blob is not the chunks' bytes")
			}
			if n := count(log, "GET ", "/chunk/"); n != countStreamedGETs(tc.sizes) {
				t.Errorf("%d chunk GETs, want %d:\n%s", n, countStreamedGETs(tc.sizes), strings.Join(log, "\n"))
			}
			if n := count(log, "PUT ", " copy "); n != tc.copies {
				t.Errorf("%d server-side copies, want %d:\n%s", n, tc.copies, strings.Join(log, "\n"))
			}
			if multi := count(log, "POST blobs/", "") > 0; multi != tc.multi {
				t.Errorf("multipart upload: %t, want %t:\n%s", multi, tc.multi, strings.Join(log, "\n"))
			}
			if k := f.keys("uploads/"); len(k) != 0 {
				t.Errorf("session left behind: %q", k)
			}
		})
	}
}

// countStreamedGETs is how many chunk GETs assembling sizes streams: the
// segments of the parts planParts streams.
func countStreamedGETs(sizes []int) int {
	var run []chunk
	off := int64(0)
	for _, n := range sizes {
		run = append(run, chunk{off: off, size: int64(n)})
		off += int64(n)
	}
	if len(run) == 1 {
		return 0
	}
	n := 0
	for _, p := range planParts(run, minPartSize, defaultPartSize) {
		if !p.copy {
			n += len(p.segs)
		}
	}
	return n
}

// TestCommitWithoutTrustedState checks the commit reads the chunks back
// through the digest check when it cannot use the saved state: a writer
// died before saving it, or a chunk is not the one hashed any more. A chunk
// replaced by other bytes is then caught, and nothing is stored.
func TestCommitWithoutTrustedState(t *testing.T) {
	content := randomBytes(4000, 2)
	for _, tc := range []struct {
		name   string
		tamper func(f *fakeS3, r *Root, id string)
		want   error
	}{
		{"state lost", func(f *fakeS3, r *Root, id string) {
			delete(f.objects, r.s.keys.hash(id, 4000))
		}, nil},
		{"state of other chunks", func(f *fakeS3, r *Root, id string) {
			f.objects[r.s.keys.hash(id, 4000)] = f.objects[r.s.keys.hash(id, 1000)]
		}, nil},
		{"chunk replaced", func(f *fakeS3, r *Root, id string) {
			f.objects[r.s.keys.chunk(id, 1000)] = bytes.Repeat([]byte{'x'}, 1000)
		}, errdef.ErrDigestMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rs := newFakeRoots(t, 2)
			log, err := pushChunks(t, f, rs, content, []int{1000, 1000, 2000}, func(id string) {
				f.mu.Lock()
				defer f.mu.Unlock()
				tc.tamper(f, rs[0], id)
			})
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("commit = %v, want %v", err, tc.want)
				}
				if k := f.keys("blobs/"); len(k) != 0 {
					t.Fatalf("blobs after a failed commit: %q", k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := count(log, "GET ", "/chunk/"); n < 3 {
				t.Errorf("%d chunk GETs, want the 3 chunks read back:\n%s", n, strings.Join(log, "\n"))
			}
			if !bytes.Equal(f.objects[rs[0].s.keys.blob(digest.FromBytes(content))], content) {
				t.Fatal("the blob is not the chunks' bytes")
			}
		})
	}
}

// TestCommitWhole checks an upload whose whole body comes with its digest
// goes straight to the blob's key (no chunk), and that a wrong digest
// stores nothing.
func TestCommitWhole(t *testing.T) {
	ctx := context.Background()
	content := randomBytes(3<<20, 3)
	for _, tc := range []struct {
		name string
		d    digest.Digest
		size int64
		want error
	}{
		{"known size", digest.FromBytes(content), int64(len(content)), nil},
		{"unknown size", digest.FromBytes(content), -1, nil},
		{"wrong digest", digest.FromString("other"), int64(len(content)), errdef.ErrDigestMismatch},
		{"short body", digest.FromBytes(content), int64(len(content)) + 1, errdef.ErrSizeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rs := newFakeRoots(t, 1)
			up, err := rs[0].StartUpload(ctx, "app")
			if err != nil {
				t.Fatal(err)
			}
			f.takeLog()
			n, err := rs[0].CommitUpload(ctx, "app", up.ID, tc.d, -1, tc.size, bytes.NewReader(content))
			if count(f.takeLog(), "PUT ", "/chunk/") != 0 {
				t.Error("a monolithic upload wrote a chunk")
			}
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("commit = %v, want %v", err, tc.want)
				}
				if k := f.keys("blobs/"); len(k) != 0 {
					t.Fatalf("blobs after a failed commit: %q", k)
				}
				return
			}
			if err != nil || n != int64(len(content)) {
				t.Fatalf("commit = %d, %v", n, err)
			}
			if !bytes.Equal(f.objects[rs[0].s.keys.blob(tc.d)], content) {
				t.Fatal("the blob is not the body")
			}
		})
	}
}
