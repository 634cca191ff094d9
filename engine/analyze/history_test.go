package analyze_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stevedore-dev/stevedore/engine/analyze"
)

func TestHistory(t *testing.T) {
	ctx := context.Background()
	l0, l1 := gzLayer(t, file("a", "a")), gzLayer(t, file("b", "b"))
	tests := []struct {
		name    string
		history []map[string]any
		want    []string // createdBy@layer
	}{
		{"mapped", []map[string]any{{"created_by": "ADD a"}, {"created_by": "ENV X", "empty_layer": true}, {"created_by": "ADD b"}},
			[]string{"ADD a@0", "ENV X@-1", "ADD b@1"}},
		{"short history", []map[string]any{{"created_by": "ADD a"}}, []string{"ADD a@0", "@1"}},
		{"none", nil, []string{"@0", "@1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := newImage(t, "", l0, l1)
			cfg := img.configJSON(t)
			if tt.history != nil {
				cfg["history"] = tt.history
			}
			img.setConfig(t, cfg)
			h, err := analyze.History(ctx, img.src, "v1", analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range h {
				got = append(got, e.CreatedBy+"@"+itoa(e.Layer))
				if e.Layer >= 0 && (e.Digest != img.layers[e.Layer].Digest || e.DiffID == "") {
					t.Errorf("entry %+v: layer not described", e)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	return string(rune('0' + i))
}
