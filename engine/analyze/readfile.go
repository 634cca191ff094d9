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
// merged filesystem, from the top-most layer that holds it. A name the
// image does not hold as a regular file fails with an *Error whose Path is
// set and Layer empty. Symlinks along
// the way are followed inside the image only: an absolute target is taken
// relative to the image root (as in a container), and a relative target
// that climbs above the root fails with errdef.ErrInvalid; nothing outside
// the image is ever read. The caller closes the stream.
//
// Verification: finding the file reads every layer to the end (the merged
// tree needs them all), which verifies each against its digest; the
// content then comes from a second fetch of the file's layer. When the
// caller reads the stream to its end, the rest of that layer is read and
// verified too, so a source that served other bytes the second time fails
// the last Read (errdef.ErrDigestMismatch or errdef.ErrSizeMismatch)
// instead of returning io.EOF; the file's bytes are only trustworthy once
// io.EOF is seen. This costs reading the remainder of one layer, which the
// first pass read anyway. A caller that closes the stream early gets no
// such guarantee. `stevedore cat` reads to the end, so it is verified.
func ReadFile(ctx context.Context, src transport.Source, ref, name string, opts Options) (io.ReadCloser, error) {
	opts = opts.withDefaults()
	fail := func(err error) (io.ReadCloser, error) {
		return nil, &Error{Op: "read", Path: strings.TrimPrefix(name, "/"), Err: err}
	}
	m, err := resolveImage(ctx, src, ref, opts)
	if err != nil {
		return nil, &Error{Op: "read", Err: err}
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
			return nil, fmt.Errorf("%sno such file or directory: %w", at(p, next), errdef.ErrNotFound)
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
		return nil, fmt.Errorf("no such file or directory: %w", errdef.ErrNotFound)
	case fi.Type != TypeFile:
		return nil, fmt.Errorf("%sa %s, not a regular file: %w", at(p, fi.Path), fi.Type, errdef.ErrInvalid)
	}
	return fi, nil
}

// at says where, on the way to p, resolving stopped, when that is not p
// itself (which the error names already): "/at: ".
func at(p, where string) string {
	if where == p {
		return ""
	}
	return "/" + where + ": "
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
			return &entryReader{tr: tr, ls: ls}, nil
		}
	}
}

// entryReader is one tar entry's content; at the entry's end it reads the
// rest of the layer so the layer's digest is checked before io.EOF.
// Closing it closes its layer.
type entryReader struct {
	tr  *tar.Reader
	ls  *layerStream
	err error // sticky: the entry's end, verified or not
}

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.tr.Read(p)
	if err == io.EOF {
		if ferr := r.ls.finish(); ferr != nil {
			err = r.ls.blame(tarError(ferr))
		}
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

func (r *entryReader) Close() error { return r.ls.Close() }
