package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// tempFile creates a file in the layout's ingest directory. Temp files stay
// inside the layout so the final rename never crosses file systems, and in a
// directory of their own so a crash leaves nothing under blobs/ or in place of
// index.json.
func (f *FS) tempFile(prefix string) (*os.File, error) {
	dir := filepath.Join(f.dir, ingestDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, prefix)
}

// writeAtomic replaces the layout file name with b: temp file, fsync, rename,
// so readers see the old content or the new, never a mix.
func (f *FS) writeAtomic(name string, b []byte) (err error) {
	tmp, err := f.tempFile(name + "-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(b); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), filepath.Join(f.dir, name)); err != nil {
		return err
	}
	syncDir(f.dir)
	return nil
}

// syncDir makes a rename into dir durable. It is best effort: some platforms
// and file systems cannot fsync a directory, and the rename has happened.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// readFileLimited reads a small metadata file whole, refusing one over limit.
func readFileLimited(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over the %d byte limit: %w", filepath.Base(path), limit, errdef.ErrTooLarge)
	}
	return b, nil
}

// errIsNotExist reports whether err says a file is missing.
func errIsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
