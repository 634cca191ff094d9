package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"
)

// tempFile creates a file in the layout's ingest directory and returns it with
// its name relative to the layout. Temp files stay inside the layout so the
// final rename never crosses file systems, and in a directory of their own so
// a crash leaves nothing under blobs/ or in place of index.json.
func (f *FS) tempFile(prefix string) (*os.File, string, error) {
	if err := f.root.MkdirAll(ingestDir, 0o755); err != nil {
		return nil, "", err
	}
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		name := path.Join(ingestDir, prefix+hex.EncodeToString(b[:]))
		fh, err := f.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return fh, name, err
	}
}

// writeAtomic replaces the layout file name with b: temp file, fsync, rename,
// so readers see the old content or the new, never a mix.
func (f *FS) writeAtomic(name string, b []byte) (err error) {
	tmp, tmpName, err := f.tempFile(name + "-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			f.root.Remove(tmpName)
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
	if err = f.root.Rename(tmpName, name); err != nil {
		return err
	}
	f.syncDir(".")
	return nil
}

// syncDir makes a rename into the layout directory dir durable (best effort).
func (f *FS) syncDir(dir string) {
	if d, err := f.root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// errIsNotExist reports whether err says a file is missing.
func errIsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
