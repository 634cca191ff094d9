package analyze_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stevedore-dev/stevedore/engine/analyze"
)

func TestSize(t *testing.T) {
	ctx := context.Background()
	layers := []layer{
		gzLayer(t, dir("d/"), file("d/big", "0123456789"), file("keep", "kk"), file("dup", "1")),
		zstLayer(t, file("d/.wh.big", ""), file("keep2", "k")),
		plainLayer(t, file("keep", "new"), file("dup", "22"), file("dup", "333")),
	}
	img := newImage(t, "", layers...)
	rep, err := analyze.Size(ctx, img.src, "v1", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Files  int
		Wasted int64
	}
	var got []row
	for i, l := range rep.Layers {
		got = append(got, row{l.Files, l.Wasted})
		if l.Compressed != int64(len(layers[i].blob)) || l.Digest != img.layers[i].Digest {
			t.Errorf("layer %d: compressed %d, want %d", i, l.Compressed, len(layers[i].blob))
		}
		if l.Uncompressed == 0 || l.Uncompressed%512 != 0 {
			t.Errorf("layer %d: uncompressed %d is not a tar's size", i, l.Uncompressed)
		}
	}
	// Layer 0 loses d/big (10), keep (2) and dup (1); layer 2's first dup
	// (2) is replaced within its own tar.
	want := []row{{3, 13}, {1, 0}, {3, 2}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if rep.Wasted != 15 || rep.Digest != img.manifest.Digest {
		t.Errorf("totals %+v", rep)
	}
}
