package store

import (
	"context"
	// Register the digest algorithms ValidateDigest and the verifying reader use;
	// go-digest only knows an algorithm once its crypto package is linked in.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Names inside a layout directory. The spec fixes the first three
// (image-spec v1.1.1 image-layout.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#content);
// the hidden ones are ours and other tools (skopeo, oras) ignore them.
const (
	layoutFile  = "oci-layout"
	indexFile   = "index.json"
	blobsDir    = "blobs"
	ingestDir   = ".ingest"     // temp files live here until renamed into blobs/
	lockFile    = ".index.lock" // flock'd around index.json read-modify-write
	layoutVer   = "1.0.0"
	refNameAnno = "org.opencontainers.image.ref.name"
)

// FS is a Store over an OCI image layout directory. Blobs are the files under
// blobs/<alg>/<hex>; tags are index.json entries annotated with
// org.opencontainers.image.ref.name, the convention skopeo and oras share.
// Every call reads the directory, so several FS values and several processes
// may share one layout: index.json is stat'ed on every read, and its parsed
// form reused only while it is the same file, unchanged (see readIndexView).
//
// Every file is reached through an os.Root opened on the layout directory,
// so no name inside the layout — a symlinked blobs/, a planted link in
// place of index.json — can lead a read or write out of it. An FS holds
// that directory open until Close.
type FS struct {
	root *os.Root
	dir  string     // the path it was opened by, for messages and Dir
	mu   sync.Mutex // serialises this process's index.json writers; flock covers other processes
	// view is index.json as last read, for readers (readIndexView).
	view atomic.Pointer[indexView]
}

var _ Store = (*FS)(nil)

// OpenFS opens the existing layout at dir. A missing directory or oci-layout
// file matches errdef.ErrNotFound; a directory that is not a well-formed
// layout matches errdef.ErrInvalid; a layout version other than 1.0.0 matches
// errdef.ErrUnsupported.
//
// image-spec v1.1.1 §oci-layout file: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#oci-layout-file
func OpenFS(dir string) (*FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &Error{Op: "open", Err: openErr(err, dir, os.Stat)}
	}
	return openFS(root, dir)
}

// OpenFSIn opens the existing layout name beneath parent: neither name nor
// any symlink inside parent can reach outside it. dir is how the layout is
// named in messages.
func OpenFSIn(parent *os.Root, name, dir string) (*FS, error) {
	root, err := parent.OpenRoot(name)
	if err != nil {
		return nil, &Error{Op: "open", Err: openErr(err, dir, func(string) (fs.FileInfo, error) { return parent.Stat(name) })}
	}
	return openFS(root, dir)
}

// openErr says why the layout directory dir could not be opened; stat
// tells a file from a directory.
func openErr(err error, dir string, stat func(string) (fs.FileInfo, error)) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no OCI layout at %s: %w", dir, errdef.ErrNotFound)
	}
	if fsx.Escapes(err) {
		return fmt.Errorf("%s leads outside its directory (a symlink?), which is refused: %w", dir, errdef.ErrDenied)
	}
	if fi, serr := stat(dir); serr == nil && !fi.IsDir() {
		return fmt.Errorf("%s is not a directory, so not an OCI layout: %w", dir, errdef.ErrInvalid)
	}
	return err
}

// openFS checks that root is a well-formed layout and takes ownership of it.
func openFS(root *os.Root, dir string) (*FS, error) {
	f := &FS{root: root, dir: dir}
	if err := f.checkLayoutFile(); err != nil {
		root.Close()
		return nil, &Error{Op: "open", Err: err}
	}
	if _, err := f.readIndexView(); err != nil {
		root.Close()
		return nil, &Error{Op: "open", Err: err}
	}
	return f, nil
}

// CreateFS opens the layout at dir, first creating the directory, its
// oci-layout file, blobs/ and an empty index.json where missing. An existing
// layout is opened as it is.
func CreateFS(dir string) (*FS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &Error{Op: "create", Err: openErr(err, dir, os.Stat)}
	}
	return createFS(root, dir)
}

// CreateFSIn is CreateFS beneath parent, as OpenFSIn.
func CreateFSIn(parent *os.Root, name, dir string) (*FS, error) {
	stat := func(string) (fs.FileInfo, error) { return parent.Stat(name) }
	if err := parent.MkdirAll(name, 0o755); err != nil {
		return nil, &Error{Op: "create", Err: openErr(err, dir, stat)}
	}
	root, err := parent.OpenRoot(name)
	if err != nil {
		return nil, &Error{Op: "create", Err: openErr(err, dir, stat)}
	}
	return createFS(root, dir)
}

// createFS fills root with what a layout needs and takes ownership of it.
func createFS(root *os.Root, dir string) (*FS, error) {
	fail := func(err error) (*FS, error) {
		root.Close()
		return nil, &Error{Op: "create", Err: err}
	}
	if err := root.MkdirAll(blobsDir, 0o755); err != nil {
		return fail(err)
	}
	f := &FS{root: root, dir: dir}
	// Under the lock so that two creators cannot both decide index.json is
	// missing and one overwrite what the other has tagged meanwhile; and
	// index.json first, oci-layout last, so that a layout with its
	// oci-layout file is whole: a reader racing with the creation finds no
	// layout (errdef.ErrNotFound), never half of one.
	err := f.Locked(context.Background(), func() error {
		if _, err := root.Stat(indexFile); errors.Is(err, fs.ErrNotExist) {
			if err := f.writeIndex(newIndex()); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if _, err := root.Stat(layoutFile); errors.Is(err, fs.ErrNotExist) {
			b, _ := json.Marshal(map[string]string{"imageLayoutVersion": layoutVer})
			return f.writeAtomic(layoutFile, b)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if err := f.checkLayoutFile(); err != nil {
		return fail(err)
	}
	if _, err := f.readIndex(); err != nil {
		return fail(err)
	}
	return f, nil
}

// Close releases the layout directory. Streams Open returned stay readable.
func (f *FS) Close() error { return f.root.Close() }

// checkLayoutFile reads the oci-layout marker.
func (f *FS) checkLayoutFile() error {
	b, err := fsx.ReadLimited(f.root.Open, layoutFile, 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no OCI layout at %s (no %s file): %w", f.dir, layoutFile, errdef.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", layoutFile, err)
	}
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("%s in %s is not valid JSON: %v: %w", layoutFile, f.dir, err, errdef.ErrInvalid)
	}
	if l.Version != layoutVer {
		return fmt.Errorf("%s has imageLayoutVersion %q, want %q: %w", f.dir, l.Version, layoutVer, errdef.ErrUnsupported)
	}
	return nil
}

// Dir returns the layout directory.
func (f *FS) Dir() string { return f.dir }

// blobName validates d before it becomes a name, so no digest can name a
// file outside blobs/, and returns the blob's name inside the layout.
//
// image-spec v1.1.1 §Blobs: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#blobs
func blobName(d digest.Digest) (string, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return "", err
	}
	return path.Join(blobsDir, d.Algorithm().String(), d.Encoded()), nil
}

// BlobPath returns the path of blob d's file (which may not exist), for a
// caller that manages the directory holding the layout (the served
// registry's data directory hard-links blobs between layouts).
func (f *FS) BlobPath(d digest.Digest) (string, error) {
	name, err := blobName(d)
	if err != nil {
		return "", err
	}
	return filepath.Join(f.dir, filepath.FromSlash(name)), nil
}

// Stat returns the size of the blob d.
func (f *FS) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	n, err := f.stat(ctx, d)
	if err != nil {
		return 0, &Error{Op: "stat", Digest: d, Err: err}
	}
	return n, nil
}

func (f *FS) stat(ctx context.Context, d digest.Digest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	name, err := blobName(d)
	if err != nil {
		return 0, err
	}
	fi, err := f.root.Stat(name)
	if err != nil {
		return 0, fsx.NotFound(err, "blob")
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("blob is not a regular file: %w", errdef.ErrInvalid)
	}
	return fi.Size(), nil
}

// Open returns the blob d as an *os.File, unverified, and its size.
func (f *FS) Open(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, int64, error) {
	fail := func(err error) (io.ReadSeekCloser, int64, error) {
		return nil, 0, &Error{Op: "open", Digest: d, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	name, err := blobName(d)
	if err != nil {
		return fail(err)
	}
	fh, err := f.root.Open(name)
	if err != nil {
		return fail(fsx.NotFound(err, "blob"))
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return fail(err)
	}
	if !fi.Mode().IsRegular() {
		fh.Close()
		return fail(fmt.Errorf("blob is not a regular file: %w", errdef.ErrInvalid))
	}
	return fh, fi.Size(), nil
}

// BlobsDir and IngestDir name a layout's blob directory and its temp
// directory, for a collector that sweeps layouts it manages.
const (
	BlobsDir  = blobsDir
	IngestDir = ingestDir
)

// WalkBlobs calls fn for every blob the layout holds, with its size, in no
// particular order; an error from fn stops the walk and is returned.
func (f *FS) WalkBlobs(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	err := fs.WalkDir(f.root.FS(), blobsDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		alg, hex := path.Base(path.Dir(p)), path.Base(p)
		d := digest.NewDigestFromEncoded(digest.Algorithm(alg), hex)
		if path.Dir(path.Dir(p)) != blobsDir || oci.ValidateDigest(d) != nil {
			return nil // not a blob: someone else's file
		}
		fi, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		return fn(d, fi.Size())
	})
	if err != nil {
		return &Error{Op: "walk", Err: err}
	}
	return nil
}
