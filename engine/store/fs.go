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
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
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
type FS struct {
	dir string
	mu  sync.Mutex // serialises this process's index.json writers; flock covers other processes
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
	fail := func(err error) (*FS, error) { return nil, &Error{Op: "open", Err: err} }
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail(fmt.Errorf("no OCI layout at %s: %w", dir, errdef.ErrNotFound))
	case err != nil:
		return fail(err)
	case !fi.IsDir():
		return fail(fmt.Errorf("%s is not a directory, so not an OCI layout: %w", dir, errdef.ErrInvalid))
	}
	if err := checkLayoutFile(dir); err != nil {
		return fail(err)
	}
	f := &FS{dir: dir}
	if _, err := f.readIndexView(); err != nil {
		return fail(err)
	}
	return f, nil
}

// CreateFS opens the layout at dir, first creating the directory, its
// oci-layout file, blobs/ and an empty index.json where missing. An existing
// layout is opened as it is.
func CreateFS(dir string) (*FS, error) {
	fail := func(err error) (*FS, error) { return nil, &Error{Op: "create", Err: err} }
	if err := os.MkdirAll(filepath.Join(dir, blobsDir), 0o755); err != nil {
		return fail(err)
	}
	f := &FS{dir: dir}
	// Under the lock so that two creators cannot both decide index.json is
	// missing and one overwrite what the other has tagged meanwhile.
	err := f.locked(context.Background(), func() error {
		if _, err := os.Stat(filepath.Join(dir, layoutFile)); errors.Is(err, fs.ErrNotExist) {
			b, _ := json.Marshal(map[string]string{"imageLayoutVersion": layoutVer})
			if err := f.writeAtomic(layoutFile, b); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(dir, indexFile)); errors.Is(err, fs.ErrNotExist) {
			return f.writeIndex(newIndex())
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return OpenFS(dir)
}

// checkLayoutFile reads dir's oci-layout marker.
func checkLayoutFile(dir string) error {
	b, err := readFileLimited(filepath.Join(dir, layoutFile), 64<<10)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no OCI layout at %s (no %s file): %w", dir, layoutFile, errdef.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", layoutFile, err)
	}
	var l struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("%s in %s is not valid JSON: %v: %w", layoutFile, dir, err, errdef.ErrInvalid)
	}
	if l.Version != layoutVer {
		return fmt.Errorf("%s has imageLayoutVersion %q, want %q: %w", dir, l.Version, layoutVer, errdef.ErrUnsupported)
	}
	return nil
}

// Dir returns the layout directory.
func (f *FS) Dir() string { return f.dir }

// blobPath validates d before it becomes a path, so no digest can name a file
// outside blobs/.
//
// image-spec v1.1.1 §Blobs: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#blobs
func (f *FS) blobPath(d digest.Digest) (string, error) {
	if err := oci.ValidateDigest(d); err != nil {
		return "", err
	}
	return filepath.Join(f.dir, blobsDir, d.Algorithm().String(), d.Encoded()), nil
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
	p, err := f.blobPath(d)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0, notFound(err, "blob")
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
	p, err := f.blobPath(d)
	if err != nil {
		return fail(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		return fail(notFound(err, "blob"))
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

// notFound turns a missing file into errdef.ErrNotFound and leaves other
// failures (permissions, I/O) as they are.
func notFound(err error, what string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s not found: %w", what, errdef.ErrNotFound)
	}
	return err
}
