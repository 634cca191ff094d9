package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// entry locates one regular file's bytes inside the tar.
type entry struct {
	offset, size int64
}

// tarIndex maps the cleaned names of a tar's regular files to their bytes.
// Symbolic links (skopeo's legacy <id>/layer.tar) resolve to their target.
type tarIndex struct {
	path    string
	entries map[string]entry
}

// indexTar reads every header of the tar at p, seeking over the contents.
// archive/tar leaves the file positioned at an entry's first byte after
// Next, which is what makes the offsets exact.
func indexTar(p string) (*tarIndex, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("archive %s: %w", p, errdef.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ix := &tarIndex{path: p, entries: map[string]entry{}}
	links := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("archive %s is not a readable uncompressed tar: %v: %w", p, err, errdef.ErrInvalid)
		}
		name := cleanName(h.Name)
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				return nil, err
			}
			ix.entries[name] = entry{offset: off, size: h.Size}
		case tar.TypeSymlink:
			links[name] = cleanName(path.Join(path.Dir(name), h.Linkname))
		case tar.TypeLink:
			links[name] = cleanName(h.Linkname)
		}
	}
	for name, target := range links {
		if e, ok := ix.entries[target]; ok {
			ix.entries[name] = e
		}
	}
	return ix, nil
}

// cleanName normalises a tar entry name: "./blobs//x" is "blobs/x".
func cleanName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

// open returns a reader of the named file's bytes, closing the archive
// file when closed.
func (ix *tarIndex) open(name string) (io.ReadCloser, int64, error) {
	e, ok := ix.entries[cleanName(name)]
	if !ok {
		return nil, 0, fmt.Errorf("archive %s has no %s: %w", ix.path, name, errdef.ErrNotFound)
	}
	f, err := os.Open(ix.path)
	if err != nil {
		return nil, 0, err
	}
	return readCloser{io.NewSectionReader(f, e.offset, e.size), f}, e.size, nil
}

// readSmall reads a named file whole, bounded by limit.
func (ix *tarIndex) readSmall(name string, limit int64) ([]byte, error) {
	rc, _, err := ix.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := oci.ReadAllLimited(rc, limit)
	if err != nil {
		return nil, fmt.Errorf("archive %s: %s: %w", ix.path, name, err)
	}
	return b, nil
}

// rangeOf returns length bytes (< 0: the rest) of the named file from
// offset.
func (ix *tarIndex) rangeOf(name string, offset, length int64) (io.ReadCloser, error) {
	rc, size, err := ix.open(name)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > size {
		rc.Close()
		return nil, fmt.Errorf("offset %d outside the %d byte blob: %w", offset, size, errdef.ErrInvalid)
	}
	sr := rc.(readCloser).Reader.(*io.SectionReader)
	if length < 0 || offset+length > size {
		length = size - offset
	}
	return readCloser{io.NewSectionReader(sr, offset, length), rc}, nil
}

// readCloser reads through Reader and closes Closer, the file underneath.
type readCloser struct {
	io.Reader
	io.Closer
}
