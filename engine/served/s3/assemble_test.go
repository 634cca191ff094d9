package s3

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestPlanParts checks the parts an upload's chunks are assembled in:
// together they are the chunks' bytes in order, every part but the last
// has S3's minimum, copies are one range of one chunk, and only what cannot
// be copied is streamed.
func TestPlanParts(t *testing.T) {
	const min, target = 5, 8
	for _, tc := range []struct {
		sizes    []int64
		streamed int64 // bytes streamed through, not copied
	}{
		{[]int64{5}, 0},
		{[]int64{40}, 0},
		{[]int64{1, 1, 1}, 3},
		{[]int64{2, 2, 2, 2}, 8},
		{[]int64{6, 1, 2, 11, 1}, 6},
		{[]int64{6, 1, 2, 7, 1}, 6},
		{[]int64{6, 1, 2, 6, 1}, 10},
		{[]int64{1, 20}, 5},
		{[]int64{4, 1, 9, 9}, 5},
		{[]int64{17, 3}, 3},
	} {
		t.Run(fmt.Sprint(tc.sizes), func(t *testing.T) {
			var run []chunk
			var off int64
			for i, n := range tc.sizes {
				run = append(run, chunk{key: fmt.Sprint(i), off: off, size: n})
				off += n
			}
			parts := planParts(run, min, target)
			var at, streamed int64 // position in the blob; bytes streamed
			for i, p := range parts {
				if i < len(parts)-1 && p.size < min {
					t.Errorf("part %d of %d has %d bytes, under the minimum", i, len(parts), p.size)
				}
				if p.copy && (len(p.segs) != 1 || p.size < min) {
					t.Errorf("copied part %d: %+v", i, p)
				}
				var sum int64
				for _, sg := range p.segs {
					if sg.c.off+sg.off != at || sg.off+sg.n > sg.c.size || sg.n <= 0 {
						t.Fatalf("part %d: segment %+v does not continue the blob at %d", i, sg, at)
					}
					at += sg.n
					sum += sg.n
				}
				if sum != p.size {
					t.Errorf("part %d: size %d, segments %d", i, p.size, sum)
				}
				if !p.copy {
					streamed += p.size
				}
			}
			if at != off {
				t.Fatalf("parts cover %d of %d bytes", at, off)
			}
			if streamed != tc.streamed {
				t.Errorf("%d bytes streamed, want %d: %+v", streamed, tc.streamed, parts)
			}
		})
	}
}

// TestAssembleChunkChanged checks a chunk replaced between the digest check
// and the server-side copy (its ETag no longer the one checked) fails the
// commit and leaves no blob and no multipart upload: through CopyObject
// (one chunk) and through a multipart upload of copied and streamed parts.
func TestAssembleChunkChanged(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
	}{
		{"one chunk", []int{3000}},
		{"big and small", []int{6 << 20, 1000, 2000, 11 << 20, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rs := newFakeRoots(t, 2)
			total := 0
			for _, n := range tc.sizes {
				total += n
			}
			content := randomBytes(total, 4)
			var id string
			tampered := false
			f.before = func(method, key string) {
				// The first request for the blob's key comes after the
				// check: every chunk changes then (same sizes, other bytes).
				if tampered || !strings.HasPrefix(key, "blobs/") {
					return
				}
				tampered = true
				for k, b := range f.objects {
					if strings.Contains(k, id+"/chunk/") {
						f.objects[k] = bytes.Repeat([]byte{'x'}, len(b))
					}
				}
			}
			_, err := pushChunks(t, f, rs, content, tc.sizes, func(upload string) { id = upload })
			if err == nil {
				t.Fatal("commit succeeded over a changed chunk")
			}
			if !tampered {
				t.Fatal("the blob's key was never touched")
			}
			if k := f.keys("blobs/"); len(k) != 0 {
				t.Fatalf("blobs after a failed commit: %q", k)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.multipart) != 0 {
				t.Errorf("%d multipart uploads left open", len(f.multipart))
			}
		})
	}
}
