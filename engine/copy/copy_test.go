package copy_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// targets are the destinations every scenario runs against.
var targets = []struct {
	name string
	new  func(*testing.T) endpoint
}{
	{"layout", newLayout},
	{"registry", newRegistry},
}

// recorder collects progress events.
type recorder struct {
	mu     sync.Mutex
	events []copy.Event
}

func (r *recorder) record(e copy.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) count(k copy.Kind) int {
	n := 0
	for _, e := range r.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func TestCopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				ref      string
				platform string
				want     oci.Descriptor
				present  []oci.Descriptor // must be at the target afterwards
				absent   []oci.Descriptor // must not be
				blobs    int
			}{
				{"image", "v1", "", f.image, []oci.Descriptor{f.bigLayer}, nil, 3},
				{"index all", "multi", "", f.index, []oci.Descriptor{f.amd64, f.arm64, f.baseLayer, f.amdLayer, f.armLayer}, nil, 5},
				{"index one platform", "multi", "linux/arm64", f.arm64, []oci.Descriptor{f.baseLayer, f.armLayer}, []oci.Descriptor{f.index, f.amd64, f.amdLayer}, 3},
				{"index platform with variant", "multi", "linux/arm64/v8", f.arm64, nil, []oci.Descriptor{f.index}, 3},
				{"platform of a plain image is ignored", "v1", "linux/arm64", f.image, nil, nil, 3},
			} {
				t.Run(tc.name, func(t *testing.T) {
					dst := tg.new(t)
					rec := &recorder{}
					res, err := copy.Copy(ctx, f.src, tc.ref, dst, "copied", copy.Options{Platform: tc.platform, Progress: rec.record})
					if err != nil {
						t.Fatal(err)
					}
					if res.Digest != tc.want.Digest || res.MediaType != tc.want.MediaType || res.Size != tc.want.Size {
						t.Errorf("result %+v, want %s %s", res, tc.want.Digest, tc.want.MediaType)
					}
					if res.BlobsCopied != tc.blobs || res.BlobsSkipped != 0 {
						t.Errorf("copied %d blobs, skipped %d; want %d, 0", res.BlobsCopied, res.BlobsSkipped, tc.blobs)
					}
					got, err := dst.Resolve(ctx, "copied")
					if err != nil || got.Digest != tc.want.Digest {
						t.Fatalf("destination tag resolves to %v, %v; want %s", got.Digest, err, tc.want.Digest)
					}
					for _, d := range append(tc.present, tc.want) {
						if !has(t, dst, d) {
							t.Errorf("destination lacks %s", d.Digest)
						}
					}
					for _, d := range tc.absent {
						if ok, _ := dst.Exists(ctx, d); ok {
							t.Errorf("destination holds %s, which it should not", d.Digest)
						}
					}
					if n := rec.count(copy.KindBlobDone); n != tc.blobs {
						t.Errorf("%d blob-done events, want %d", n, tc.blobs)
					}
					if last := rec.events[len(rec.events)-1]; last.Kind != copy.KindImageDone || last.Desc.Digest != tc.want.Digest {
						t.Errorf("last event %+v, want image-done of %s", last, tc.want.Digest)
					}

					// A second copy finds everything there and moves no byte.
					res, err = copy.Copy(ctx, f.src, tc.ref, dst, "again", copy.Options{Platform: tc.platform})
					if err != nil {
						t.Fatal(err)
					}
					if res.Bytes != 0 || res.BlobsCopied != 0 || res.ManifestsCopied != 0 || res.ManifestsSkipped != 1 {
						t.Errorf("second copy: %+v, want nothing transferred", res)
					}
					if got, err := dst.Resolve(ctx, "again"); err != nil || got.Digest != tc.want.Digest {
						t.Errorf("second tag resolves to %v, %v", got.Digest, err)
					}
				})
			}
		})
	}
}

// TestCopyProgress: a blob over 1 MiB reports its bytes as it goes, and
// every blob starts before it is done.
func TestCopyProgress(t *testing.T) {
	f := newFixture(t)
	rec := &recorder{}
	if _, err := copy.Copy(context.Background(), f.src, "v1", newLayout(t), "v1", copy.Options{Progress: rec.record}); err != nil {
		t.Fatal(err)
	}
	started := map[string]bool{}
	var bytes []int64
	for _, e := range rec.events {
		switch e.Kind {
		case copy.KindBlobStarted:
			started[e.Desc.Digest.String()] = true
		case copy.KindBlobBytes:
			if e.Desc.Digest == f.bigLayer.Digest {
				bytes = append(bytes, e.Bytes)
			}
		case copy.KindBlobDone:
			if !started[e.Desc.Digest.String()] {
				t.Errorf("blob %s done before it started", e.Desc.Digest)
			}
			if e.Bytes != e.Desc.Size {
				t.Errorf("blob %s done with %d of %d bytes", e.Desc.Digest, e.Bytes, e.Desc.Size)
			}
		}
	}
	if len(bytes) < 2 {
		t.Errorf("3 MiB blob reported progress %d times, want at least 2", len(bytes))
	}
	for i := 1; i < len(bytes); i++ {
		if bytes[i] <= bytes[i-1] {
			t.Errorf("progress went from %d to %d bytes", bytes[i-1], bytes[i])
		}
	}
}

// TestCopyPartialTarget: a target holding some blobs gets only the others.
func TestCopyPartialTarget(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dst := tg.new(t)
			if _, err := copy.Copy(ctx, f.src, "multi", dst, "arm", copy.Options{Platform: "linux/arm64"}); err != nil {
				t.Fatal(err)
			}
			res, err := copy.Copy(ctx, f.src, "multi", dst, "all", copy.Options{Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			// amd64's config and its own layer are new; the base layer and
			// the whole arm64 image are there.
			if res.BlobsCopied != 2 || res.BlobsSkipped != 1 || res.ManifestsCopied != 2 || res.ManifestsSkipped != 1 {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestCopyCorruptSource(t *testing.T) {
	ctx := context.Background()
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			f := newFixture(t)
			f.corrupt(t, f.bigLayer)
			dst := tg.new(t)
			_, err := copy.Copy(ctx, f.src, "v1", dst, "v1", copy.Options{})
			var cerr *copy.Error
			if !errors.As(err, &cerr) || cerr.Origin != copy.OriginSource || cerr.Desc.Digest != f.bigLayer.Digest {
				t.Fatalf("error %v (%#v), want a source error on %s", err, cerr, f.bigLayer.Digest)
			}
			if !errors.Is(err, errdef.ErrDigestMismatch) {
				t.Errorf("error %v does not match ErrDigestMismatch", err)
			}
			if _, err := dst.Resolve(ctx, "v1"); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("destination tag after a failed copy: %v, want not found", err)
			}
			if ok, _ := dst.Exists(ctx, f.bigLayer); ok {
				t.Error("destination holds the corrupt blob")
			}
			if ok, _ := dst.Exists(ctx, f.image); ok {
				t.Error("destination holds the manifest of a failed copy")
			}
		})
	}
}

func TestCopyErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, tc := range []struct {
		name, ref, platform string
		origin              string // "" : not a *copy.Error
		class               error
	}{
		{"unknown tag", "nope", "", copy.OriginSource, errdef.ErrNotFound},
		{"absent platform", "multi", "linux/s390x", copy.OriginSource, errdef.ErrNotFound},
		{"bad platform", "multi", "linux", "", errdef.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := copy.Copy(ctx, f.src, tc.ref, newLayout(t), "x", copy.Options{Platform: tc.platform})
			if !errors.Is(err, tc.class) {
				t.Fatalf("error %v, want %v", err, tc.class)
			}
			var cerr *copy.Error
			if got := errors.As(err, &cerr); got != (tc.origin != "") || got && cerr.Origin != tc.origin {
				t.Errorf("error %#v, want origin %q", err, tc.origin)
			}
		})
	}
	// A bad tag is the destination's to refuse, and nothing is tagged.
	dst := newLayout(t)
	_, err := copy.Copy(ctx, f.src, "v1", dst, "bad tag", copy.Options{})
	var cerr *copy.Error
	if !errors.As(err, &cerr) || cerr.Origin != copy.OriginDestination || !errors.Is(err, errdef.ErrInvalid) {
		t.Errorf("bad tag: %v", err)
	}
}

// TestCopyCancel: cancelling mid-blob stops the copy with the context's
// error and tags nothing.
func TestCopyCancel(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			f := newFixture(t)
			dst := tg.new(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := copy.Copy(ctx, f.src, "v1", dst, "v1", copy.Options{Concurrency: 1, Progress: func(e copy.Event) {
				if e.Kind == copy.KindBlobBytes {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want context.Canceled", err)
			}
			if _, err := dst.Resolve(context.Background(), "v1"); !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("destination tag after cancel: %v, want not found", err)
			}
		})
	}
}

// TestCopyUntagged: an untagged copy into a layout is still listed in its
// index.json, so `oci:DIR` names it.
func TestCopyUntagged(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dst := newLayout(t)
	if _, err := copy.Copy(ctx, f.src, "multi", dst, "", copy.Options{}); err != nil {
		t.Fatal(err)
	}
	got, err := dst.Resolve(ctx, "")
	if err != nil || got.Digest != f.index.Digest {
		t.Errorf("untagged layout resolves to %v, %v; want %s", got.Digest, err, f.index.Digest)
	}
}

// TestCopyFromRegistry: a registry is a source as well as a target, and a
// registry-to-registry copy between repositories keeps the digest.
func TestCopyFromRegistry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	reg := newRegistry(t)
	if _, err := copy.Copy(ctx, f.src, "multi", reg, "multi", copy.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dst := tg.new(t)
			res, err := copy.Copy(ctx, reg, "multi", dst, "back", copy.Options{Concurrency: 8})
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != f.index.Digest || res.BlobsCopied != 5 {
				t.Errorf("result %+v", res)
			}
			if !has(t, dst, f.armLayer) {
				t.Error("arm64 layer missing")
			}
		})
	}
}
