package served

import (
	"context"

	"github.com/opencontainers/go-digest"
)

// FileAdopter is an optional capability of a Backend that can take a file
// the caller wrote, synced and verified as it wrote it, as a blob without
// copying it: a data directory links it into its pool, as it does the data
// of a finished upload. A pull-through cache commits a blob it streamed to
// its readers this way.
type FileAdopter interface {
	// AdoptFile makes the file at path blob d of repo; the caller still
	// removes path. The file must hold exactly the bytes that hash to d
	// and be synced to disk, and should be on the backend's file system
	// (elsewhere it is copied, and verified on the way).
	AdoptFile(ctx context.Context, repo Repository, d digest.Digest, path string) error
}

var _ FileAdopter = rootBackend{}

// AdoptFile links the file at path into the pool as blob d and into repo.
func (b rootBackend) AdoptFile(ctx context.Context, repo Repository, d digest.Digest, path string) error {
	fs, err := ownFS(repo)
	if err == nil {
		err = b.Root.adopt(ctx, path, fs, d)
	}
	if err != nil {
		return &Error{Op: "adopt", Digest: d, Err: err}
	}
	return nil
}
