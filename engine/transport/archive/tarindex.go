package archive

import (
	"archive/tar"
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

// tarIndex maps the cleaned names of a tar's regular files to their bytes
// in the open archive file f, which every stream reads at its own offsets
// (io.ReaderAt), so streams run concurrently without reopening the file.
// Symbolic links (skopeo's legacy <id>/layer.tar) resolve to their target.
type tarIndex struct {
	f       *os.File
	path    string // for messages
	entries map[string]entry
}

// indexTar reads every header of the tar f (named p in messages), seeking
// over the contents. archive/tar leaves the file positioned at an entry's
// first byte after Next, which is what makes the offsets exact.
func indexTar(f *os.File, p string) (*tarIndex, error) {
	ix := &tarIndex{f: f, path: p, entries: map[string]entry{}}
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

// open returns a reader of the named file's bytes. Closing it leaves the
// archive open; the reader's Close closes that.
func (ix *tarIndex) open(name string) (io.ReadCloser, int64, error) {
	e, ok := ix.entries[cleanName(name)]
	if !ok {
		return nil, 0, fmt.Errorf("archive %s has no %s: %w", ix.path, name, errdef.ErrNotFound)
	}
	return readCloser{io.NewSectionReader(ix.f, e.offset, e.size), nopCloser{}}, e.size, nil
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

// nopCloser is the Closer of a stream over the shared archive file.
type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// readCloser reads through Reader and closes Closer, the file underneath.
type readCloser struct {
	io.Reader
	io.Closer
}
