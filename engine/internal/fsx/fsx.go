// Package fsx holds the file-writing loop and small file helpers that the
// layout store (engine/store) and the served registry's storage
// (engine/served) share, so both write blobs the same measured way.
package fsx

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// ingestBufSize is the buffer of a streamed copy into the store. A read
// returns what the socket holds (up to a few MiB when the sender is ahead),
// so the buffer caps a read; 1 MiB keeps a fast sender from being cut into
// many small read(2)s and write(2)s (a 256 KiB buffer costs a single 1 GiB
// upload about 10 % more CPU). Past ingestBigBufs copies at once, each gets
// an ingestSmallBufSize buffer instead: 64 concurrent uploads (16 crane
// pushes) held 64 MiB of 1 MiB buffers, and the registry's peak RSS was
// 100 MiB (docs/BENCHMARKS.md, push under 16 concurrent clients).
const (
	ingestBufSize      = 1 << 20
	ingestSmallBufSize = 256 << 10
	ingestBigBufs      = 8
)

// writebackEvery is how many freshly written bytes are handed to the kernel's
// writeback at a time (see startWriteback).
const writebackEvery = 16 << 20

// ingestBufs and ingestSmallBufs recycle copy buffers between requests: a
// registry ingesting many layers at once would otherwise allocate one per
// request for the GC to reclaim. bigOut counts the big ones lent out.
var (
	ingestBufs      = sync.Pool{New: func() any { b := make([]byte, ingestBufSize); return &b }}
	ingestSmallBufs = sync.Pool{New: func() any { b := make([]byte, ingestSmallBufSize); return &b }}
	bigOut          atomic.Int32
)

// ingestBuf lends a copy buffer, big while fewer than ingestBigBufs are out;
// put gives it back.
func ingestBuf() (b []byte, put func()) {
	if bigOut.Add(1) <= ingestBigBufs {
		bp := ingestBufs.Get().(*[]byte)
		return *bp, func() { ingestBufs.Put(bp); bigOut.Add(-1) }
	}
	bigOut.Add(-1)
	bp := ingestSmallBufs.Get().(*[]byte)
	return *bp, func() { ingestSmallBufs.Put(bp) }
}

// Ingest copies src into f, which is positioned at offset off, and feeds h
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
func Ingest(ctx context.Context, f *os.File, off int64, src io.Reader, h hash.Hash) (int64, error) {
	b, put := ingestBuf()
	defer put()
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

// ReadLimited reads a small metadata file whole from open (os.Open, or an
// os.Root's Open), refusing one over limit; name is for the error.
func ReadLimited(open func(string) (*os.File, error), name string, limit int64) ([]byte, error) {
	fh, err := open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is over the %d byte limit: %w", name, limit, errdef.ErrTooLarge)
	}
	return b, nil
}

// SyncDir makes a rename into the directory open(name) opens durable. It is
// best effort: some platforms and file systems cannot fsync a directory,
// and the rename has happened.
func SyncDir(open func(string) (*os.File, error), name string) {
	d, err := open(name)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// NotFound turns a missing file into errdef.ErrNotFound and a path that an
// os.Root refused to follow out of its directory into errdef.ErrDenied, and
// leaves other failures (permissions, I/O) as they are.
func NotFound(err error, what string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s not found: %w", what, errdef.ErrNotFound)
	case Escapes(err):
		return fmt.Errorf("%s leads outside its directory (a symlink?), which is refused: %w", what, errdef.ErrDenied)
	}
	return err
}

// Escapes reports whether err is an os.Root refusing a name that leads out
// of its directory. The os package keeps that error unexported (Go 1.26),
// so its text is what identifies it.
func Escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}
