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

// copyBuffer is what a fill reads from the upstream at once, at most: a
// read returns what has arrived, so readers are woken as bytes come.
const copyBuffer = 1 << 20

// fetch streams the blob from the upstream into the spool file.
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
	buf := make([]byte, copyBuffer)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := f.w.Write(buf[:n]); err != nil {
				return fmt.Errorf("spooling blob %s: %w", f.key.d, err)
			}
			f.up.bytes.Add(int64(n))
			f.update(func() { f.written += int64(n) })
		}
		switch {
		case rerr == io.EOF:
			return nil // the verifying reader checked digest and size
		case rerr != nil:
			f.up.failures.Add(1)
			return &Error{Upstream: f.up.Prefix, Op: "blob", Name: f.remote, Err: fmt.Errorf("reading %s: %w", f.key.d, rerr)}
		}
	}
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
	for {
		s.f.mu.Lock()
		written, done, err, ch := s.f.written, s.f.done, s.f.err, s.f.changed
		s.f.mu.Unlock()
		verified := done && err == nil
		avail := written
		if !verified && avail > 0 {
			avail-- // the last byte waits for the digest
		}
		if s.off < avail {
			n, rerr := s.r.ReadAt(p[:min(int64(len(p)), avail-s.off)], s.off)
			s.off += int64(n)
			if errors.Is(rerr, io.EOF) {
				rerr = nil // the spool file is longer than avail; a short read only
			}
			return n, rerr
		}
		switch {
		case verified:
			return 0, io.EOF
		case done:
			return 0, err
		}
		select {
		case <-ch:
		case <-s.ctx.Done():
			return 0, s.ctx.Err()
		}
	}
}

// Close releases the reader; the fill goes on.
func (s *Stream) Close() error { return s.r.Close() }
