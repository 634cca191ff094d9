package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// fillKey names a fill: one blob of one repository. Fills are per
// repository because the upstream authorises per repository.
type fillKey struct {
	name string
	d    digest.Digest
}

// Fill fetches one blob from its upstream into a spool file that every
// reader of the blob follows, then commits it to the store.
type Fill struct {
	c      *Cache
	up     *upstream
	key    fillKey
	remote string
	path   string   // the spool file
	w      *os.File // written by Run only

	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) at every change below
	ready   bool          // the upstream answered: size is known, or err set
	size    int64         // announced length; -1 when the upstream sent none
	written int64
	done    bool  // every byte arrived and verified (err nil), or failed
	err     error // why the fill failed

	finished chan struct{} // closed when Run returns; runErr is then its result
	runErr   error
}

// Blob opens blob d of repository name, which must be under an upstream's
// prefix. When the store holds the blob it returns a nil Stream: serve it
// from the store. Otherwise the Stream follows the blob as it arrives from
// the upstream, and when this call started the fetch it also returns the
// Fill, which the caller must Run — in a goroutine of its own, since Run
// returns only once the whole blob arrived and was committed. Concurrent
// callers for the same blob share that one fetch.
func (c *Cache) Blob(ctx context.Context, name string, d digest.Digest) (*Stream, *Fill, error) {
	up, remote, ok := c.route(name)
	if !ok {
		return nil, nil, fmt.Errorf("repository %s is under no upstream's prefix: %w", name, errdef.ErrNotFound)
	}
	if err := oci.ValidateDigest(d); err != nil {
		return nil, nil, err
	}
	if _, ok, err := c.stored(ctx, name, d); ok || err != nil {
		if ok {
			up.hits.Add(1)
		}
		return nil, nil, err
	}
	key := fillKey{name, d}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.fills[key]; f != nil {
		up.misses.Add(1)
		s, err := f.open(ctx)
		return s, nil, err
	}
	// A fill removes itself only after committing: absent from the map
	// and absent from the store means nobody has it.
	if _, ok, err := c.stored(ctx, name, d); ok || err != nil {
		if ok {
			up.hits.Add(1)
		}
		return nil, nil, err
	}
	w, err := os.CreateTemp(c.spool, spoolPrefix+"*")
	if err != nil {
		return nil, nil, fmt.Errorf("spooling blob %s: %w", d, err)
	}
	f := &Fill{c: c, up: up, key: key, remote: remote, path: w.Name(), w: w, changed: make(chan struct{}), size: -1, finished: make(chan struct{})}
	s, err := f.open(ctx)
	if err != nil {
		w.Close()
		os.Remove(f.path)
		return nil, nil, err
	}
	c.fills[key] = f
	up.misses.Add(1)
	return s, f, nil
}

// StatBlob returns the size of blob d of repository name, and whether the
// store holds it: otherwise a fill in progress or the upstream (a HEAD)
// says.
//
// distribution-spec v1.1.1 §Checking if content exists in the registry:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#checking-if-content-exists-in-the-registry
func (c *Cache) StatBlob(ctx context.Context, name string, d digest.Digest) (size int64, stored bool, err error) {
	up, remote, ok := c.route(name)
	if !ok {
		return 0, false, fmt.Errorf("repository %s is under no upstream's prefix: %w", name, errdef.ErrNotFound)
	}
	if err := oci.ValidateDigest(d); err != nil {
		return 0, false, err
	}
	if size, ok, err := c.stored(ctx, name, d); ok || err != nil {
		if ok {
			up.hits.Add(1)
		}
		return size, ok, err
	}
	c.mu.Lock()
	f := c.fills[fillKey{name, d}]
	c.mu.Unlock()
	if f != nil {
		f.mu.Lock()
		size, known := f.size, f.ready && f.err == nil && f.size >= 0
		f.mu.Unlock()
		if known {
			up.misses.Add(1)
			return size, false, nil
		}
	}
	var desc oci.Descriptor
	err = up.try(ctx, remote, "blob", func(r *registry.Repository) error {
		var err error
		desc, err = r.StatBlob(ctx, d)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	up.misses.Add(1)
	return desc.Size, false, nil
}

// Run fetches the blob from the upstream into the spool file, letting its
// readers follow, and commits it to the store once its digest verified. It
// returns when the fill is over: committed, or failed (readers then get the
// error, and nothing is stored). ctx bounds the fetch; a reader that goes
// away does not end it, so the blob is cached for the next.
func (f *Fill) Run(ctx context.Context) error {
	err := f.fetch(ctx)
	f.update(func() {
		f.ready, f.done, f.err = true, true, err
	})
	if err == nil {
		err = f.commit(ctx)
	}
	// Forget the fill only after the commit, so that a reader arriving
	// meanwhile follows the spool rather than starting another fetch.
	f.c.mu.Lock()
	delete(f.c.fills, f.key)
	f.c.mu.Unlock()
	// Readers hold their own descriptors; the name goes now.
	f.w.Close()
	os.Remove(f.path)
	f.runErr = err
	close(f.finished)
	return err
}

// Pipeline of a fill: the fetching goroutine reads up to copyBuffer bytes
// at once from the upstream (a read returns what has arrived, so readers
// are woken as bytes come), writes them to the spool and hands them to a
// hashing goroutine; pipelineDepth pieces may wait to be hashed. Hashing
// is the costliest step, and on its own core it no longer holds the bytes
// back from the readers.
const (
	copyBuffer    = 1 << 20
	pipelineDepth = 4
)

// fetch streams the blob from the upstream into the spool file and
// verifies its digest and size; the fill is verified only if it returns
// nil.
func (f *Fill) fetch(ctx context.Context) error {
	var body io.ReadCloser
	var size int64
	err := f.up.try(ctx, f.remote, "blob", func(r *registry.Repository) error {
		var err error
		body, size, err = r.FetchBlob(ctx, f.key.d)
		return err
	})
	if err != nil {
		return err
	}
	defer body.Close()
	f.update(func() { f.ready, f.size = true, size })

	free := make(chan []byte, pipelineDepth+1)
	for range pipelineDepth + 1 {
		free <- make([]byte, copyBuffer)
	}
	toHash := make(chan []byte, pipelineDepth)
	hashed := make(chan error, 1)
	go func() { hashed <- f.hash(toHash, free, size) }()
	rerr := f.spool(body, free, toHash)
	close(toHash)
	herr := <-hashed
	switch {
	case rerr != nil:
		f.up.failures.Add(1)
		return &Error{Upstream: f.up.Prefix, Op: "blob", Name: f.remote, Err: rerr}
	case herr != nil:
		f.up.failures.Add(1)
		return &Error{Upstream: f.up.Prefix, Op: "blob", Name: f.remote, Err: herr}
	}
	return nil
}

// spool copies body to the spool file, waking readers after every piece
// and passing each to the hasher.
func (f *Fill) spool(body io.Reader, free <-chan []byte, toHash chan<- []byte) error {
	for {
		buf := <-free
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := f.w.Write(buf[:n]); werr != nil {
				return fmt.Errorf("spooling blob %s: %w", f.key.d, werr)
			}
			f.up.bytes.Add(int64(n))
			f.update(func() { f.written += int64(n) })
			toHash <- buf[:n]
		} else {
			toHash <- buf[:0]
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("reading %s: %w", f.key.d, err)
		}
	}
}

// hash hashes the pieces as they come, returning their buffers, and checks
// the whole against the digest and the announced size (< 0: unknown).
func (f *Fill) hash(pieces <-chan []byte, free chan<- []byte, size int64) error {
	h := f.key.d.Algorithm().Hash()
	var n int64
	for p := range pieces {
		h.Write(p)
		n += int64(len(p))
		free <- p[:cap(p)]
	}
	if size >= 0 && n != size {
		return fmt.Errorf("blob %s: %d bytes arrived, the upstream announced %d: %w", f.key.d, n, size, errdef.ErrSizeMismatch)
	}
	if got := digest.NewDigest(f.key.d.Algorithm(), h); got != f.key.d {
		return fmt.Errorf("blob %s: the upstream's bytes hash to %s: %w", f.key.d, got, errdef.ErrDigestMismatch)
	}
	return nil
}

// commit stores the verified spool file as the blob: a data directory
// adopts the synced file itself (it was hashed as it was written, by this
// process, and nobody else writes it); any other store copies it,
// verifying it again on the way.
func (f *Fill) commit(ctx context.Context) error {
	repo, err := f.c.b.CreateRepo(ctx, f.key.name)
	if err != nil {
		return err
	}
	defer repo.Close()
	if a, ok := f.c.b.(served.FileAdopter); ok {
		err = f.w.Chmod(0o644) // as every stored blob: readable by the layout's other readers
		if err == nil {
			err = f.w.Sync()
		}
		if err == nil {
			err = a.AdoptFile(ctx, repo, f.key.d, f.path)
		}
	} else {
		desc := oci.Descriptor{MediaType: "application/octet-stream", Digest: f.key.d, Size: f.written}
		err = f.c.b.Put(ctx, repo, desc, io.NewSectionReader(f.w, 0, f.written))
	}
	if err != nil {
		return fmt.Errorf("storing blob %s of %s: %w", f.key.d, f.key.name, err)
	}
	return nil
}

// update changes the fill's state under its lock and wakes its readers.
func (f *Fill) update(change func()) {
	f.mu.Lock()
	change()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// open returns a reader of the fill from its first byte.
func (f *Fill) open(ctx context.Context) (*Stream, error) {
	r, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("following blob %s: %w", f.key.d, err)
	}
	return &Stream{f: f, r: r, ctx: ctx}, nil
}

// Stream reads a blob while its fill writes it. Read blocks until more
// bytes arrive; the last byte is held back until the whole blob verified,
// so a reader never sees a complete blob that is wrong, only an error.
type Stream struct {
	f   *Fill
	r   *os.File
	off int64
	ctx context.Context
}

// Size waits until the upstream answered and returns the blob's length (-1
// when the upstream did not say), or why the fetch failed: an error
// matching errdef.ErrNotFound when the upstream has no such blob.
func (s *Stream) Size(ctx context.Context) (int64, error) {
	for {
		s.f.mu.Lock()
		ready, size, err, ch := s.f.ready, s.f.size, s.f.err, s.f.changed
		s.f.mu.Unlock()
		if ready {
			return size, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Read reads the next bytes of the blob, waiting for them to arrive. It
// returns io.EOF once the blob verified, the fill's error if it failed, or
// the error of the context the Stream was opened with.
func (s *Stream) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	avail, err := s.wait()
	if s.off >= avail {
		return 0, err
	}
	n, rerr := s.r.ReadAt(p[:min(int64(len(p)), avail-s.off)], s.off)
	s.off += int64(n)
	if errors.Is(rerr, io.EOF) {
		rerr = nil // the spool file is longer than avail; a short read only
	}
	return n, rerr
}

// WriteAvailable waits for bytes this reader has not read, then copies all
// that have arrived to w and returns how many. When w can read from a file
// (an HTTP response over TCP) the bytes go from the spool file to the
// connection without passing through this process (sendfile). It returns
// io.EOF once the whole verified blob was copied, the fill's error if it
// failed, or the error of the context the Stream was opened with.
func (s *Stream) WriteAvailable(w io.Writer) (int64, error) {
	avail, err := s.wait()
	if s.off >= avail {
		return 0, err
	}
	if _, err := s.r.Seek(s.off, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.Copy(w, &io.LimitedReader{R: s.r, N: avail - s.off})
	s.off += n
	return n, err
}

// wait blocks until bytes past the reader's offset may be read, and returns
// how far: avail > s.off, or the reader is at the end and err says why —
// io.EOF after a verified blob, the fill's error, or the context's.
func (s *Stream) wait() (avail int64, err error) {
	for {
		s.f.mu.Lock()
		written, done, ferr, ch := s.f.written, s.f.done, s.f.err, s.f.changed
		s.f.mu.Unlock()
		verified := done && ferr == nil
		avail = written
		if !verified && avail > 0 {
			avail-- // the last byte waits for the digest
		}
		switch {
		case s.off < avail:
			return avail, nil
		case verified:
			return avail, io.EOF
		case done:
			return avail, ferr
		}
		select {
		case <-ch:
		case <-s.ctx.Done():
			return avail, s.ctx.Err()
		}
	}
}

// Close releases the reader; the fill goes on.
func (s *Stream) Close() error { return s.r.Close() }
