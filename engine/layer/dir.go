package layer

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// WriteDir writes the tree under dir to w as a tar, deterministically:
// entries in byte order of their names, depth first, each directory before
// what it holds (the root itself is not an entry). Regular files, directories,
// symlinks, fifos and devices are written with their permission, setuid,
// setgid and sticky bits; a file with several names in the tree is written
// once and its other names become hardlinks to the first; sockets are
// skipped, as docker does, since a tar cannot hold one. Symlinks are
// written as links and never followed, and every file is opened through an
// os.Root, so nothing outside dir is read whatever the tree's links say.
// Owners are kept unless opts.Normalize; user and group names and access
// and change times never are.
//
// image-spec v1.1.1 layer.md §File Types:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/layer.md#file-types
func WriteDir(ctx context.Context, w io.Writer, dir string, opts TarOptions) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, classify(err))
	}
	defer root.Close()
	dw := &dirWriter{ctx: ctx, root: root, tw: tar.NewWriter(w), opts: opts,
		links: map[fileID]string{}, buf: make([]byte, copyBuffer)}
	if err := dw.walk("."); err != nil {
		return err
	}
	return dw.tw.Close()
}

// dirWriter is the state of one WriteDir.
type dirWriter struct {
	ctx   context.Context
	root  *os.Root
	tw    *tar.Writer
	opts  TarOptions
	links map[fileID]string // first name of each multiply linked file
	buf   []byte
}

// walk writes the entries of directory rel (relative to the root), sorted.
func (d *dirWriter) walk(rel string) error {
	f, err := d.root.Open(rel)
	if err != nil {
		return &Error{Path: rel, Err: classify(err)}
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return &Error{Path: rel, Err: err}
	}
	// Byte order, not locale order: the same tree sorts the same everywhere.
	slices.Sort(names)
	for _, n := range names {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		p := path.Join(rel, n)
		fi, err := d.root.Lstat(p)
		if err != nil {
			return &Error{Path: p, Err: classify(err)}
		}
		isDir, err := d.entry(p, fi)
		if err != nil {
			return err
		}
		if isDir {
			if err := d.walk(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// entry writes one entry and reports whether it is a directory to descend into.
func (d *dirWriter) entry(p string, fi fs.FileInfo) (bool, error) {
	m := fi.Mode()
	h := &tar.Header{Name: p, Mode: tarMode(m), ModTime: fi.ModTime().Truncate(time.Second)}
	st := statOf(fi)
	h.Uid, h.Gid = st.uid, st.gid
	switch {
	case m.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, p+"/"
	case m.IsRegular():
		if first, ok := d.links[st.id]; ok && st.nlink > 1 {
			h.Typeflag, h.Linkname = tar.TypeLink, first
		} else {
			if st.nlink > 1 {
				d.links[st.id] = p
			}
			h.Typeflag, h.Size = tar.TypeReg, fi.Size()
		}
	case m&fs.ModeSymlink != 0:
		target, err := d.root.Readlink(p)
		if err != nil {
			return false, &Error{Path: p, Err: err}
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case m&fs.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	case m&fs.ModeDevice != 0:
		h.Typeflag = tar.TypeBlock
		if m&fs.ModeCharDevice != 0 {
			h.Typeflag = tar.TypeChar
		}
		h.Devmajor, h.Devminor = st.major, st.minor
	case m&fs.ModeSocket != 0:
		return false, nil
	default:
		return false, &Error{Path: p, Err: fmt.Errorf("file type %v: %w", m.Type(), errdef.ErrUnsupported)}
	}
	d.opts.normalize(h)
	if err := d.tw.WriteHeader(h); err != nil {
		return false, &Error{Path: p, Err: err}
	}
	if h.Typeflag == tar.TypeReg && h.Size > 0 {
		if err := d.copyFile(p, h.Size); err != nil {
			return false, &Error{Path: p, Err: err}
		}
	}
	return h.Typeflag == tar.TypeDir, nil
}

// copyFile writes size bytes of p's content; a file that changed size since
// it was stat'ed fails the layer rather than making a corrupt entry.
func (d *dirWriter) copyFile(p string, size int64) error {
	f, err := d.root.Open(p)
	if err != nil {
		return classify(err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(d.tw, oci.ContextReader(d.ctx, io.LimitReader(f, size)), d.buf)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("file shrank from %d to %d bytes while being read", size, n)
	}
	return nil
}

// tarMode is the tar mode of m: permissions plus setuid, setgid and sticky
// bits, in tar's (and Unix's) octal encoding, not Go's.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// classify wraps a file system error with its errdef class.
func classify(err error) error {
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("%v: %w", err, errdef.ErrNotFound)
	case os.IsPermission(err):
		return fmt.Errorf("%v: %w", err, errdef.ErrDenied)
	}
	return err
}
