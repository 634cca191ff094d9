package mutate

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// RemoveLayers is a Step that drops layers by index (0 is the base;
// negative counts from the top, -1 being the last), with their diff_ids and
// the history entries that made them. What the dropped layers added
// disappears from the image; what later layers deleted from them stays
// deleted.
type RemoveLayers struct {
	Indexes []int
}

func (r RemoveLayers) apply(_ context.Context, _ *stage, img *image) error {
	drop := map[int]bool{}
	for _, i := range r.Indexes {
		j := i
		if j < 0 {
			j += len(img.layers)
		}
		if j < 0 || j >= len(img.layers) {
			return fmt.Errorf("layer %d: the image has %d layers: %w", i, len(img.layers), errdef.ErrInvalid)
		}
		drop[j] = true
	}
	return img.keepLayers(func(i int) bool { return !drop[i] })
}

// keepLayers drops every layer for which keep is false, with its diff_id
// and history entry, keeping config and manifest consistent.
//
// image-spec v1.1.1 config.md (rootfs, history): https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
func (img *image) keepLayers(keep func(int) bool) error {
	var layers []oci.Descriptor
	for i, l := range img.layers {
		if keep(i) {
			layers = append(layers, l)
		}
	}
	if img.cfg != nil {
		rootfs, ids, err := img.diffIDs()
		if err != nil {
			return err
		}
		if len(ids) != len(img.layers) {
			return fmt.Errorf("config lists %d diff_ids for %d layers: %w", len(ids), len(img.layers), errdef.ErrInvalid)
		}
		var kept []digest.Digest
		for i, id := range ids {
			if keep(i) {
				kept = append(kept, id)
			}
		}
		if err := img.setDiffIDs(rootfs, kept); err != nil {
			return err
		}
		h, err := img.history()
		if err != nil {
			return err
		}
		if h != nil {
			dropEntry := map[int]bool{}
			for l, e := range layerHistory(h, len(img.layers)) {
				if e >= 0 && !keep(l) {
					dropEntry[e] = true
				}
			}
			var nh []object
			for i, e := range h {
				if !dropEntry[i] {
					nh = append(nh, e)
				}
			}
			if nh == nil {
				nh = []object{}
			}
			if err := img.cfg.set("history", nh); err != nil {
				return err
			}
		}
	}
	if layers == nil {
		layers = []oci.Descriptor{}
	}
	img.layers = layers
	return nil
}
