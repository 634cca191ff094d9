package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// OCIWriter writes an oci-archive: blobs stream into the tar as they are
// pushed (blobs/<alg>/<hex>), and oci-layout and index.json follow on
// Commit. An existing archive at the path is replaced on Commit, as skopeo
// does. Push may be called concurrently; entries are written one at a time.
type OCIWriter struct {
	a     *tarAppender
	blobs map[digest.Digest]bool
	roots []oci.Descriptor // index.json entries, tagged or not
}

var (
	_ transport.Target    = (*OCIWriter)(nil)
	_ transport.Committer = (*OCIWriter)(nil)
)

// CreateOCI starts an oci-archive to be written to name, inside dir, on
// Commit. The writer owns dir and closes it when committed or aborted.
func CreateOCI(dir *os.Root, name string) (*OCIWriter, error) {
	a, err := newTarAppender(dir, name)
	if err != nil {
		return nil, err
	}
	return &OCIWriter{a: a, blobs: map[digest.Digest]bool{}}, nil
}

// Exists reports whether desc was pushed to this archive already.
func (w *OCIWriter) Exists(ctx context.Context, desc oci.Descriptor) (bool, error) {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return false, err
	}
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	return w.blobs[desc.Digest], nil
}

// Push appends r as desc's blob, verified; a blob pushed before is read
// and dropped.
func (w *OCIWriter) Push(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	if desc.Size < 0 {
		return fmt.Errorf("pushing %s to an archive: size unknown: %w", desc.Digest, errdef.ErrInvalid)
	}
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.blobs[desc.Digest] {
		return nil
	}
	if err := w.a.add(blobName(desc.Digest), desc.Size, oci.NewVerifyReader(oci.ContextReader(ctx, r), desc.Digest, desc.Size)); err != nil {
		return err
	}
	w.blobs[desc.Digest] = true
	return nil
}

// Tag records tag for the manifest desc in the index.json Commit writes,
// replacing an earlier image of that tag.
func (w *OCIWriter) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	if tag == "" {
		return fmt.Errorf("empty tag: %w", errdef.ErrInvalid)
	}
	return w.addRoot(desc, tag)
}

// AddRoot records desc in index.json untagged.
func (w *OCIWriter) AddRoot(ctx context.Context, desc oci.Descriptor) error {
	return w.addRoot(desc, "")
}

func (w *OCIWriter) addRoot(desc oci.Descriptor, tag string) error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if !w.blobs[desc.Digest] {
		return fmt.Errorf("tagging %s: not pushed to this archive: %w", desc.Digest, errdef.ErrNotFound)
	}
	d := oci.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: desc.ArtifactType, Platform: desc.Platform}
	kept := w.roots[:0]
	for _, r := range w.roots {
		rt := r.Annotations[refNameAnnotation]
		if (tag != "" && rt == tag) || (rt == "" && r.Digest == desc.Digest) {
			continue
		}
		if tag == "" && r.Digest == desc.Digest {
			return nil // already listed under a tag
		}
		kept = append(kept, r)
	}
	if tag != "" {
		d.Annotations = map[string]string{refNameAnnotation: tag}
	}
	w.roots = append(kept, d)
	return nil
}

// Commit writes oci-layout and index.json, ends the tar and renames it
// into place.
//
// image-spec v1.1.1 image-layout.md §oci-layout file, §index.json file:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#oci-layout-file
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (w *OCIWriter) Commit(ctx context.Context) error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if err := ctx.Err(); err != nil {
		w.a.abortLocked()
		return err
	}
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	roots := w.roots
	if roots == nil {
		roots = []oci.Descriptor{}
	}
	index, err := json.Marshal(struct {
		SchemaVersion int              `json:"schemaVersion"`
		MediaType     string           `json:"mediaType"`
		Manifests     []oci.Descriptor `json:"manifests"`
	}{2, oci.MediaTypeImageIndex, roots})
	if err != nil {
		w.a.abortLocked()
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"oci-layout", layout}, {"index.json", index}} {
		if err := w.a.add(f.name, int64(len(f.b)), bytes.NewReader(f.b)); err != nil {
			w.a.abortLocked()
			return err
		}
	}
	return w.a.commit()
}

// Abort discards the archive being written.
func (w *OCIWriter) Abort() error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	return w.a.abortLocked()
}
