package store

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
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

// ingestBufSize is the buffer of a streamed copy into the store. A read
// returns what the socket holds (often a few hundred KiB), so the buffer only
// caps a read; 1 MiB keeps a fast sender from being cut into many small
// write(2)s.
const ingestBufSize = 1 << 20

// writebackEvery is how many freshly written bytes are handed to the kernel's
// writeback at a time (see startWriteback).
const writebackEvery = 16 << 20

// ingestBufs recycles copy buffers between requests: a registry ingesting
// many layers at once would otherwise allocate 1 MiB per request for the GC
// to reclaim.
var ingestBufs = sync.Pool{New: func() any { b := make([]byte, ingestBufSize); return &b }}

// ingest copies src into f, which is positioned at offset off, and feeds h
// (nil: no hash) the same bytes. It returns the number of bytes written; on
// error the caller truncates or removes f.
//
// It is a plain serial loop on purpose, measured on a 1 GiB upload (see
// docs/BENCHMARKS.md): each buffer is written while it is still in the CPU
// cache from the socket read, then hashed. Filling the whole buffer first
// (io.ReadFull), or handing the write to another goroutine so it overlaps
// the hash, both cost 40-90 % more CPU, because the page-cache copy then
// reads cold memory. What does help is starting writeback of every
// writebackEvery bytes as soon as they are written: the disk works while
// the body still arrives, so the fsync the caller does before acknowledging
// finds little left to flush (about 15 % less wall time per GiB, for no
// extra CPU).
func ingest(ctx context.Context, f *os.File, off int64, src io.Reader, h hash.Hash) (int64, error) {
	bp := ingestBufs.Get().(*[]byte)
	defer ingestBufs.Put(bp)
	b := *bp
	src = oci.ContextReader(ctx, src)
	var n int64
	flushed := off
	for {
		m, rerr := src.Read(b)
		if m > 0 {
			if _, err := f.Write(b[:m]); err != nil {
				return n, err
			}
			if h != nil {
				h.Write(b[:m])
			}
			n += int64(m)
			if off+n-flushed >= writebackEvery {
				startWriteback(f, flushed, off+n-flushed)
				flushed = off + n
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
