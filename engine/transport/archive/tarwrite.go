package archive

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// tarAppender builds a tar in a temporary file beside its destination. A
// copy pushes blobs concurrently but a tar is written in sequence, so each
// entry holds the lock while it streams; an entry whose stream fails is
// cut off again (the file is truncated to where it began), so a verify
// error never leaves a corrupt entry behind.
type tarAppender struct {
	mu   sync.Mutex
	dir  *os.Root // where dest and the temporary file are; closed when done
	dest string   // the archive's name in dir
	tmp  string   // the temporary file's name in dir
	f    *os.File
	tw   *tar.Writer
	done bool
}

// epoch is every entry's mtime, so an archive of the same content is the
// same bytes, as skopeo's docker-archive is.
var epoch = time.Unix(0, 0)

// newTarAppender starts a tar that Commit will rename to dest, a name
// inside dir (which it owns from here on): every file it makes or replaces
// is reached through dir, so none lies outside it.
func newTarAppender(dir *os.Root, dest string) (*tarAppender, error) {
	fail := func(err error) (*tarAppender, error) {
		dir.Close()
		return nil, err
	}
	parent := path.Dir(dest)
	if err := dir.MkdirAll(parent, 0o755); err != nil {
		return fail(err)
	}
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		tmp := path.Join(parent, "."+path.Base(dest)+"."+hex.EncodeToString(b[:])+".tmp")
		f, err := dir.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		return &tarAppender{dir: dir, dest: dest, tmp: tmp, f: f, tw: tar.NewWriter(f)}, nil
	}
}

// add appends a regular file of size bytes read from r; called with mu held.
func (a *tarAppender) add(name string, size int64, r io.Reader) error {
	if a.done {
		return fmt.Errorf("archive %s already committed or aborted: %w", a.dest, errdef.ErrInvalid)
	}
	start, err := a.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	err = a.tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: epoch})
	if err == nil {
		var n int64
		n, err = io.Copy(a.tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: got %d bytes, want %d: %w", name, n, size, errdef.ErrSizeMismatch)
		}
	}
	if err == nil {
		// A reader that verifies at EOF must be read to it.
		var extra [1]byte
		if n, rerr := r.Read(extra[:]); n > 0 {
			err = fmt.Errorf("%s: more than %d bytes: %w", name, size, errdef.ErrSizeMismatch)
		} else if rerr != nil && rerr != io.EOF {
			err = rerr
		}
	}
	if err == nil {
		err = a.tw.Flush()
	}
	if err != nil {
		return a.rollback(start, err)
	}
	return nil
}

// addUnsized appends a regular file whose size and name are known only
// once r is read to the end (a decompressed layer named by its digest):
// a header is reserved, the data streamed, and the header written over the
// reservation. GNU format keeps any size in one 512-byte block; name() must
// return fewer than 100 bytes. Called with mu held.
func (a *tarAppender) addUnsized(r io.Reader, name func() string) (int64, error) {
	if a.done {
		return 0, fmt.Errorf("archive %s already committed or aborted: %w", a.dest, errdef.ErrInvalid)
	}
	start, err := a.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	var zero [512]byte
	if _, err := a.f.Write(zero[:]); err != nil {
		return 0, a.rollback(start, err)
	}
	n, err := io.Copy(a.f, r)
	if err != nil {
		return 0, a.rollback(start, err)
	}
	if pad := (512 - n%512) % 512; pad > 0 {
		if _, err := a.f.Write(zero[:pad]); err != nil {
			return 0, a.rollback(start, err)
		}
	}
	var hb bytes.Buffer
	if err := tar.NewWriter(&hb).WriteHeader(&tar.Header{Name: name(), Size: n, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: epoch, Format: tar.FormatGNU}); err != nil || hb.Len() != 512 {
		return 0, a.rollback(start, fmt.Errorf("tar header for %s: %v (%d bytes)", name(), err, hb.Len()))
	}
	if _, err := a.f.WriteAt(hb.Bytes(), start); err != nil {
		return 0, a.rollback(start, err)
	}
	a.tw = tar.NewWriter(a.f)
	return n, nil
}

// rollback cuts the file back to start and returns err.
func (a *tarAppender) rollback(start int64, err error) error {
	if terr := a.f.Truncate(start); terr != nil {
		a.abortLocked()
		return fmt.Errorf("%w (and truncating %s failed: %v)", err, a.tmp, terr)
	}
	if _, serr := a.f.Seek(start, io.SeekStart); serr != nil {
		a.abortLocked()
		return err
	}
	a.tw = tar.NewWriter(a.f)
	return err
}

// commit ends the tar, syncs it and renames it into place; called with mu held.
func (a *tarAppender) commit() error {
	if a.done {
		return fmt.Errorf("archive %s already committed or aborted: %w", a.dest, errdef.ErrInvalid)
	}
	a.done = true
	err := a.tw.Close()
	if err == nil {
		// CreateTemp makes the file 0600; an archive is meant to be shared like
		// the files skopeo and docker save write (0644).
		err = a.f.Chmod(0o644)
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.dir.Rename(a.tmp, a.dest)
	}
	if err != nil {
		a.dir.Remove(a.tmp)
	}
	a.dir.Close()
	return err
}

// abortLocked discards the temporary file; called with mu held.
func (a *tarAppender) abortLocked() error {
	if a.done {
		return nil
	}
	a.done = true
	a.f.Close()
	defer a.dir.Close()
	return a.dir.Remove(a.tmp)
}

// bytesReader reads b; a named helper keeps call sites short.
func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
