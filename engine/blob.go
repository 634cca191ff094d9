package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// BlobOptions select the part of a blob GetBlob reads, and how.
type BlobOptions struct {
	// Offset is where the read starts; Length how many bytes it reads
	// (<= 0: to the end).
	Offset, Length int64
	// Verify hashes a whole read from the served store too. The store
	// verified every blob when it committed it, so by default its blobs are
	// read as stored, at the speed of the disk; blobs from anywhere else are
	// verified whenever they are read whole. A partial read cannot be
	// verified.
	Verify bool
}

// GetBlob streams the blob ref names by digest (REPO@DIGEST,
// store:REPO@DIGEST or oci:DIR@DIGEST). A whole read is verified as
// BlobOptions.Verify says: reading to the end fails with an error matching
// errdef.ErrDigestMismatch or errdef.ErrSizeMismatch if the bytes are
// corrupt. The returned descriptor carries the blob's full size.
func (e *Engine) GetBlob(ctx context.Context, ref transport.Ref, opts BlobOptions) (io.ReadCloser, oci.Descriptor, error) {
	fail := func(err error) (io.ReadCloser, oci.Descriptor, error) {
		return nil, oci.Descriptor{}, &Error{Op: "get-blob", Ref: ref.String(), Err: err}
	}
	d := ref.Digest
	if ref.IsRepository() {
		d = ref.Image.Digest
	}
	if d == "" {
		return fail(fmt.Errorf("a blob is named by digest (REPO@sha256:...): %w", errdef.ErrInvalid))
	}
	if opts.Offset < 0 {
		return fail(fmt.Errorf("offset %d is negative: %w", opts.Offset, errdef.ErrInvalid))
	}
	_, servedRef, err := e.served(ref)
	if err != nil {
		return fail(err)
	}
	src, err := e.open(ctx, ref)
	if err != nil {
		return fail(err)
	}
	rc, desc, err := e.getBlob(ctx, src, d, opts, servedRef)
	if err != nil {
		closeT(src)
		return fail(err)
	}
	if c, ok := src.(io.Closer); ok {
		rc = closeBoth{rc, c}
	}
	return rc, desc, nil
}

// getBlob opens blob d of src as opts say; trusted means src is the served
// store, whose whole reads need not be hashed again.
func (e *Engine) getBlob(ctx context.Context, src transport.Source, d digest.Digest, opts BlobOptions, trusted bool) (io.ReadCloser, oci.Descriptor, error) {
	desc := oci.Descriptor{Digest: d, Size: -1}
	if st, ok := src.(transport.BlobStatter); ok {
		var err error
		if desc, err = st.StatBlob(ctx, d); err != nil {
			return nil, desc, err
		}
	}
	if desc.Size >= 0 && opts.Offset > desc.Size {
		return nil, desc, fmt.Errorf("offset %d is past the end of the %d byte blob: %w", opts.Offset, desc.Size, errdef.ErrInvalid)
	}
	whole := opts.Offset == 0 && opts.Length <= 0
	rf, ranged := src.(transport.RangeFetcher)
	var rc io.ReadCloser
	var err error
	switch {
	case whole && (opts.Verify || !trusted || !ranged):
		rc, err = src.Fetch(ctx, desc)
	case ranged:
		length := opts.Length
		if length <= 0 {
			length = -1
		}
		rc, err = rf.FetchRange(ctx, desc, opts.Offset, length)
	default:
		err = fmt.Errorf("ranged reads from this source: %w", errdef.ErrUnsupported)
	}
	return rc, desc, err
}

// closeBoth is a stream that also closes the source it came from.
type closeBoth struct {
	io.ReadCloser
	src io.Closer
}

func (c closeBoth) Close() error {
	err := c.ReadCloser.Close()
	if cerr := c.src.Close(); err == nil {
		err = cerr
	}
	return err
}
