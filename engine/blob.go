package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// GetBlob streams the blob ref names by digest (REPO@DIGEST or oci:DIR@DIGEST),
// from offset, length bytes (length <= 0: to the end). A whole read (offset 0,
// length <= 0) is verified: reading to the end fails with an error matching
// errdef.ErrDigestMismatch or errdef.ErrSizeMismatch if the stored bytes are
// corrupt. The returned descriptor carries the blob's full size.
func (e *Engine) GetBlob(ctx context.Context, ref string, offset, length int64) (io.ReadCloser, oci.Descriptor, error) {
	fail := func(r string, err error) (io.ReadCloser, oci.Descriptor, error) {
		return nil, oci.Descriptor{}, &Error{Op: "get-blob", Ref: r, Err: err}
	}
	r, err := transport.ParseRef(ref)
	if err != nil {
		return fail(ref, err)
	}
	d := r.Digest
	if r.Transport == transport.Docker {
		d = r.Image.Digest
	}
	if d == "" {
		return fail(r.String(), fmt.Errorf("a blob is named by digest (REPO@sha256:...): %w", errdef.ErrInvalid))
	}
	if offset < 0 {
		return fail(r.String(), fmt.Errorf("offset %d is negative: %w", offset, errdef.ErrInvalid))
	}
	src, err := e.Open(ctx, r)
	if err != nil {
		return nil, oci.Descriptor{}, err
	}
	desc := oci.Descriptor{Digest: d, Size: -1}
	if st, ok := src.(transport.BlobStatter); ok {
		if desc, err = st.StatBlob(ctx, d); err != nil {
			return fail(r.String(), err)
		}
	}
	if desc.Size >= 0 && offset > desc.Size {
		return fail(r.String(), fmt.Errorf("offset %d is past the end of the %d byte blob: %w", offset, desc.Size, errdef.ErrInvalid))
	}
	var rc io.ReadCloser
	if offset == 0 && length <= 0 {
		rc, err = src.Fetch(ctx, desc)
	} else if rf, ok := src.(transport.RangeFetcher); ok {
		if length <= 0 {
			length = -1
		}
		rc, err = rf.FetchRange(ctx, desc, offset, length)
	} else {
		err = fmt.Errorf("ranged reads from %s: %w", r.Transport, errdef.ErrUnsupported)
	}
	if err != nil {
		return fail(r.String(), err)
	}
	return rc, desc, nil
}
