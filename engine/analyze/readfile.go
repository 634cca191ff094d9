package analyze

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// maxLinks bounds symlink and hard link hops while resolving a path, as
// Linux's MAXSYMLINKS does.
const maxLinks = 40

// ReadFile streams the content of the regular file at name in the image's
// merged filesystem, from the top-most layer that holds it. Symlinks along
// the way are followed inside the image only: an absolute target is taken
// relative to the image root (as in a container), and a relative target
// that climbs above the root fails with errdef.ErrInvalid; nothing outside
// the image is ever read. The caller closes the stream. A partial read of a
// layer cannot verify its digest; Validate does.
func ReadFile(ctx context.Context, src transport.Source, ref, name string, opts Options) (io.ReadCloser, error) {
	opts = opts.withDefaults()
	fail := func(err error) (io.ReadCloser, error) {
		return nil, &Error{Op: "read", Path: strings.TrimPrefix(name, "/"), Err: err}
	}
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return fail(err)
	}
	t, _, err := merge(ctx, src, m, opts)
	if err != nil {
		return nil, err
	}
	fi, err := t.resolve(name)
	if err != nil {
		return fail(err)
	}
	return openEntry(ctx, src, m.Layers[fi.Layer], fi, opts)
}

// resolve finds the regular file name refers to, following links.
func (t *tree) resolve(name string) (*FileInfo, error) {
	p, err := normalise(name)
	if err != nil {
		return nil, err
	}
	hops := 0
	rest := strings.Split(p, "/")
	cur := ""
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		if part == "" {
			continue
		}
		next := path.Join(cur, part)
		fi := t.files[next]
		switch {
		case fi == nil && len(rest) > 0:
			// A directory implied by its children but without an entry.
			cur = next
			continue
		case fi == nil:
			return nil, fmt.Errorf("/%s: %w", next, errdef.ErrNotFound)
		case fi.Type == TypeSymlink:
			if hops++; hops > maxLinks {
				return nil, fmt.Errorf("/%s: too many levels of symbolic links: %w", p, errdef.ErrInvalid)
			}
			target := fi.Linkname
			if path.IsAbs(target) {
				target = path.Clean("./" + target)
			} else {
				target = path.Join(cur, target)
			}
			if target == ".." || strings.HasPrefix(target, "../") {
				return nil, fmt.Errorf("/%s is a symlink to %q, outside the image root: %w", next, fi.Linkname, errdef.ErrInvalid)
			}
			cur = ""
			if target != "." {
				rest = append(strings.Split(target, "/"), rest...)
			}
			continue
		case len(rest) > 0 && fi.Type != TypeDir:
			return nil, fmt.Errorf("/%s: not a directory: %w", next, errdef.ErrNotFound)
		}
		cur = next
	}
	fi := t.files[cur]
	for fi != nil && fi.Type == TypeHardlink {
		if hops++; hops > maxLinks {
			return nil, fmt.Errorf("/%s: too many levels of links: %w", p, errdef.ErrInvalid)
		}
		target := t.files[fi.Linkname]
		if target == nil {
			return nil, fmt.Errorf("/%s is a hard link to /%s, which the image does not hold: %w", fi.Path, fi.Linkname, errdef.ErrNotFound)
		}
		// The link's own entry has no content; its target's does.
		fi = target
	}
	switch {
	case fi == nil:
		return nil, fmt.Errorf("/%s: %w", p, errdef.ErrNotFound)
	case fi.Type != TypeFile:
		return nil, fmt.Errorf("/%s is a %s, not a regular file: %w", fi.Path, fi.Type, errdef.ErrInvalid)
	}
	return fi, nil
}

// openEntry streams the content of fi's entry from its layer.
func openEntry(ctx context.Context, src transport.Source, layer oci.Descriptor, fi *FileInfo, opts Options) (io.ReadCloser, error) {
	ls, err := openLayer(ctx, src, layer, opts)
	if err != nil {
		return nil, &Error{Op: "read", Layer: layer.Digest, Path: fi.Path, Err: err}
	}
	tr := tar.NewReader(ls)
	for i := 0; ; i++ {
		if _, err := tr.Next(); err != nil {
			ls.Close()
			if err == io.EOF {
				err = fmt.Errorf("entry %d vanished from the layer: %w", fi.ordinal, errdef.ErrNotFound)
			}
			return nil, &Error{Op: "read", Layer: layer.Digest, Path: fi.Path, Err: tarError(err)}
		}
		if i == fi.ordinal {
			return entryReader{Reader: tr, closer: ls}, nil
		}
	}
}

// entryReader is one tar entry's content; closing it closes its layer.
type entryReader struct {
	io.Reader
	closer io.Closer
}

func (r entryReader) Close() error { return r.closer.Close() }
