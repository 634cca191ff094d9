package store

import (
	"context"
	"os"

	"github.com/stevedore-dev/stevedore/engine/internal/fsx"
)

// Locked runs fn holding the layout's write lock: this FS's mutex, then an
// exclusive flock on .index.lock so that other FS values and other processes
// writing the same layout wait their turn. Readers take no lock: index.json is
// only ever replaced by rename. A collector sweeping the layout holds it too.
func (f *FS) Locked(ctx context.Context, fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := f.root.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := fsx.Flock(ctx, fh); err != nil {
		return err
	}
	defer fsx.Funlock(fh)
	return fn()
}
