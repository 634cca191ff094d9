package archive

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// DockerWriter writes a docker-archive the way skopeo does: the config as
// <hex>.json, each layer uncompressed as <diff-id-hex>.tar, and manifest.json
// listing every tagged image on Commit. Gzip layers are decompressed as they
// stream in, so config and layer digests are those docker save would write;
// the manifest itself is not stored (the format has no place for it).
type DockerWriter struct {
	a       *tarAppender
	repo    string                          // "docker.io/foo/bar", from the reference the archive was created with
	name    string                          // repo:tag of that reference, or ""
	configs map[digest.Digest][]byte        // config bytes by digest
	layers  map[digest.Digest]digest.Digest // pushed layer digest → diff ID
	images  map[digest.Digest]manifestItem  // manifest digest → item (RepoTags empty)
	tags    map[digest.Digest][]string      // manifest digest → RepoTags
	order   []digest.Digest                 // images in the order first tagged
}

var (
	_ transport.Target    = (*DockerWriter)(nil)
	_ transport.Committer = (*DockerWriter)(nil)
)

// CreateDocker starts a docker-archive to be written to path, a name inside
// dir, on Commit (the writer owns dir and closes it when done).
// name, if not empty, is the docker reference of docker-archive:FILE:NAME:
// an untagged copy records it, and a bare tag given to Tag takes its
// repository. An existing archive at path is replaced on Commit.
func CreateDocker(dir *os.Root, path, name string) (*DockerWriter, error) {
	w := &DockerWriter{configs: map[digest.Digest][]byte{}, layers: map[digest.Digest]digest.Digest{},
		images: map[digest.Digest]manifestItem{}, tags: map[digest.Digest][]string{}}
	if name != "" {
		n, err := normalizeName(name)
		if err != nil {
			dir.Close()
			return nil, err
		}
		w.name = n
		w.repo = n[:len(n)-len(tagOf(n))-1]
	}
	a, err := newTarAppender(dir, path)
	if err != nil {
		return nil, err
	}
	w.a = a
	return w, nil
}

// tagOf returns the tag of a normalised name.
func tagOf(n string) string {
	for i := len(n) - 1; i >= 0 && n[i] != '/'; i-- {
		if n[i] == ':' {
			return n[i+1:]
		}
	}
	return ""
}

// Exists reports whether desc was pushed to this archive already.
func (w *DockerWriter) Exists(ctx context.Context, desc oci.Descriptor) (bool, error) {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	_, c := w.configs[desc.Digest]
	_, l := w.layers[desc.Digest]
	_, m := w.images[desc.Digest]
	return c || l || m, nil
}

// Push writes a config, a layer (decompressing gzip) or, for an image
// manifest, records which of them make the image. An index cannot be
// stored: a docker-archive holds single-platform images.
func (w *DockerWriter) Push(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	r = oci.ContextReader(ctx, r)
	switch mt := desc.MediaType; {
	case oci.IsIndex(mt):
		return fmt.Errorf("a docker-archive holds single-platform images, not the index %s; pick one with --platform: %w", desc.Digest, errdef.ErrUnsupported)
	case oci.IsManifest(mt):
		raw, err := oci.ReadAllVerified(r, desc.Digest, desc.Size, oci.DefaultManifestLimit)
		if err != nil {
			return err
		}
		return w.pushManifest(desc, raw)
	case mt == oci.MediaTypeImageConfig || mt == oci.MediaTypeDockerConfig:
		raw, err := oci.ReadAllVerified(r, desc.Digest, desc.Size, oci.DefaultManifestLimit)
		if err != nil {
			return err
		}
		w.a.mu.Lock()
		defer w.a.mu.Unlock()
		if _, ok := w.configs[desc.Digest]; ok {
			return nil
		}
		if err := w.a.add(desc.Digest.Encoded()+".json", int64(len(raw)), bytesReader(raw)); err != nil {
			return err
		}
		w.configs[desc.Digest] = raw
		return nil
	case mt == oci.MediaTypeLayer || mt == MediaTypeDockerLayer:
		w.a.mu.Lock()
		defer w.a.mu.Unlock()
		if _, ok := w.layers[desc.Digest]; ok {
			return nil
		}
		if err := w.a.add(desc.Digest.Encoded()+".tar", desc.Size, oci.NewVerifyReader(r, desc.Digest, desc.Size)); err != nil {
			return err
		}
		w.layers[desc.Digest] = desc.Digest
		return nil
	case mt == oci.MediaTypeLayerGzip || mt == oci.MediaTypeDockerLayerGzip:
		return w.pushGzipLayer(desc, r)
	}
	return fmt.Errorf("a docker-archive holds image configs and layers, not %s of media type %q: %w", desc.Digest, desc.MediaType, errdef.ErrUnsupported)
}

// pushGzipLayer decompresses a layer into <diff-id-hex>.tar, verifying the
// compressed stream against desc as it goes.
func (w *DockerWriter) pushGzipLayer(desc oci.Descriptor, r io.Reader) error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if _, ok := w.layers[desc.Digest]; ok {
		return nil
	}
	vr := oci.NewVerifyReader(r, desc.Digest, desc.Size)
	gz, err := gzip.NewReader(vr)
	if err != nil {
		return fmt.Errorf("layer %s: %v: %w", desc.Digest, err, errdef.ErrInvalid)
	}
	h := sha256.New()
	dr := &drainingReader{r: io.TeeReader(gz, h), rest: vr}
	diffID := func() digest.Digest { return digest.NewDigest(digest.SHA256, h) }
	if _, err := w.a.addUnsized(dr, func() string { return diffID().Encoded() + ".tar" }); err != nil {
		return err
	}
	w.layers[desc.Digest] = diffID()
	return nil
}

// drainingReader reads r, then, at its EOF, the rest of the compressed
// stream underneath, so that stream's verification at its own EOF is what
// ends the read.
type drainingReader struct {
	r, rest io.Reader
}

func (d *drainingReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err == io.EOF {
		if _, derr := io.Copy(io.Discard, d.rest); derr != nil {
			return n, derr
		}
	}
	return n, err
}

// pushManifest records the image an image manifest describes, once its
// config and layers are in, checking the layers' diff IDs against the
// config's.
func (w *DockerWriter) pushManifest(desc oci.Descriptor, raw []byte) error {
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return err
	}
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if m.Config == nil {
		return fmt.Errorf("manifest %s has no config: %w", desc.Digest, errdef.ErrInvalid)
	}
	cb, ok := w.configs[m.Config.Digest]
	if !ok {
		return fmt.Errorf("manifest %s: config %s of media type %q was not pushed as an image config: %w", desc.Digest, m.Config.Digest, m.Config.MediaType, errdef.ErrUnsupported)
	}
	cfg, err := oci.ParseImageConfig(cb)
	if err != nil {
		return err
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("manifest %s has %d layers, its config %d diff IDs: %w", desc.Digest, len(m.Layers), len(cfg.RootFS.DiffIDs), errdef.ErrInvalid)
	}
	it := manifestItem{Config: m.Config.Digest.Encoded() + ".json", RepoTags: []string{}}
	for i, l := range m.Layers {
		diffID, ok := w.layers[l.Digest]
		if !ok {
			return fmt.Errorf("manifest %s: layer %s was not pushed: %w", desc.Digest, l.Digest, errdef.ErrNotFound)
		}
		if diffID.String() != cfg.RootFS.DiffIDs[i] {
			return fmt.Errorf("layer %s decompresses to %s, but the config says %s: %w", l.Digest, diffID, cfg.RootFS.DiffIDs[i], errdef.ErrDigestMismatch)
		}
		it.Layers = append(it.Layers, diffID.Encoded()+".tar")
	}
	w.images[desc.Digest] = it
	return nil
}

// Tag adds a RepoTags entry to the image desc: tag is a docker reference,
// or a bare tag taking the repository the archive was created with.
func (w *DockerWriter) Tag(ctx context.Context, desc oci.Descriptor, tag string) error {
	name := tag
	if w.repo != "" && tagRE(tag) {
		name = w.repo + ":" + tag
	}
	n, err := normalizeName(name)
	if err != nil {
		return err
	}
	return w.record(desc, n)
}

// tagRE reports whether s is a bare tag rather than a name.
func tagRE(s string) bool {
	for _, c := range s {
		if c == '/' || c == ':' {
			return false
		}
	}
	return s != ""
}

// AddRoot lists the image desc, under the archive's reference if it was
// created with one.
func (w *DockerWriter) AddRoot(ctx context.Context, desc oci.Descriptor) error {
	return w.record(desc, w.name)
}

func (w *DockerWriter) record(desc oci.Descriptor, name string) error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if _, ok := w.images[desc.Digest]; !ok {
		return fmt.Errorf("tagging %s: no image manifest of that digest was pushed to this archive: %w", desc.Digest, errdef.ErrNotFound)
	}
	if _, ok := w.tags[desc.Digest]; !ok {
		w.order = append(w.order, desc.Digest)
		w.tags[desc.Digest] = []string{}
	}
	if name == "" {
		return nil
	}
	// A name moves: docker load gives each name one image.
	for d, ts := range w.tags {
		kept := ts[:0]
		for _, t := range ts {
			if t != name {
				kept = append(kept, t)
			}
		}
		w.tags[d] = kept
	}
	w.tags[desc.Digest] = append(w.tags[desc.Digest], name)
	return nil
}

// Commit writes manifest.json, ends the tar and renames it into place.
//
// moby image spec v1.2 (manifest.json):
// https://github.com/moby/moby/blob/v25.0.0/image/spec/v1.2.md#combined-image-json--filesystem-changeset-format
func (w *DockerWriter) Commit(ctx context.Context) error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	if err := ctx.Err(); err != nil {
		w.a.abortLocked()
		return err
	}
	items := []manifestItem{}
	for _, d := range w.order {
		it := w.images[d]
		it.RepoTags = w.tags[d]
		items = append(items, it)
	}
	b, err := json.Marshal(items)
	if err == nil {
		err = w.a.add("manifest.json", int64(len(b)), bytesReader(b))
	}
	if err != nil {
		w.a.abortLocked()
		return err
	}
	return w.a.commit()
}

// Abort discards the archive being written.
func (w *DockerWriter) Abort() error {
	w.a.mu.Lock()
	defer w.a.mu.Unlock()
	return w.a.abortLocked()
}
