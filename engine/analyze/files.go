package analyze

import (
	"archive/tar"
	"context"
	"fmt"
	"sort"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Files lists the merged root filesystem of the image ref names in src (a
// tag, a digest, or "" for a layout's only image), in lexical path order:
// every layer applied bottom-up, whiteouts and opaque directories honoured.
// Every layer is read to the end, so its digest is verified too.
func Files(ctx context.Context, src transport.Source, ref string, opts Options) ([]FileInfo, error) {
	opts = opts.withDefaults()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return nil, &Error{Op: "files", Err: err}
	}
	t, _, err := merge(ctx, src, m, opts)
	if err != nil {
		return nil, err
	}
	return t.list(), nil
}

// Changes reports, for each layer of the image from the base up, the paths
// it adds, modifies and deletes relative to the layers below.
func Changes(ctx context.Context, src transport.Source, ref string, opts Options) ([]LayerChanges, error) {
	opts = opts.withDefaults()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return nil, &Error{Op: "changes", Err: err}
	}
	_, ch, err := merge(ctx, src, m, opts)
	return ch, err
}

// LayerFiles lists the entries of the image's layer n (0 is the base) as
// the layer itself holds them, in lexical order: whiteouts and opaque
// markers appear as TypeWhiteout and TypeOpaque entries naming the path
// they hide. A path repeated in the tar is listed once, as its last entry.
func LayerFiles(ctx context.Context, src transport.Source, ref string, n int, opts Options) ([]FileInfo, error) {
	opts = opts.withDefaults()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return nil, &Error{Op: "files", Err: err}
	}
	if n < 0 || n >= len(m.Layers) {
		return nil, &Error{Op: "files", Err: fmt.Errorf("layer %d: the image has %d layers (0 to %d): %w", n, len(m.Layers), len(m.Layers)-1, errdef.ErrInvalid)}
	}
	l := m.Layers[n]
	seen := map[string]int{}
	var out []FileInfo
	err = walkLayer(ctx, src, l, opts, func(e entry, _ *tar.Reader) error {
		if e.kind == kindFile && e.path == "" {
			return nil
		}
		fi := *infoOf(e, n, l.Digest)
		key := fi.Type + ":" + fi.Path
		if e.kind == kindFile {
			key = fi.Path
		}
		if i, ok := seen[key]; ok {
			out[i] = fi
			return nil
		}
		seen[key] = len(out)
		out = append(out, fi)
		return nil
	})
	if err != nil {
		return nil, &Error{Op: "files", Layer: l.Digest, Err: err}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
