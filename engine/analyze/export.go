package analyze

import (
	"archive/tar"
	"context"
	"io"
	"path"
	"sort"

	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Export writes the image's merged root filesystem to w as one tar, as
// `crane export` does: each visible path once, from the top-most layer that
// holds it, with no whiteouts and nothing they hide.
//
// It reads each layer once, from the top layer down, and writes an entry
// unless a layer above already wrote that path or hid it (a whiteout, an
// opaque directory, a non-directory where the path needs a directory, or
// entries below a path that is a non-directory here). Only path metadata is
// remembered, never content, so memory stays flat and nothing is spooled.
// Layers are applied as image-spec v1.1.1 layer.md §Changesets and
// §Whiteouts say:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#whiteouts.
//
// The entries are those Files lists, with the same headers and content; the
// order is the layers' own, top layer first. So a directory comes before
// what it holds whenever the layer that holds a file also holds its
// directory (as layer builders write them); a directory only a lower layer
// defines follows the upper files in it. A hard link whose target comes
// from a lower layer (or later in its own) waits, as a header, until its
// target is written, so every link follows its target; one whose target no
// layer leaves visible is written at the end, as its layer wrote it.
//
// Within one layer the first entry for a path wins (Files keeps the last):
// a layer writes a path twice only when a tar was appended to.
//
// A layer's bytes reach w before its digest is verified at the layer's
// end; a mismatch fails the export, so a caller that must not keep an
// unverified tar writes to a temporary file and keeps it only on success.
func Export(ctx context.Context, src transport.Source, ref string, w io.Writer, opts Options) error {
	opts = opts.withDefaults()
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return &Error{Op: "export", Err: err}
	}
	x := newExporter(w)
	for i := len(m.Layers) - 1; i >= 0; i-- {
		l := m.Layers[i]
		if err := walkLayer(ctx, src, l, opts, x.entry); err != nil {
			return &Error{Op: "export", Layer: l.Digest, Err: err}
		}
		x.endLayer()
	}
	if err := x.close(); err != nil {
		return &Error{Op: "export", Err: err}
	}
	return nil
}

// What a layer above left at a path, as the exporter remembers it.
const (
	claimedDir   = 1 << iota // a directory: lower layers' entries below it stay visible
	claimedOther             // anything else: lower layers' entries below it are hidden
	written                  // the entry is in the tar (a hard link may be waiting)
	hideSelf                 // a whiteout: the path and everything below it are hidden
	hideBelow                // an opaque directory: everything below is hidden
	hasBelow                 // some layer above holds an entry below the path
)

// exporter merges layers read top-down into one tar. Its maps hold one
// small value per path, never content.
type exporter struct {
	tw    *tar.Writer
	buf   []byte
	paths map[string]uint8 // path → the flags above
	// hides are the current layer's whiteouts and opaque directories, and
	// the non-directories it could not write: they hide only what the
	// layers below hold.
	hides []hide
	links map[string][]tar.Header // target → hard links waiting for it
}

type hide struct {
	path string
	how  uint8 // hideSelf or hideBelow
}

func newExporter(w io.Writer) *exporter {
	return &exporter{tw: tar.NewWriter(w), buf: make([]byte, 1<<20), paths: map[string]uint8{}, links: map[string][]tar.Header{}}
}

// entry handles one entry of the current layer.
func (x *exporter) entry(e entry, tr *tar.Reader) error {
	switch e.kind {
	case kindWhiteout:
		x.hides = append(x.hides, hide{e.path, hideSelf})
		return nil
	case kindOpaque:
		x.hides = append(x.hides, hide{e.path, hideBelow})
		return nil
	}
	if e.path == "" {
		return nil // the root itself: not written, as Files does not list it
	}
	isDir := e.hdr.Typeflag == tar.TypeDir
	hidden := x.hidden(e.path, isDir)
	for d := parent(e.path); d != ""; d = parent(d) {
		x.paths[d] |= hasBelow
	}
	if hidden {
		if !isDir {
			// Though not written, it replaced whatever the layers below
			// hold at its path and below it.
			x.hides = append(x.hides, hide{e.path, hideSelf})
		}
		return nil
	}
	if isDir {
		x.paths[e.path] |= claimedDir
	} else {
		x.paths[e.path] |= claimedOther
	}
	hdr := *e.hdr
	hdr.Name = e.path
	if hdr.Typeflag == tar.TypeLink && x.paths[hdr.Linkname]&written == 0 {
		x.links[hdr.Linkname] = append(x.links[hdr.Linkname], hdr)
		return nil
	}
	return x.write(hdr, tr)
}

// hidden reports whether a layer above (or this layer, earlier) decided p:
// it wrote p, hid it, or made p or a directory above it something else.
func (x *exporter) hidden(p string, isDir bool) bool {
	f := x.paths[p]
	if f&(claimedDir|claimedOther|hideSelf) != 0 || (!isDir && f&hasBelow != 0) {
		return true
	}
	for d := parent(p); ; d = parent(d) {
		if x.paths[d]&(claimedOther|hideSelf|hideBelow) != 0 {
			return true
		}
		if d == "" {
			return false
		}
	}
}

// endLayer lets the finished layer's whiteouts and opaque directories hide
// what the layers below hold.
func (x *exporter) endLayer() {
	for _, h := range x.hides {
		x.paths[h.path] |= h.how
	}
	x.hides = x.hides[:0]
}

// write writes one entry with its content, then the hard links that were
// waiting for it.
func (x *exporter) write(hdr tar.Header, r io.Reader) error {
	name := hdr.Name
	if hdr.Typeflag == tar.TypeDir {
		hdr.Name += "/"
	}
	// PAX lifts USTAR's 100-byte name limit whatever the layer used.
	hdr.Format = tar.FormatPAX
	if err := x.tw.WriteHeader(&hdr); err != nil {
		return err
	}
	if r != nil && hdr.Size > 0 {
		if _, err := io.CopyBuffer(x.tw, r, x.buf); err != nil {
			return err
		}
	}
	x.paths[name] |= written
	waiting := x.links[name]
	delete(x.links, name)
	for _, l := range waiting {
		if err := x.write(l, nil); err != nil {
			return err
		}
	}
	return nil
}

// close writes the hard links whose target no layer left visible, in name
// order, and ends the tar.
func (x *exporter) close() error {
	var dangling []tar.Header
	for _, ls := range x.links {
		dangling = append(dangling, ls...)
	}
	sort.Slice(dangling, func(i, j int) bool { return dangling[i].Name < dangling[j].Name })
	for _, l := range dangling {
		if err := x.write(l, nil); err != nil {
			return err
		}
	}
	return x.tw.Close()
}

// parent is the directory holding p, "" for the root.
func parent(p string) string {
	if d := path.Dir(p); d != "." {
		return d
	}
	return ""
}
