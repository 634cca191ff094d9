package served

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Names inside a Root data directory.
const (
	rootReposDir   = "repos"      // repos/<name>/_oci is one repository's layout
	rootUploadsDir = "uploads"    // uploads/<id>/ is one upload session
	repoLayoutLeaf = "_oci"       // can never be a repository path component (those start alphanumeric)
	repoReferrers  = "_referrers" // beside _oci, same reasoning
)

// Root is a data directory holding many repositories, each an OCI image layout
// at repos/<name>/_oci, plus a shared pool of blobs at blobs/<alg>/<hex> from
// which every layout's blob files are hard-linked. One copy of a layer is on
// disk however many repositories hold it, and each layout stays a complete,
// self-contained image layout that skopeo and oras read as they are.
//
// The pool is laid out like a layout's blobs/ directory, so Root reuses store.FS's
// verified, atomic Put for it. A pool file whose link count is 1 is held by no
// repository, which is what a garbage collector looks for.
//
// Nothing is cached: the directory is the only truth.
type Root struct {
	dir  string
	pool *store.FS // dir itself: its blobs/ is the pool, its .ingest/ the pool's temp dir
}

// OpenRoot opens the data directory dir, creating it and its subdirectories
// where missing.
func OpenRoot(dir string) (*Root, error) {
	for _, sub := range []string{rootReposDir, rootUploadsDir, store.BlobsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, &Error{Op: "open", Err: fmt.Errorf("data directory: %w", err)}
		}
	}
	// The pool is itself a layout (with an empty index), so it stores blobs
	// with the layout's verified, atomic Put.
	pool, err := store.CreateFS(dir)
	if err != nil {
		return nil, &Error{Op: "open", Err: fmt.Errorf("data directory: %w", err)}
	}
	return &Root{dir: dir, pool: pool}, nil
}

// Dir returns the data directory.
func (r *Root) Dir() string { return r.dir }

// repoDir validates name against the distribution-spec grammar before it
// becomes a path, so no name can reach outside repos/.
//
// distribution-spec v1.1.1 §Pulling manifests (the <name> grammar):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pulling-manifests
func (r *Root) repoDir(name string) (string, error) {
	if err := oci.ValidateRepository(name); err != nil {
		return "", fmt.Errorf("repository %q: %v: %w", name, err, errdef.ErrInvalid)
	}
	return filepath.Join(r.dir, rootReposDir, filepath.FromSlash(name)), nil
}

// Repo opens the existing repository name. A repository never pushed to
// matches errdef.ErrNotFound; a bad name errdef.ErrInvalid.
func (r *Root) Repo(ctx context.Context, name string) (*store.FS, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := r.repoDir(name)
	if err != nil {
		return nil, &Error{Op: "open", Err: err}
	}
	repo, err := store.OpenFS(filepath.Join(dir, repoLayoutLeaf))
	if errors.Is(err, errdef.ErrNotFound) {
		// Name the repository, not the server's path: errors reach callers.
		return nil, fmt.Errorf("repository %s unknown: %w", name, errdef.ErrNotFound)
	}
	return repo, err
}

// CreateRepo opens the repository name, creating its layout if needed.
func (r *Root) CreateRepo(ctx context.Context, name string) (*store.FS, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := r.repoDir(name)
	if err != nil {
		return nil, &Error{Op: "create", Err: err}
	}
	return store.CreateFS(filepath.Join(dir, repoLayoutLeaf))
}

// Repositories lists the names of all repositories in lexical order.
func (r *Root) Repositories(ctx context.Context) ([]string, error) {
	base := filepath.Join(r.dir, rootReposDir)
	var names []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.IsDir() || p == base {
			return nil
		}
		if strings.HasPrefix(d.Name(), "_") {
			if d.Name() == repoLayoutLeaf {
				rel, _ := filepath.Rel(base, filepath.Dir(p))
				names = append(names, filepath.ToSlash(rel))
			}
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return nil, &Error{Op: "repositories", Err: err}
	}
	slices.Sort(names)
	return names, nil
}

// Put stores r as the blob desc describes in the pool (verified, atomic, as
// store.FS.Put) and links it into repo.
func (r *Root) Put(ctx context.Context, repo *store.FS, desc oci.Descriptor, rd io.Reader) error {
	if err := r.pool.Put(ctx, desc, rd); err != nil {
		return &Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	src, _ := r.pool.BlobPath(desc.Digest)
	if err := linkInto(ctx, src, repo, desc.Digest); err != nil {
		return &Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	if err := r.keepCommitted(ctx, repo, desc.Digest); err != nil {
		return &Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	return nil
}

// Mount makes the blob d of repository from (nil: any repository, i.e. the
// pool) part of repo without copying its bytes, and returns its size. A blob
// the source does not hold matches errdef.ErrNotFound.
//
// distribution-spec v1.1.1 §Mounting a blob from another repository:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#mounting-a-blob-from-another-repository
func (r *Root) Mount(ctx context.Context, repo *store.FS, d digest.Digest, from *store.FS) (int64, error) {
	src := r.pool
	if from != nil {
		src = from
	}
	size, err := src.Stat(ctx, d)
	if err != nil {
		return 0, &Error{Op: "mount", Digest: d, Err: err}
	}
	srcPath, _ := src.BlobPath(d)
	if from != nil {
		// A layout filled by another tool holds files the pool never saw;
		// adopting them keeps "one copy, linked" true from here on.
		if poolPath, _ := r.pool.BlobPath(d); !exists(poolPath) {
			_ = hardlink(srcPath, poolPath)
		}
	}
	if err := linkInto(ctx, srcPath, repo, d); err != nil {
		return 0, &Error{Op: "mount", Digest: d, Err: err}
	}
	if err := r.keepCommitted(ctx, repo, d); err != nil {
		return 0, &Error{Op: "mount", Digest: d, Err: err}
	}
	return size, nil
}

// adopt moves the verified file at path into the pool as blob d (by link, so
// the caller still removes path) and links it into repo.
func (r *Root) adopt(ctx context.Context, path string, repo *store.FS, d digest.Digest) error {
	poolPath, err := r.pool.BlobPath(d)
	if err != nil {
		return err
	}
	if !exists(poolPath) {
		if err := hardlink(path, poolPath); err != nil {
			// Another file system under the pool (unusual): copy instead.
			if err := copyInto(ctx, path, r.pool, d); err != nil {
				return err
			}
		}
		fsx.SyncDir(os.Open, filepath.Dir(poolPath))
	}
	if err := linkInto(ctx, poolPath, repo, d); err != nil {
		return err
	}
	return r.keepCommitted(ctx, repo, d)
}

// linkInto makes src the blob file d of layout dst: a hard link when the file
// system allows it, else a copy through dst's temp directory and a rename, so
// the blob appears whole or not at all. A blob dst already holds is kept.
func linkInto(ctx context.Context, src string, dst *store.FS, d digest.Digest) error {
	final, err := dst.BlobPath(d)
	if err != nil {
		return err
	}
	if exists(final) {
		return nil
	}
	if err := hardlink(src, final); err == nil {
		fsx.SyncDir(os.Open, filepath.Dir(final))
		return nil
	}
	return copyInto(ctx, src, dst, d)
}

// copyInto stores the file src as blob d of dst, verifying it on the way.
func copyInto(ctx context.Context, src string, dst *store.FS, d digest.Digest) error {
	fh, err := os.Open(src)
	if err != nil {
		return err
	}
	defer fh.Close()
	return dst.Put(ctx, oci.Descriptor{Digest: d, Size: -1}, fh)
}

// hardlink links src at dst, creating dst's directory; dst already existing
// counts as success (content addressing makes it the same bytes).
func hardlink(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// DeleteRepo removes repository name: its layout and its referrer records.
// Repositories nested under it (name/sub) stay. The layout is first renamed
// aside, so readers see the repository whole or gone; blobs no repository
// holds any more go at the next collection.
func (r *Root) DeleteRepo(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := r.repoDir(name)
	if err != nil {
		return &Error{Op: "delete", Err: err}
	}
	layout := filepath.Join(dir, repoLayoutLeaf)
	if _, err := os.Stat(layout); err != nil {
		return &Error{Op: "delete", Err: fsx.NotFound(err, "repository "+name)}
	}
	// A leaf starting with '_' is never a repository component nor listed.
	trash := filepath.Join(dir, "_deleted-"+newUUID())
	if err := os.Rename(layout, trash); err != nil {
		return &Error{Op: "delete", Err: err}
	}
	fsx.SyncDir(os.Open, dir)
	err = errors.Join(os.RemoveAll(trash), os.RemoveAll(filepath.Join(dir, repoReferrers)))
	// Empty parents go too, up to repos/ (one that holds another repository
	// is not empty, and stays).
	base := filepath.Join(r.dir, rootReposDir)
	for d := dir; d != base && strings.HasPrefix(d, base); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	if err != nil {
		return &Error{Op: "delete", Err: err}
	}
	return nil
}
