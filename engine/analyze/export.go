package analyze

import (
	"archive/tar"
	"context"
	"io"
	"path"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Export writes the image's merged root filesystem to w as one tar, as
// `crane export` does: each visible path once, from the top-most layer that
// holds it, with no whiteouts and nothing they hide.
//
// It takes two passes so that no file content is ever buffered. The first
// reads every layer's headers and builds the merged tree (path → layer and
// tar entry; metadata only). The second streams the layers again, base
// first, and copies through exactly the entries the tree kept. Every
// directory is written before what it holds, as crane export writes it: a
// directory an upper layer redefines (its header kept in the tree, since a
// directory has no content) is written just before the first entry a lower
// layer gives it. A local source
// (layout, archive) is simply read twice; a registry's layers are
// downloaded once, teed into a private temporary directory (under $TMPDIR)
// during the first pass and read from there in the second, so the export
// needs disk for the compressed layers but no more memory. The directory is
// removed however Export returns. Hard links are written
// as their layer wrote them; one whose target a later layer replaced points
// at the replacement, as it would in an unpacked container rootfs.
func Export(ctx context.Context, src transport.Source, ref string, w io.Writer, opts Options) error {
	opts = opts.withDefaults()
	src, cleanup, err := spoolRemote(src)
	if err != nil {
		return &Error{Op: "export", Err: err}
	}
	defer cleanup()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return &Error{Op: "export", Err: err}
	}
	t, _, err := merge(ctx, src, m, opts)
	if err != nil {
		return err
	}
	// keep[layer][ordinal] marks the entries the second pass writes.
	keep := make([]map[int]bool, len(m.Layers))
	for i := range keep {
		keep[i] = map[int]bool{}
	}
	for _, fi := range t.files {
		keep[fi.Layer][fi.ordinal] = true
	}
	tw := tar.NewWriter(w)
	written := map[string]bool{}
	write := func(hdr tar.Header, name string, r io.Reader) error {
		hdr.Name = name
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
			written[name] = true
		}
		// PAX lifts USTAR's 100-byte name limit whatever the layer used.
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(&hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	// parents writes the directories above name that the tree takes from
	// a layer not reached yet.
	var parents func(name string) error
	parents = func(name string) error {
		dir := path.Dir(name)
		fi, ok := t.files[dir]
		if dir == "." || written[dir] || !ok || fi.dir == nil {
			return nil
		}
		if err := parents(dir); err != nil {
			return err
		}
		return write(*fi.dir, dir, strings.NewReader(""))
	}
	for i, l := range m.Layers {
		if len(keep[i]) == 0 {
			continue
		}
		err := walkLayer(ctx, src, l, opts, func(e entry, tr *tar.Reader) error {
			if e.kind != kindFile || !keep[i][e.ordinal] || written[e.path] {
				return nil
			}
			if err := parents(e.path); err != nil {
				return err
			}
			return write(*e.hdr, e.path, tr)
		})
		if err != nil {
			return &Error{Op: "export", Layer: l.Digest, Err: err}
		}
	}
	if err := tw.Close(); err != nil {
		return &Error{Op: "export", Err: err}
	}
	return nil
}
