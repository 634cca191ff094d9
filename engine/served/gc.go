package served

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// DefaultGCGrace is the grace period GCOptions.Grace <= 0 stands for.
const DefaultGCGrace = time.Hour

// GCOptions configure Root.GC.
type GCOptions struct {
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
	// Grace keeps every unreferenced file changed less than Grace ago: the
	// blobs of a push in progress are unreferenced until its manifest
	// arrives. <= 0 means DefaultGCGrace.
	Grace time.Duration
	// Now is the time ages are measured from; zero means time.Now().
	Now time.Time
}

// GCReport says what a collection found and removed (or, in a dry run,
// would remove).
type GCReport struct {
	DryRun       bool `json:"dryRun"`
	Repositories int  `json:"repositories"`
	// Reachable counts the manifests and blobs marked across repositories.
	Reachable int `json:"reachable"`
	// Removed and RemovedBytes count the unreferenced files unlinked from
	// repository layouts (a blob two repositories drop counts twice).
	Removed      int   `json:"removed"`
	RemovedBytes int64 `json:"removedBytes"`
	// PoolRemoved and FreedBytes count shared-pool blobs no repository holds
	// any more: the disk space actually given back.
	PoolRemoved int   `json:"poolRemoved"`
	FreedBytes  int64 `json:"freedBytes"`
	// Young counts unreferenced files kept because they are inside the grace
	// period.
	Young int `json:"young"`
	// TempRemoved counts temp files that a crash left in .ingest directories.
	TempRemoved int `json:"tempRemoved"`
	// Skipped lists repositories left untouched because their graph could
	// not be read whole; sweeping them could delete what a manifest needs.
	Skipped []GCSkip `json:"skipped,omitempty"`
}

// GCSkip is a repository GC left alone, and why.
type GCSkip struct {
	Repo  string `json:"repo"`
	Error string `json:"error"`
}

// GC collects garbage in the data directory. In every repository it marks
// what index.json names (tags and untagged roots), every recorded referrer,
// and everything those manifests and indexes reference, recursively; it then
// removes the layout's other blob files older than the grace period. Last it
// removes pool blobs that no repository links any more.
//
// Upload sessions are not touched (ExpireUploads handles them). GC may run
// alongside a live registry. Each repository is marked and swept holding its
// index lock, so no tag moves meanwhile; the grace period protects blobs
// uploaded for a push whose manifest has not arrived yet; and a push that
// references older blobs touches them first (Toucher), under the same lock,
// which restarts their grace period: either the sweep ran before the touch,
// and the push finds the blob gone and says so (MANIFEST_BLOB_UNKNOWN), or
// it runs after, and sees the blob young. The sweep re-reads each file's
// times just before removing it, so no touch is missed.
//
// image-spec v1.1.1 image-layout.md (index.json names the layout's roots):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#indexjson-file
func (r *Root) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	if opts.Grace <= 0 {
		opts.Grace = DefaultGCGrace
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	cutoff := opts.Now.Add(-opts.Grace)
	rep := GCReport{DryRun: opts.DryRun}
	names, err := r.Repositories(ctx)
	if err != nil {
		return rep, &Error{Op: "gc", Err: err}
	}
	rep.Repositories = len(names)
	// In a dry run nothing is unlinked, so the pool's link counts must be
	// lowered by what the sweep would have unlinked.
	unlinked := map[string]int{}
	for _, name := range names {
		repo, err := r.Repo(ctx, name)
		if errors.Is(err, errdef.ErrNotFound) {
			continue // being created (no oci-layout file yet) or deleted since the listing
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, GCSkip{Repo: name, Error: err.Error()})
			continue
		}
		err = repo.Locked(ctx, func() error {
			marked, err := r.mark(ctx, name, repo)
			if err != nil {
				return err
			}
			rep.Reachable += len(marked)
			return r.sweepRepo(ctx, repo, marked, cutoff, opts.DryRun, &rep, unlinked)
		})
		if ctxErr := ctx.Err(); ctxErr != nil {
			repo.Close()
			return rep, &Error{Op: "gc", Err: ctxErr}
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, GCSkip{Repo: name, Error: err.Error()})
		}
		rep.TempRemoved += sweepTemp(filepath.Join(repo.Dir(), store.IngestDir), cutoff, opts.DryRun)
		repo.Close()
	}
	if err := r.sweepPool(ctx, cutoff, opts.DryRun, &rep, unlinked); err != nil {
		return rep, &Error{Op: "gc", Err: err}
	}
	rep.TempRemoved += sweepTemp(filepath.Join(r.dir, store.IngestDir), cutoff, opts.DryRun)
	return rep, nil
}

// mark returns every digest reachable in repository name: index.json's
// entries, the recorded referrers of any subject, and their descendants.
// A manifest that is present but cannot be read or parsed fails the mark,
// since its children would be unknown; one that is absent (a sparse index, a
// dangling tag) marks nothing below it.
func (r *Root) mark(ctx context.Context, name string, repo *store.FS) (map[digest.Digest]bool, error) {
	roots, err := repo.Roots(ctx)
	if err != nil {
		return nil, err
	}
	refs, err := r.allReferrers(name)
	if err != nil {
		return nil, err
	}
	for _, d := range refs {
		roots = append(roots, oci.Descriptor{MediaType: oci.MediaTypeImageManifest, Digest: d, Size: -1})
	}
	marked := map[digest.Digest]bool{}
	stack := roots
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		desc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if marked[desc.Digest] || oci.ValidateDigest(desc.Digest) != nil {
			continue
		}
		marked[desc.Digest] = true
		if !oci.IsManifest(desc.MediaType) {
			continue
		}
		m, err := readStoredManifest(ctx, repo, desc)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
		stack = append(stack, m.Children()...)
		// A referrer's subject is not kept alive by it; the referrers of a
		// reachable manifest are, and allReferrers has them already.
	}
	return marked, nil
}

// readStoredManifest reads and parses the manifest desc names, bounded and
// verified against its digest.
func readStoredManifest(ctx context.Context, repo *store.FS, desc oci.Descriptor) (*oci.Manifest, error) {
	fh, size, err := repo.Open(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	raw, err := oci.ReadAllVerified(fh, desc.Digest, size, oci.DefaultManifestLimit)
	if err != nil {
		return nil, err
	}
	// Referrers are recorded without their media type, so let the document
	// say first; the descriptor's type is the fallback for one that does not.
	m, err := oci.ParseManifest("", raw)
	if err != nil {
		m, err = oci.ParseManifest(desc.MediaType, raw)
	}
	return m, err
}

// allReferrers lists every referrer recorded in repository name, whatever
// its subject: a referrer whose subject is not (yet) pushed is still a
// manifest a client expects to find.
func (r *Root) allReferrers(name string) ([]digest.Digest, error) {
	dir, err := r.repoDir(name)
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, repoReferrers)
	var out []digest.Digest
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == base {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		alg, hex, ok := strings.Cut(d.Name(), "-")
		if dg := digest.Digest(alg + ":" + hex); ok && dg.Validate() == nil {
			out = append(out, dg)
		}
		return nil
	})
	return out, err
}

// sweepRepo unlinks repo's blob files that are neither marked nor young.
// A repository file's age is its last change, link count included
// (ctime): a blob mounted or re-uploaded a minute ago is young even when
// its bytes were first written a month ago.
func (r *Root) sweepRepo(ctx context.Context, repo *store.FS, marked map[digest.Digest]bool, cutoff time.Time, dryRun bool, rep *GCReport, unlinked map[string]int) error {
	return walkBlobs(ctx, filepath.Join(repo.Dir(), store.BlobsDir), func(d digest.Digest, p string, fi fs.FileInfo) error {
		if marked[d] {
			return nil
		}
		if changedAt(fi).After(cutoff) {
			rep.Young++
			return nil
		}
		// Read again just before removing, still under the lock: a Touch
		// that ran before the sweep took it must not be missed.
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		if changedAt(fi).After(cutoff) {
			rep.Young++
			return nil
		}
		if poolPath, err := r.pool.BlobPath(d); err == nil {
			if pfi, err := os.Stat(poolPath); err == nil && os.SameFile(fi, pfi) {
				unlinked[poolPath]++
			}
		}
		if !dryRun {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		rep.Removed++
		rep.RemovedBytes += fi.Size()
		return nil
	})
}

// sweepPool removes pool blobs whose only link is the pool's own. The pool
// file's age is its content's (mtime), not its ctime, which the sweep of
// the repositories just changed. Removing a pool file never loses data a
// repository holds: each repository has its own link.
func (r *Root) sweepPool(ctx context.Context, cutoff time.Time, dryRun bool, rep *GCReport, unlinked map[string]int) error {
	return walkBlobs(ctx, filepath.Join(r.dir, store.BlobsDir), func(d digest.Digest, p string, fi fs.FileInfo) error {
		n, ok := linkCount(fi)
		if !ok {
			return nil // no link counts here: the pool cannot tell what is unused
		}
		if dryRun {
			n -= uint64(unlinked[p])
		}
		if n > 1 {
			return nil
		}
		if fi.ModTime().After(cutoff) {
			rep.Young++
			return nil
		}
		// Read again just before removing: since the walk listed it, an
		// upload may have linked it into a repository or touched it.
		if now, err := os.Lstat(p); err != nil {
			return nil
		} else if n, _ := linkCount(now); (n > 1 && !dryRun) || now.ModTime().After(cutoff) {
			if now.ModTime().After(cutoff) {
				rep.Young++
			}
			return nil
		}
		if !dryRun {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		rep.PoolRemoved++
		rep.FreedBytes += fi.Size()
		return nil
	})
}

// walkBlobs calls fn for each blobs/<alg>/<hex> regular file under dir whose
// name is a valid digest; anything else is not ours to judge.
//
// image-spec v1.1.1 §Blobs: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md#blobs
func walkBlobs(ctx context.Context, dir string, fn func(d digest.Digest, path string, fi fs.FileInfo) error) error {
	algs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, alg := range algs {
		if !alg.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, alg.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			d := digest.Digest(alg.Name() + ":" + f.Name())
			if oci.ValidateDigest(d) != nil || !f.Type().IsRegular() {
				continue
			}
			fi, err := f.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := fn(d, filepath.Join(dir, alg.Name(), f.Name()), fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// sweepTemp removes files older than cutoff from an .ingest directory: what
// a crash between create and rename left. Fresh ones may be a write in
// progress. It returns how many it removed (or would remove).
func sweepTemp(dir string, cutoff time.Time, dryRun bool) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || fi.ModTime().After(cutoff) {
			continue
		}
		if dryRun || os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}

// changedAt is the later of a file's content and metadata change times.
func changedAt(fi fs.FileInfo) time.Time {
	if c, ok := ctime(fi); ok && c.After(fi.ModTime()) {
		return c
	}
	return fi.ModTime()
}
