package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
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
	var missing []digest.Digest
	err = f.locked(ctx, func() error {
		now := time.Now()
		for _, d := range ds {
			p, err := f.blobPath(d)
			if err != nil {
				return err
			}
			err = os.Chtimes(p, now, now)
			if errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, d)
				if pp, perr := b.pool.blobPath(d); perr == nil {
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
