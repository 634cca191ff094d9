package mutate

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// image is one image manifest being rewritten: its manifest and config as
// raw objects, plus the decoded members the steps edit. write encodes the
// decoded members back into the objects.
type image struct {
	src       transport.Source
	desc      oci.Descriptor // as resolved or as the parent index listed it
	manifest  object
	mediaType string
	config    oci.Descriptor
	// cfg is the config document; nil when the config is not an image
	// config (an artifact), which config edits refuse.
	cfg         object
	layers      []oci.Descriptor
	annotations map[string]string
}

// isImageConfig reports whether mediaType is a config the edits understand.
func isImageConfig(mediaType string) bool {
	return mediaType == oci.MediaTypeImageConfig || mediaType == oci.MediaTypeDockerConfig
}

// loadImage reads the manifest desc and, for an image, its config.
//
// image-spec v1.1.1 manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
func loadImage(ctx context.Context, src transport.Source, desc oci.Descriptor, limit int64) (*image, error) {
	raw, err := transport.FetchAll(ctx, src, desc, limit)
	if err != nil {
		return nil, err
	}
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return nil, err
	}
	if m.IsIndex() {
		return nil, fmt.Errorf("%s is an index, not an image manifest: %w", desc.Digest, errdef.ErrInvalid)
	}
	obj, err := parseObject(raw, "manifest")
	if err != nil {
		return nil, err
	}
	img := &image{src: src, desc: desc, manifest: obj, mediaType: m.MediaType, config: *m.Config, layers: append([]oci.Descriptor{}, m.Layers...), annotations: map[string]string{}}
	for k, v := range m.Annotations {
		img.annotations[k] = v
	}
	if isImageConfig(m.Config.MediaType) {
		b, err := transport.FetchAll(ctx, src, *m.Config, limit)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
		if img.cfg, err = parseObject(b, "config"); err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
	}
	return img, nil
}

// needConfig fails for artifacts, whose config is not an image config.
func (img *image) needConfig(what string) error {
	if img.cfg == nil {
		return fmt.Errorf("%s: manifest %s has config media type %q, not an image config: %w", what, img.desc.Digest, img.config.MediaType, errdef.ErrUnsupported)
	}
	return nil
}

// container returns the config's "config" member (the runtime settings).
func (img *image) container() (object, error) { return img.cfg.child("config") }

// diffIDs returns rootfs.diff_ids.
//
// image-spec v1.1.1 config.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
func (img *image) diffIDs() (object, []digest.Digest, error) {
	rootfs, err := img.cfg.child("rootfs")
	if err != nil {
		return nil, nil, err
	}
	var ids []digest.Digest
	if _, err := rootfs.get("diff_ids", &ids); err != nil {
		return nil, nil, err
	}
	return rootfs, ids, nil
}

// setDiffIDs replaces rootfs.diff_ids, keeping rootfs's other members.
func (img *image) setDiffIDs(rootfs object, ids []digest.Digest) error {
	if ids == nil {
		ids = []digest.Digest{}
	}
	if _, ok := rootfs["type"]; !ok {
		if err := rootfs.set("type", "layers"); err != nil {
			return err
		}
	}
	if err := rootfs.set("diff_ids", ids); err != nil {
		return err
	}
	return img.cfg.set("rootfs", rootfs)
}

// history returns the config's history entries as raw objects.
func (img *image) history() ([]object, error) {
	var h []object
	_, err := img.cfg.get("history", &h)
	return h, err
}

// layerHistory maps each layer index to its history entry index (-1 when
// the history does not cover it): entries with empty_layer true make no
// layer, every other one makes the next.
func layerHistory(h []object, layers int) []int {
	out := make([]int, layers)
	for i := range out {
		out[i] = -1
	}
	n := 0
	for i, e := range h {
		var empty bool
		e.get("empty_layer", &empty)
		if empty {
			continue
		}
		if n < layers {
			out[n] = i
		}
		n++
	}
	return out
}

// write stages the edited config (when there is one) and manifest and
// returns the new manifest's descriptor, carrying what the parent index
// listed about the old one (platform, annotations).
//
// image-spec v1.1.1 manifest.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#image-manifest-property-descriptions
func (img *image) write(st *stage) (oci.Descriptor, error) {
	if img.cfg != nil {
		b, err := img.cfg.bytes()
		if err != nil {
			return oci.Descriptor{}, err
		}
		d := st.putJSON(img.config.MediaType, b)
		img.config.Digest, img.config.Size = d.Digest, d.Size
	}
	if img.layers == nil {
		img.layers = []oci.Descriptor{}
	}
	if err := img.manifest.set("config", img.config); err != nil {
		return oci.Descriptor{}, err
	}
	if err := img.manifest.set("layers", img.layers); err != nil {
		return oci.Descriptor{}, err
	}
	if len(img.annotations) > 0 {
		if err := img.manifest.set("annotations", img.annotations); err != nil {
			return oci.Descriptor{}, err
		}
	} else {
		delete(img.manifest, "annotations")
	}
	if _, ok := img.manifest["mediaType"]; ok || img.mediaType != img.desc.MediaType {
		if err := img.manifest.set("mediaType", img.mediaType); err != nil {
			return oci.Descriptor{}, err
		}
	}
	b, err := img.manifest.bytes()
	if err != nil {
		return oci.Descriptor{}, err
	}
	d := st.putJSON(img.mediaType, b)
	out := img.desc
	out.MediaType, out.Digest, out.Size = d.MediaType, d.Digest, d.Size
	return out, nil
}
