package store

import (
	"context"
	"os"
	"path/filepath"
)

// locked runs fn holding the layout's write lock: this FS's mutex, then an
// exclusive flock on .index.lock so that other FS values and other processes
// writing the same layout wait their turn. Readers take no lock: index.json is
// only ever replaced by rename.
func (f *FS) locked(ctx context.Context, fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.OpenFile(filepath.Join(f.dir, lockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := flock(ctx, fh); err != nil {
		return err
	}
	defer funlock(fh)
	return fn()
}
