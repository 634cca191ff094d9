package artifact

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// unpack extracts the (gzipped, as oras writes it, or plain) tar r under
// name in root, as oras-go's file store does: every entry must lie under
// name, symlinks may only point inside the root, and want, when set, is the
// digest of the tar, checked at its end. At most limit bytes are
// decompressed. Directory modes are applied last, so a read-only directory
// can still be filled.
//
// image-spec v1.1.1 layer.md §Changesets:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#changesets
func unpack(ctx context.Context, root *os.Root, name string, r io.Reader, want digest.Digest, limit int64) error {
	br := bufio.NewReader(r)
	var tr io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("directory layer: %v: %w", err, errdef.ErrInvalid)
		}
		defer gz.Close()
		tr = gz
	}
	tr = &limitReader{r: tr, left: limit}
	var dg digest.Digester
	if want != "" {
		dg = want.Algorithm().Digester()
		tr = io.TeeReader(tr, dg.Hash())
	}
	t := tar.NewReader(tr)
	type dirMode struct {
		name string
		mode fs.FileMode
	}
	var dirs []dirMode
	var links []string
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("directory layer: %w", tarErr(err))
		}
		p, err := entryPath(name, hdr.Name)
		if err != nil {
			return err
		}
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if p != "." {
				if err := root.MkdirAll(p, 0o755); err != nil {
					return err
				}
			}
			dirs = append(dirs, dirMode{p, mode})
		case tar.TypeReg:
			if mode == 0 {
				mode = 0o600
			}
			if err := writeFile(root, p, t, mode); err != nil {
				return tarErr(err)
			}
		case tar.TypeSymlink:
			if err := checkLink(p, hdr.Linkname); err != nil {
				return err
			}
			if err := replace(root, p, func() error { return root.Symlink(hdr.Linkname, p) }); err != nil {
				return err
			}
			links = append(links, p)
		case tar.TypeLink:
			target, err := entryPath(name, hdr.Linkname)
			if err != nil {
				return err
			}
			if err := replace(root, p, func() error { return root.Link(target, p) }); err != nil {
				return err
			}
		default:
			// Devices, FIFOs and the like have no place in an artifact;
			// oras skips them too.
		}
	}
	// Read to the end so that the digest covers any padding after the tar.
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return fmt.Errorf("directory layer: %w", tarErr(err))
	}
	if dg != nil && dg.Digest() != want {
		return fmt.Errorf("directory layer: tar hashes to %s, %s says %s: %w", dg.Digest(), AnnotationContentDigest, want, errdef.ErrDigestMismatch)
	}
	// Links are checked once all exist, as a later entry can complete a
	// chain that escapes.
	for _, p := range links {
		if err := checkResolved(root, p); err != nil {
			_ = root.Remove(p)
			return err
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := root.Chmod(dirs[i].name, dirs[i].mode); err != nil {
			return err
		}
	}
	return nil
}

// entryPath checks that the tar entry e lies under the layer title name and
// returns its path in the root. oras names every entry name/...
func entryPath(name, e string) (string, error) {
	p := path.Clean(e)
	if err := checkTitle(p); err != nil {
		return "", fmt.Errorf("directory layer entry: %w", err)
	}
	if name != "." && p != name && !strings.HasPrefix(p, name+"/") {
		return "", fmt.Errorf("directory layer entry %q is outside %q: %w", e, name, errdef.ErrInvalid)
	}
	return p, nil
}

// checkLink refuses a symlink at p whose target leaves the root: absolute,
// or climbing above it. os.Root would not follow it out anyway, but the
// link would be left for the next reader of the directory.
func checkLink(p, target string) error {
	if target == "" || path.IsAbs(target) || checkTitle(path.Join(path.Dir(p), target)) != nil {
		return fmt.Errorf("symlink %q -> %q points outside the directory: %w", p, target, errdef.ErrInvalid)
	}
	return nil
}

// checkResolved follows the symlink at p through the real filesystem, as a
// later reader would, and refuses it if it lands outside the root: a chain
// of links (x -> ., l -> x/..) can escape where each looks lexically safe.
// A dangling link reaches nothing and passes.
func checkResolved(root *os.Root, p string) error {
	base, err := filepath.EvalSymlinks(root.Name())
	if err != nil {
		return err
	}
	got, err := filepath.EvalSymlinks(filepath.Join(base, filepath.FromSlash(p)))
	if err != nil {
		return nil
	}
	if rel, err := filepath.Rel(base, got); err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("symlink %q resolves to %s, outside the directory: %w", p, got, errdef.ErrInvalid)
	}
	return nil
}

// replace runs create after removing whatever is at p.
func replace(root *os.Root, p string, create func() error) error {
	if d := path.Dir(p); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := root.Remove(p); err != nil && !isNotExist(err) {
		return err
	}
	return create()
}

// tarErr classes a malformed tar as invalid input.
func tarErr(err error) error {
	switch err {
	case tar.ErrHeader, tar.ErrFieldTooLong, io.ErrUnexpectedEOF, gzip.ErrHeader, gzip.ErrChecksum:
		return fmt.Errorf("%v: %w", err, errdef.ErrInvalid)
	}
	return err
}

// limitReader fails with errdef.ErrTooLarge once more than left bytes have
// been read, where io.LimitReader would end quietly.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("directory layer decompresses to more than the limit: %w", errdef.ErrTooLarge)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("directory layer decompresses to more than the limit: %w", errdef.ErrTooLarge)
	}
	return n, err
}
