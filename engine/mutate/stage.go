package mutate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// stage is a transport.Source that lays the blobs a mutation writes over the
// sources it reads: new manifests and configs in memory (they are small and
// bounded), new layers in temporary files, blobs of other images (a new
// base, the members of an index) from their own sources, and everything else
// from the primary source. Pushing the result is then a plain copy.Copy from
// the stage, which skips whatever the target already holds.
type stage struct {
	src   transport.Source
	limit int64

	mu    sync.Mutex
	small map[digest.Digest]oci.Descriptor // new manifests and configs, bytes in json
	json  map[digest.Digest][]byte
	files map[digest.Digest]string
	from  map[digest.Digest]transport.Source
}

var _ transport.Source = (*stage)(nil)

func newStage(src transport.Source, limit int64) *stage {
	return &stage{src: src, limit: limit, small: map[digest.Digest]oci.Descriptor{}, json: map[digest.Digest][]byte{}, files: map[digest.Digest]string{}, from: map[digest.Digest]transport.Source{}}
}

// close removes the staged layer files.
func (s *stage) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.files {
		os.Remove(p)
	}
	s.files = map[digest.Digest]string{}
}

// putJSON stages a manifest or config and returns its descriptor.
func (s *stage) putJSON(mediaType string, b []byte) oci.Descriptor {
	d := oci.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	s.mu.Lock()
	s.small[d.Digest], s.json[d.Digest] = d, b
	s.mu.Unlock()
	return d
}

// putFile stages a layer written to path; the stage removes it on close.
func (s *stage) putFile(d digest.Digest, path string) {
	s.mu.Lock()
	s.files[d] = path
	s.mu.Unlock()
}

// borrow records that d is read from src rather than the primary source.
func (s *stage) borrow(d digest.Digest, src transport.Source) {
	s.mu.Lock()
	if _, ok := s.from[d]; !ok {
		s.from[d] = src
	}
	s.mu.Unlock()
}

// adopt borrows desc and, when it is a manifest, everything below it, from
// src: the members of a new index or the layers of a new base may live in
// another repository than the image being edited.
func (s *stage) adopt(ctx context.Context, src transport.Source, desc oci.Descriptor, depth int) error {
	s.borrow(desc.Digest, src)
	if !oci.IsManifest(desc.MediaType) {
		return nil
	}
	if depth > maxDepth {
		return fmt.Errorf("indexes nested more than %d deep: %w", maxDepth, errdef.ErrUnsupported)
	}
	m, err := transport.FetchManifest(ctx, src, desc, s.limit)
	if err != nil {
		return err
	}
	for _, c := range m.Children() {
		if err := s.adopt(ctx, src, c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// Resolve names staged manifests by their digest, so a step can read an
// intermediate result (Flatten exports the image as the steps before it
// left it); anything else is the primary source's to resolve.
func (s *stage) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	s.mu.Lock()
	d, ok := s.small[digest.Digest(ref)]
	s.mu.Unlock()
	if ok && oci.IsManifest(d.MediaType) {
		return oci.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
	}
	return s.src.Resolve(ctx, ref)
}

// Fetch streams staged content, or delegates. Staged files are verified
// like any other source's blobs; staged JSON was hashed when it was made.
func (s *stage) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	s.mu.Lock()
	b, isSmall := s.json[desc.Digest]
	p, isFile := s.files[desc.Digest]
	src, borrowed := s.from[desc.Digest]
	s.mu.Unlock()
	switch {
	case isSmall:
		return io.NopCloser(bytes.NewReader(b)), nil
	case isFile:
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{oci.NewVerifyReader(f, desc.Digest, desc.Size), f}, nil
	case borrowed:
		return src.Fetch(ctx, desc)
	}
	return s.src.Fetch(ctx, desc)
}

// push copies the staged root (and whatever below it dst lacks) to dst and
// tags it; an empty tag pushes by digest only. progress, if set, receives
// the copy's events.
func (s *stage) push(ctx context.Context, root oci.Descriptor, dst transport.Target, tag string, source digest.Digest, progress func(imgcopy.Event)) (*Result, error) {
	res, err := imgcopy.Copy(ctx, s, root.Digest.String(), dst, tag, imgcopy.Options{ManifestLimit: s.limit, Progress: progress})
	if err != nil {
		return nil, err
	}
	return &Result{Digest: res.Digest, MediaType: res.MediaType, Size: res.Size, Tag: tag, Source: source, Pushed: res}, nil
}

// maxDepth bounds index nesting; real images nest two deep at most.
const maxDepth = 8

// marshal encodes v as compact JSON without escaping <, > and &, which
// the image tools that wrote the source did not escape either.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
