package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// HistoryEntry is one entry of an image config's history, with the layer
// it made (if any).
type HistoryEntry struct {
	Created    *time.Time `json:"created,omitempty"`
	CreatedBy  string     `json:"createdBy,omitempty"`
	Author     string     `json:"author,omitempty"`
	Comment    string     `json:"comment,omitempty"`
	EmptyLayer bool       `json:"emptyLayer,omitempty"`
	// Layer is the index (0 is the base) of the layer this entry made, or
	// -1 for an empty entry. Layers the history does not account for get
	// an entry of their own with nothing but the layer filled in.
	Layer int `json:"layer"`
	// Digest, DiffID and Size describe that layer (Size is compressed).
	Digest digest.Digest `json:"digest,omitempty"`
	DiffID digest.Digest `json:"diffID,omitempty"`
	Size   int64         `json:"size,omitempty"`
}

// configHistory is the part of an image config History reads.
//
// image-spec v1.1.1 config.md (history, rootfs):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
type configHistory struct {
	History []struct {
		Created    *time.Time `json:"created"`
		CreatedBy  string     `json:"created_by"`
		Author     string     `json:"author"`
		Comment    string     `json:"comment"`
		EmptyLayer bool       `json:"empty_layer"`
	} `json:"history"`
	RootFS struct {
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

// History returns the config history of the image ref names in src, oldest
// first, each entry mapped to the layer it made: entries marked
// empty_layer make none, every other entry makes the next layer. No layer
// is read.
func History(ctx context.Context, src transport.Source, ref string, opts Options) ([]HistoryEntry, error) {
	opts = opts.withDefaults()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return nil, &Error{Op: "history", Err: err}
	}
	raw, err := transport.FetchAll(ctx, src, *m.Config, opts.ManifestLimit)
	if err != nil {
		return nil, &Error{Op: "history", Err: fmt.Errorf("config %s: %w", m.Config.Digest, err)}
	}
	var c configHistory
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, &Error{Op: "history", Err: fmt.Errorf("config %s: %v: %w", m.Config.Digest, err, errdef.ErrInvalid)}
	}
	out := []HistoryEntry{}
	n := 0
	layerEntry := func(e *HistoryEntry) {
		e.Layer = n
		if n < len(m.Layers) {
			e.Digest, e.Size = m.Layers[n].Digest, m.Layers[n].Size
		}
		if n < len(c.RootFS.DiffIDs) {
			e.DiffID = c.RootFS.DiffIDs[n]
		}
		n++
	}
	for _, h := range c.History {
		e := HistoryEntry{Created: h.Created, CreatedBy: h.CreatedBy, Author: h.Author, Comment: h.Comment, EmptyLayer: h.EmptyLayer, Layer: -1}
		if !h.EmptyLayer {
			layerEntry(&e)
		}
		out = append(out, e)
	}
	for n < len(m.Layers) {
		var e HistoryEntry
		layerEntry(&e)
		out = append(out, e)
	}
	return out, nil
}
