package served

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Backend returns r as a Backend. Root's own methods keep returning *store.FS, which
// its callers use directly; the adapter only changes the types.
func (r *Root) Backend() Backend { return rootBackend{r} }

// rootBackend is Root with Repository-typed repository methods.
type rootBackend struct{ *Root }

func (b rootBackend) Repo(ctx context.Context, name string) (Repository, error) {
	fs, err := b.Root.Repo(ctx, name)
	if err != nil {
		return nil, err
	}
	return fs, nil
}

func (b rootBackend) CreateRepo(ctx context.Context, name string) (Repository, error) {
	fs, err := b.Root.CreateRepo(ctx, name)
	if err != nil {
		return nil, err
	}
	return fs, nil
}

func (b rootBackend) Put(ctx context.Context, repo Repository, desc oci.Descriptor, r io.Reader) error {
	fs, err := ownFS(repo)
	if err != nil {
		return &Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	return b.Root.Put(ctx, fs, desc, r)
}

func (b rootBackend) Mount(ctx context.Context, repo Repository, d digest.Digest, from Repository) (int64, error) {
	fs, err := ownFS(repo)
	if err != nil {
		return 0, &Error{Op: "mount", Digest: d, Err: err}
	}
	var src *store.FS
	if from != nil {
		if src, err = ownFS(from); err != nil {
			return 0, &Error{Op: "mount", Digest: d, Err: err}
		}
	}
	return b.Root.Mount(ctx, fs, d, src)
}

// ownFS accepts only the repositories a Root hands out.
func ownFS(repo Repository) (*store.FS, error) {
	fs, ok := repo.(*store.FS)
	if !ok || fs == nil {
		return nil, fmt.Errorf("repository %T is not a data directory's: %w", repo, errdef.ErrInvalid)
	}
	return fs, nil
}
