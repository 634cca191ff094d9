package analyze

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Whiteout markers, image-spec v1.1.1 layer.md §Whiteouts:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#whiteouts
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// entryKind says what a tar entry does to the layers below it.
type entryKind int

const (
	kindFile     entryKind = iota // adds or replaces path
	kindWhiteout                  // deletes path (and what is under it)
	kindOpaque                    // hides everything under path from lower layers
)

// entry is one tar entry of a layer, normalised.
type entry struct {
	ordinal int // position in the layer's tar, counting every entry
	kind    entryKind
	path    string // the entry's path, or the whited-out path; "" is the root
	hdr     *tar.Header
}

// normalise turns a tar entry name into a clean path relative to the image
// root: no leading "/" or "./", no trailing "/". A name that climbs out of
// the root through ".." is refused rather than clamped, since no tool that
// writes layers honestly produces one.
func normalise(name string) (string, error) {
	p := path.Clean("./" + strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("tar entry %q escapes the image root: %w", name, errdef.ErrInvalid)
	}
	if p == "." {
		return "", nil
	}
	return p, nil
}

// classify normalises hdr into an entry.
func classify(ordinal int, hdr *tar.Header) (entry, error) {
	p, err := normalise(hdr.Name)
	if err != nil {
		return entry{}, err
	}
	e := entry{ordinal: ordinal, kind: kindFile, path: p, hdr: hdr}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case base == whiteoutOpaque:
		e.kind, e.path = kindOpaque, dir
	case strings.HasPrefix(base, whiteoutPrefix):
		name := strings.TrimPrefix(base, whiteoutPrefix)
		if name == "" || name == "." || name == ".." {
			return entry{}, fmt.Errorf("tar entry %q is a malformed whiteout: %w", hdr.Name, errdef.ErrInvalid)
		}
		e.kind, e.path = kindWhiteout, path.Join(dir, name)
	case hdr.Typeflag == tar.TypeLink:
		// Hard link targets are paths in the image too.
		target, err := normalise(hdr.Linkname)
		if err != nil {
			return entry{}, fmt.Errorf("hard link %q: %w", hdr.Name, err)
		}
		hdr.Linkname = target
	}
	return e, nil
}

// walkLayer streams the layer desc and calls fn for each entry in tar order;
// fn may read the entry's content from tr. Unless fn stops the walk with
// errStop, the layer is read to the end, so its digest is verified.
func walkLayer(ctx context.Context, src transport.Source, desc oci.Descriptor, opts Options, fn func(e entry, tr *tar.Reader) error) error {
	ls, err := openLayer(ctx, src, desc, opts)
	if err != nil {
		return err
	}
	defer ls.Close()
	tr := tar.NewReader(ls)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ls.blame(tarError(err))
		}
		e, err := classify(i, hdr)
		if err != nil {
			return ls.blame(err)
		}
		if err := fn(e, tr); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
	return ls.finish()
}

// errStop ends a walk early without error.
var errStop = errors.New("stop walking")

// tarError classes a tar reading failure: errors that carry a class
// (bounds, verification, transport, cancellation all wrap one) keep it;
// the plain errors of archive/tar and the decompressors mean a malformed layer.
func tarError(err error) error {
	var wrapped interface{ Unwrap() error }
	if errors.As(err, &wrapped) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("reading layer tar: %v: %w", err, errdef.ErrInvalid)
}
