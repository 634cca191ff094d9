package served

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Toucher is an optional capability of a Backend whose collector may run
// while it serves pushes. A push references blobs it did not write itself
// (ones uploaded long ago, mounted, or found already present); until its
// manifest is tagged nothing marks them, and the grace period, measured
// from the blob file's last change, may be long over. Touching them first
// restarts the grace period, so a collection that starts later keeps them.
type Toucher interface {
	// Touch restarts the grace period of the blobs ds in repo. It is atomic
	// with respect to a collection of repo: one that ran before is over
	// (what it removed is absent now), one that runs after sees the blobs
	// young. Blobs repo does not hold are left out and reported by an error
	// matching errdef.ErrNotFound, after every present one is touched.
	Touch(ctx context.Context, repo Repository, ds ...digest.Digest) error
}

var _ Toucher = rootBackend{}

// Touch implements Toucher for a data directory: under repo's index lock,
// which GC holds while it sweeps the repository, it sets each blob file's
// modification time to now (which moves its change time too). The repository
// file and the pool file are one inode, so the pool's sweep sees the blob
// young as well. A blob the repository lacks has its pool copy touched, if
// there is one, so that an upload about to link it finds it still there.
func (b rootBackend) Touch(ctx context.Context, repo Repository, ds ...digest.Digest) error {
	f, err := ownFS(repo)
	if err != nil {
		return &Error{Op: "touch", Err: err}
	}
	return b.touch(ctx, f, ds...)
}

// touch is Touch on one of r's repositories.
func (r *Root) touch(ctx context.Context, f *store.FS, ds ...digest.Digest) error {
	var missing []digest.Digest
	err := f.Locked(ctx, func() error {
		now := time.Now()
		for _, d := range ds {
			p, err := f.BlobPath(d)
			if err != nil {
				return err
			}
			err = os.Chtimes(p, now, now)
			if errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, d)
				if pp, perr := r.pool.BlobPath(d); perr == nil {
					_ = os.Chtimes(pp, now, now)
				}
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return &Error{Op: "touch", Err: err}
	}
	if len(missing) > 0 {
		return &Error{Op: "touch", Digest: missing[0], Err: fmt.Errorf("%d of %d blobs not in the repository: %w", len(missing), len(ds), errdef.ErrNotFound)}
	}
	return nil
}

// keepCommitted touches blob d, just linked into repo by a Put, Mount or
// upload commit. A commit that finds the blob already linked leaves the
// file as it was, perhaps older than the grace period and unreferenced;
// touched, it waits for the manifest the client pushes next. A blob
// collected in the instant between the link and the touch fails the commit
// rather than be acknowledged: the client sends it again.
func (r *Root) keepCommitted(ctx context.Context, repo *store.FS, d digest.Digest) error {
	err := r.touch(ctx, repo, d)
	if errors.Is(err, errdef.ErrNotFound) {
		return fmt.Errorf("blob %s was garbage-collected while it was committed; push it again: %w", d, errdef.ErrNotFound)
	}
	return err
}
