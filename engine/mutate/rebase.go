package mutate

import (
	"context"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Base image annotations, image-spec v1.1.1 annotations.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/annotations.md#pre-defined-annotation-keys
const (
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
)

// Rebase is a Step that moves an image from one base to another: the
// image's first layers must be exactly OldBase's layers (by digest, in
// order), and are replaced by NewBase's; the layers above, the image's own
// config settings, and its history after the base's are kept. diff_ids and
// history are rebuilt, and the base annotations name the new base. A base
// that is an index contributes its entry for the image's platform.
type Rebase struct {
	OldBase Image
	NewBase Image
}

func (r Rebase) apply(ctx context.Context, st *stage, img *image) error {
	if err := img.needConfig("rebase"); err != nil {
		return err
	}
	plat, err := img.platform()
	if err != nil {
		return err
	}
	old, oldRoot, err := baseFor(ctx, r.OldBase, plat, st.limit)
	if err != nil {
		return fmt.Errorf("old base: %w", err)
	}
	nb, _, err := baseFor(ctx, r.NewBase, plat, st.limit)
	if err != nil {
		return fmt.Errorf("new base: %w", err)
	}
	if got := img.annotations[AnnotationBaseDigest]; got != "" && got != old.desc.Digest.String() && got != oldRoot.String() {
		return fmt.Errorf("the image says it is based on %s (%s), not on the old base %s: %w", got, AnnotationBaseDigest, old.desc.Digest, errdef.ErrInvalid)
	}
	n := len(old.layers)
	if n > len(img.layers) {
		return fmt.Errorf("the old base has %d layers, the image only %d: %w", n, len(img.layers), errdef.ErrInvalid)
	}
	for i, l := range old.layers {
		if img.layers[i].Digest != l.Digest {
			return fmt.Errorf("layer %d of the image is %s, the old base's is %s: the image is not built on the old base: %w", i, img.layers[i].Digest, l.Digest, errdef.ErrInvalid)
		}
	}
	_, oldIDs, err := old.diffIDs()
	if err != nil {
		return err
	}
	rootfs, ids, err := img.diffIDs()
	if err != nil {
		return err
	}
	_, newIDs, err := nb.diffIDs()
	if err != nil {
		return err
	}
	if len(ids) != len(img.layers) || len(newIDs) != len(nb.layers) || len(oldIDs) != n {
		return fmt.Errorf("diff_ids do not match the layers of the image or a base: %w", errdef.ErrInvalid)
	}

	// The new base's layers keep their bytes but take the image's family of
	// media types, so the result stays all-OCI or all-Docker.
	table := toOCI
	if img.mediaType == oci.MediaTypeDockerManifest {
		table = toDocker
	}
	var layers []oci.Descriptor
	for _, l := range nb.layers {
		st.borrow(l.Digest, r.NewBase.Src)
		if nt, ok := table[l.MediaType]; ok {
			l.MediaType = nt
		}
		layers = append(layers, l)
	}
	img.layers = append(layers, img.layers[n:]...)
	if err := img.setDiffIDs(rootfs, append(append([]digest.Digest{}, newIDs...), ids[n:]...)); err != nil {
		return err
	}

	h, err := img.history()
	if err != nil {
		return err
	}
	if h != nil {
		oldH, err := old.history()
		if err != nil {
			return err
		}
		newH, err := nb.history()
		if err != nil {
			return err
		}
		skip := baseHistory(h, oldH, n)
		nh := append(append([]object{}, newH...), h[skip:]...)
		if err := img.cfg.set("history", nh); err != nil {
			return err
		}
	}
	img.annotations[AnnotationBaseDigest] = nb.desc.Digest.String()
	if r.NewBase.Name != "" {
		img.annotations[AnnotationBaseName] = r.NewBase.Name
	} else {
		delete(img.annotations, AnnotationBaseName)
	}
	return nil
}

// baseHistory returns how many of the image's history entries came from a
// base of n layers whose own history is baseH: all of baseH when the image
// starts with as many entries making n layers, else the entries up to the
// one that made layer n-1.
func baseHistory(h, baseH []object, n int) int {
	if len(baseH) <= len(h) && layerCount(h[:len(baseH)]) == n {
		return len(baseH)
	}
	if n == 0 {
		return 0
	}
	m := layerHistory(h, n)
	if m[n-1] < 0 {
		return 0
	}
	return m[n-1] + 1
}

func layerCount(h []object) int {
	n := 0
	for _, e := range h {
		var empty bool
		e.get("empty_layer", &empty)
		if !empty {
			n++
		}
	}
	return n
}

// platform returns the image's platform: its index entry's, else its
// config's.
func (img *image) platform() (*oci.Platform, error) {
	if img.desc.Platform != nil {
		return img.desc.Platform, nil
	}
	var p oci.Platform
	img.cfg.get("os", &p.OS)
	img.cfg.get("architecture", &p.Architecture)
	img.cfg.get("variant", &p.Variant)
	return &p, nil
}

// baseFor loads the image b names, choosing its entry for plat when b is an
// index; it also returns what b's reference resolved to.
func baseFor(ctx context.Context, b Image, plat *oci.Platform, limit int64) (*image, digest.Digest, error) {
	if b.Src == nil {
		return nil, "", fmt.Errorf("no image given: %w", errdef.ErrInvalid)
	}
	desc, err := b.Src.Resolve(ctx, b.Ref)
	if err != nil {
		return nil, "", err
	}
	root := desc.Digest
	if oci.IsIndex(desc.MediaType) {
		m, err := transport.FetchManifest(ctx, b.Src, desc, limit)
		if err != nil {
			return nil, "", err
		}
		found := false
		for _, d := range m.Manifests {
			if plat != nil && oci.PlatformMatches(*plat, d.Platform) && oci.IsManifest(d.MediaType) && !oci.IsIndex(d.MediaType) {
				desc, found = d, true
				break
			}
		}
		if !found {
			return nil, "", fmt.Errorf("index %s has no manifest for %s: %w", desc.Digest, platformString(plat), errdef.ErrNotFound)
		}
	}
	img, err := loadImage(ctx, b.Src, desc, limit)
	if err != nil {
		return nil, "", err
	}
	if err := img.needConfig("base"); err != nil {
		return nil, "", err
	}
	return img, root, nil
}

func platformString(p *oci.Platform) string {
	if p == nil {
		return "unknown platform"
	}
	return strings.TrimSuffix(oci.PlatformString(p), "/")
}
