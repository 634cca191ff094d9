package analyze

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// DiffReport is what differs between two images.
type DiffReport struct {
	// A and B are the image manifests compared.
	A digest.Digest `json:"a"`
	B digest.Digest `json:"b"`
	// Config lists the config fields that differ, by dotted path
	// ("config.Env", "config.Labels.version", "architecture"). History and
	// rootfs are left out: the layers and files below say more.
	Config []FieldDiff `json:"config"`
	// SharedLayers counts the layers, from the base up, both images share.
	SharedLayers int `json:"sharedLayers"`
	// Added paths exist only in B, Removed only in A; Changed in both but
	// with another type, mode, owner, link target, size or content.
	Added   []FileInfo   `json:"added"`
	Removed []FileInfo   `json:"removed"`
	Changed []FileChange `json:"changed"`
}

// Same reports whether the images are the same as far as Diff compares
// them: no config field and no file differs (their manifests may still
// differ, in annotations or layer compression).
func (r *DiffReport) Same() bool {
	return len(r.Config) == 0 && len(r.Added) == 0 && len(r.Removed) == 0 && len(r.Changed) == 0
}

// FieldDiff is one config field that differs; a side without the field is
// null.
type FieldDiff struct {
	Field string          `json:"field"`
	A     json.RawMessage `json:"a"`
	B     json.RawMessage `json:"b"`
}

// FileChange is a path both images hold, differently.
type FileChange struct {
	Path string `json:"path"`
	// What lists what differs: "type", "mode", "owner", "link", "size",
	// "content".
	What []string `json:"what"`
	A    FileInfo `json:"a"`
	B    FileInfo `json:"b"`
}

// Diff compares the images refA in srcA and refB in srcB: config fields,
// and the files of their merged filesystems. Content is compared only
// where metadata leaves the question open (same size, type and mode): a
// path both images take from the same entry of the same layer blob is
// equal without reading it, any other is hashed (sha256) while its layer
// streams, so each layer is read at most twice and nothing is buffered.
func Diff(ctx context.Context, srcA transport.Source, refA string, srcB transport.Source, refB string, opts Options) (*DiffReport, error) {
	opts = opts.withDefaults()
	ma, err := resolveImage(ctx, srcA, refA, opts)
	if err != nil {
		return nil, &Error{Op: "diff", Err: fmt.Errorf("image A: %w", err)}
	}
	mb, err := resolveImage(ctx, srcB, refB, opts)
	if err != nil {
		return nil, &Error{Op: "diff", Err: fmt.Errorf("image B: %w", err)}
	}
	rep := &DiffReport{A: ma.Digest, B: mb.Digest, Config: []FieldDiff{}, Added: []FileInfo{}, Removed: []FileInfo{}, Changed: []FileChange{}}
	for rep.SharedLayers < len(ma.Layers) && rep.SharedLayers < len(mb.Layers) && ma.Layers[rep.SharedLayers].Digest == mb.Layers[rep.SharedLayers].Digest {
		rep.SharedLayers++
	}
	if rep.Config, err = diffConfigs(ctx, srcA, ma, srcB, mb, opts); err != nil {
		return nil, &Error{Op: "diff", Err: err}
	}
	ta, _, err := merge(ctx, srcA, ma, opts)
	if err != nil {
		return nil, err
	}
	tb, _, err := merge(ctx, srcB, mb, opts)
	if err != nil {
		return nil, err
	}
	var hashA, hashB []*FileInfo // regular files whose content decides
	for p, a := range ta.files {
		b, ok := tb.files[p]
		if !ok {
			rep.Removed = append(rep.Removed, *a)
			continue
		}
		what := metaDiff(a, b)
		if len(what) == 0 && a.Type == TypeFile && a.Size > 0 && (a.LayerDigest != b.LayerDigest || a.ordinal != b.ordinal) {
			hashA, hashB = append(hashA, a), append(hashB, b)
			continue
		}
		if len(what) > 0 {
			rep.Changed = append(rep.Changed, FileChange{Path: p, What: what, A: *a, B: *b})
		}
	}
	for p, b := range tb.files {
		if _, ok := ta.files[p]; !ok {
			rep.Added = append(rep.Added, *b)
		}
	}
	if len(hashA) > 0 {
		da, err := hashContents(ctx, srcA, ma, hashA, opts)
		if err != nil {
			return nil, err
		}
		db, err := hashContents(ctx, srcB, mb, hashB, opts)
		if err != nil {
			return nil, err
		}
		for i, a := range hashA {
			if da[a.Path] != db[a.Path] {
				rep.Changed = append(rep.Changed, FileChange{Path: a.Path, What: []string{"content"}, A: *a, B: *hashB[i]})
			}
		}
	}
	sort.Slice(rep.Added, func(i, j int) bool { return rep.Added[i].Path < rep.Added[j].Path })
	sort.Slice(rep.Removed, func(i, j int) bool { return rep.Removed[i].Path < rep.Removed[j].Path })
	sort.Slice(rep.Changed, func(i, j int) bool { return rep.Changed[i].Path < rep.Changed[j].Path })
	return rep, nil
}

// metaDiff lists what differs between two files' metadata. Modification
// times are left out: rebuilding an image changes them all.
func metaDiff(a, b *FileInfo) []string {
	var what []string
	if a.Type != b.Type {
		what = append(what, "type")
	}
	if a.Mode != b.Mode {
		what = append(what, "mode")
	}
	if a.UID != b.UID || a.GID != b.GID {
		what = append(what, "owner")
	}
	if a.Linkname != b.Linkname {
		what = append(what, "link")
	}
	if a.Size != b.Size {
		what = append(what, "size")
	}
	return what
}

// hashContents streams the layers of m that hold the given files and
// returns the sha256 of each file's content, by path.
func hashContents(ctx context.Context, src transport.Source, m *oci.Manifest, files []*FileInfo, opts Options) (map[string]digest.Digest, error) {
	want := make([]map[int]string, len(m.Layers)) // layer → ordinal → path
	for _, f := range files {
		if want[f.Layer] == nil {
			want[f.Layer] = map[int]string{}
		}
		want[f.Layer][f.ordinal] = f.Path
	}
	out := map[string]digest.Digest{}
	for i, l := range m.Layers {
		if len(want[i]) == 0 {
			continue
		}
		err := walkLayer(ctx, src, l, opts, func(e entry, tr *tar.Reader) error {
			p, ok := want[i][e.ordinal]
			if !ok {
				return nil
			}
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				return err
			}
			out[p] = digest.NewDigest(digest.SHA256, h)
			return nil
		})
		if err != nil {
			return nil, &Error{Op: "diff", Layer: l.Digest, Err: err}
		}
	}
	return out, nil
}

// diffConfigs compares two image configs field by field: objects are
// descended into, anything else is compared as canonical JSON.
//
// image-spec v1.1.1 config.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/config.md#properties
func diffConfigs(ctx context.Context, srcA transport.Source, ma *oci.Manifest, srcB transport.Source, mb *oci.Manifest, opts Options) ([]FieldDiff, error) {
	load := func(src transport.Source, m *oci.Manifest) (map[string]any, error) {
		raw, err := transport.FetchAll(ctx, src, *m.Config, opts.ManifestLimit)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
		}
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("config %s: %v: %w", m.Config.Digest, err, errdef.ErrInvalid)
		}
		delete(v, "history")
		delete(v, "rootfs")
		return v, nil
	}
	a, err := load(srcA, ma)
	if err != nil {
		return nil, err
	}
	b, err := load(srcB, mb)
	if err != nil {
		return nil, err
	}
	out := []FieldDiff{}
	diffValues("", a, b, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out, nil
}

func diffValues(path string, a, b any, out *[]FieldDiff) {
	oa, aObj := a.(map[string]any)
	ob, bObj := b.(map[string]any)
	if aObj && bObj {
		keys := map[string]bool{}
		for k := range oa {
			keys[k] = true
		}
		for k := range ob {
			keys[k] = true
		}
		for k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValues(p, oa[k], ob[k], out)
		}
		return
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		*out = append(*out, FieldDiff{Field: path, A: ja, B: jb})
	}
}
