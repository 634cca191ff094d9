package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// MediaTypeDockerLayer is an uncompressed Docker layer, what docker save
// writes; its digest is the layer's diff ID.
const MediaTypeDockerLayer = "application/vnd.docker.image.rootfs.diff.tar"

// manifestItem is one element of a docker-archive's manifest.json.
type manifestItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// dockerImage is one image of a docker-archive, with the schema2 manifest
// synthesised for it.
type dockerImage struct {
	desc oci.Descriptor
	raw  []byte
	tags []string // normalised RepoTags
}

// DockerReader is a docker-archive read in place. The archive holds no
// registry manifest, so one is synthesised per image: a Docker schema2
// manifest of the config and the layer files as they are. Its digest is
// therefore stevedore's, not the image's original one; config and layer
// digests are kept.
type DockerReader struct {
	ix     *tarIndex
	name   string // the docker reference the archive was opened with, or ""
	images []dockerImage
	blobs  map[digest.Digest]string // config and layer digests → entry names
}

var (
	_ transport.Source       = (*DockerReader)(nil)
	_ transport.RangeFetcher = (*DockerReader)(nil)
	_ transport.TagLister    = (*DockerReader)(nil)
)

// OpenDocker indexes the docker-archive f (named path in messages; the
// reader owns f and closes it on failure). name, if not empty, is the
// docker reference (as in docker-archive:FILE:NAME) that Resolve("") and a
// bare-tag Resolve mean.
//
// moby image spec v1.2 (manifest.json):
// https://github.com/moby/moby/blob/v25.0.0/image/spec/v1.2.md#combined-image-json--filesystem-changeset-format
func OpenDocker(f *os.File, path, name string) (_ *DockerReader, err error) {
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	ix, err := indexTar(f, path)
	if err != nil {
		return nil, err
	}
	mb, err := ix.readSmall("manifest.json", oci.DefaultManifestLimit)
	if err != nil {
		return nil, fmt.Errorf("%s is not a docker-archive: %w", path, err)
	}
	var items []manifestItem
	if err := json.Unmarshal(mb, &items); err != nil {
		return nil, fmt.Errorf("archive %s: manifest.json: %v: %w", path, err, errdef.ErrInvalid)
	}
	r := &DockerReader{ix: ix, blobs: map[digest.Digest]string{}}
	if name != "" {
		if r.name, err = normalizeName(name); err != nil {
			return nil, err
		}
	}
	for _, it := range items {
		img, err := r.synthesize(it)
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", path, err)
		}
		r.images = append(r.images, img)
	}
	return r, nil
}

// Close closes the archive file; streams still open read on until closed.
func (r *DockerReader) Close() error { return r.ix.f.Close() }

// synthesize builds the schema2 manifest of one manifest.json item. Layer
// digests come from the config's diff IDs when the layer is an
// uncompressed tar (as docker save writes), so nothing is hashed here; a
// compressed layer (which docker load also accepts) is hashed once.
//
// Docker Image Manifest V2, Schema 2:
// https://github.com/distribution/distribution/blob/v2.8.3/docs/spec/manifest-v2-2.md
func (r *DockerReader) synthesize(it manifestItem) (dockerImage, error) {
	cb, err := r.ix.readSmall(it.Config, oci.DefaultManifestLimit)
	if err != nil {
		return dockerImage{}, err
	}
	cfg, err := oci.ParseImageConfig(cb)
	if err != nil {
		return dockerImage{}, fmt.Errorf("config %s: %w", it.Config, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(it.Layers) {
		return dockerImage{}, fmt.Errorf("config %s lists %d diff IDs for %d layers: %w", it.Config, len(cfg.RootFS.DiffIDs), len(it.Layers), errdef.ErrInvalid)
	}
	cd := digest.FromBytes(cb)
	r.blobs[cd] = it.Config
	type desc struct {
		MediaType string        `json:"mediaType"`
		Size      int64         `json:"size"`
		Digest    digest.Digest `json:"digest"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, oci.MediaTypeDockerManifest, desc{oci.MediaTypeDockerConfig, int64(len(cb)), cd}, []desc{}}
	for i, l := range it.Layers {
		d, mt, size, err := r.layerDigest(l, digest.Digest(cfg.RootFS.DiffIDs[i]))
		if err != nil {
			return dockerImage{}, err
		}
		r.blobs[d] = l
		m.Layers = append(m.Layers, desc{mt, size, d})
	}
	raw, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		return dockerImage{}, err
	}
	img := dockerImage{raw: raw, desc: oci.Descriptor{MediaType: oci.MediaTypeDockerManifest, Digest: digest.FromBytes(raw), Size: int64(len(raw))}}
	for _, t := range it.RepoTags {
		if n, err := normalizeName(t); err == nil {
			img.tags = append(img.tags, n)
		}
	}
	return img, nil
}

// layerDigest describes a layer file: an uncompressed one by its diff ID,
// a gzip one by hashing it.
func (r *DockerReader) layerDigest(name string, diffID digest.Digest) (digest.Digest, string, int64, error) {
	rc, size, err := r.ix.open(name)
	if err != nil {
		return "", "", 0, err
	}
	defer rc.Close()
	br := make([]byte, 2)
	n, _ := io.ReadFull(rc, br)
	if !bytes.Equal(br[:n], []byte{0x1f, 0x8b}) {
		if err := oci.ValidateDigest(diffID); err != nil {
			return "", "", 0, err
		}
		return diffID, MediaTypeDockerLayer, size, nil
	}
	h := sha256.New()
	h.Write(br[:n])
	if _, err := io.Copy(h, rc); err != nil {
		return "", "", 0, err
	}
	return digest.NewDigest(digest.SHA256, h), oci.MediaTypeDockerLayerGzip, size, nil
}

// normalizeName writes a docker reference the way skopeo writes RepoTags:
// fully qualified, with a tag ("busybox" is docker.io/library/busybox:latest).
func normalizeName(s string) (string, error) {
	ref, err := oci.ParseReference(s)
	if err != nil {
		return "", err
	}
	if ref.Digest != "" {
		return "", fmt.Errorf("docker-archive reference %q: a digest cannot name an image in an archive: %w", s, errdef.ErrInvalid)
	}
	tag := ref.Tag
	if tag == "" {
		tag = "latest"
	}
	return ref.Registry + "/" + ref.Repository + ":" + tag, nil
}

// Resolve finds an image: "" is the reference the archive was opened with,
// else its only image; a digest is a synthesised manifest's; a name
// matches RepoTags; a bare tag matches with the opened reference's
// repository, else any one image's tag.
func (r *DockerReader) Resolve(ctx context.Context, ref string) (oci.Descriptor, error) {
	if strings.HasPrefix(ref, "sha256:") {
		for _, img := range r.images {
			if img.desc.Digest.String() == ref {
				return img.desc, nil
			}
		}
		return oci.Descriptor{}, fmt.Errorf("archive %s has no image %s: %w", r.ix.path, ref, errdef.ErrNotFound)
	}
	want := r.name
	if ref != "" {
		if strings.ContainsAny(ref, "/:") {
			n, err := normalizeName(ref)
			if err != nil {
				return oci.Descriptor{}, err
			}
			want = n
		} else if r.name != "" {
			want = r.name[:strings.LastIndexByte(r.name, ':')+1] + ref
		} else {
			return r.resolveBareTag(ref)
		}
	}
	if want == "" {
		if len(r.images) == 1 {
			return r.images[0].desc, nil
		}
		return oci.Descriptor{}, fmt.Errorf("archive %s holds %d images; name one as docker-archive:FILE:NAME:TAG: %w", r.ix.path, len(r.images), errdef.ErrInvalid)
	}
	for _, img := range r.images {
		for _, t := range img.tags {
			if t == want {
				return img.desc, nil
			}
		}
	}
	return oci.Descriptor{}, fmt.Errorf("archive %s has no image %s: %w", r.ix.path, want, errdef.ErrNotFound)
}

// resolveBareTag finds the one image having tag under any name.
func (r *DockerReader) resolveBareTag(tag string) (oci.Descriptor, error) {
	var found []oci.Descriptor
	for _, img := range r.images {
		for _, t := range img.tags {
			if strings.HasSuffix(t, ":"+tag) {
				found = append(found, img.desc)
				break
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return oci.Descriptor{}, fmt.Errorf("archive %s has no image tagged %s: %w", r.ix.path, tag, errdef.ErrNotFound)
	}
	return oci.Descriptor{}, fmt.Errorf("archive %s has %d images tagged %s; name one as NAME:TAG: %w", r.ix.path, len(found), tag, errdef.ErrInvalid)
}

// Fetch streams a synthesised manifest, a config or a layer, verified.
func (r *DockerReader) Fetch(ctx context.Context, desc oci.Descriptor) (io.ReadCloser, error) {
	for _, img := range r.images {
		if img.desc.Digest == desc.Digest {
			return io.NopCloser(oci.NewVerifyReader(bytes.NewReader(img.raw), desc.Digest, desc.Size)), nil
		}
	}
	name, ok := r.blobs[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("archive %s has no blob %s: %w", r.ix.path, desc.Digest, errdef.ErrNotFound)
	}
	rc, _, err := r.ix.open(name)
	if err != nil {
		return nil, err
	}
	return readCloser{oci.NewVerifyReader(rc, desc.Digest, desc.Size), rc}, nil
}

// FetchRange streams part of a config or layer, unverified.
func (r *DockerReader) FetchRange(ctx context.Context, desc oci.Descriptor, offset, length int64) (io.ReadCloser, error) {
	name, ok := r.blobs[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("archive %s has no blob %s: %w", r.ix.path, desc.Digest, errdef.ErrNotFound)
	}
	return r.ix.rangeOf(name, offset, length)
}

// Tags lists every RepoTags entry, normalised, in lexical order.
func (r *DockerReader) Tags(ctx context.Context) ([]string, error) {
	var tags []string
	for _, img := range r.images {
		tags = append(tags, img.tags...)
	}
	sort.Strings(tags)
	return tags, nil
}
