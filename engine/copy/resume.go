package copy

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	"github.com/stevedore-dev/stevedore/engine/transport/layout"
)

// maxSourceResumes bounds how often one blob's source stream is reopened
// after breaking off mid-blob.
const maxSourceResumes = 4

// resumingReader reads a blob through ranged requests and, when the
// connection breaks off mid-blob, reopens it at the byte where it stopped,
// so the target never sees the source's hiccup (a half-sent upload could
// not be continued by every registry). Its bytes are unverified: callers
// wrap it in a verifier or hand it to a target that verifies.
type resumingReader struct {
	ctx     context.Context
	open    func(ctx context.Context, offset int64) (io.ReadCloser, error)
	rc      io.ReadCloser
	off     int64 // bytes delivered so far
	size    int64
	resumes int
}

func newResumingReader(ctx context.Context, rf transport.RangeFetcher, desc oci.Descriptor, offset int64) (*resumingReader, error) {
	r := &resumingReader{
		ctx:  ctx,
		open: func(ctx context.Context, off int64) (io.ReadCloser, error) { return rf.FetchRange(ctx, desc, off, -1) },
		off:  offset,
		size: desc.Size,
	}
	rc, err := r.open(ctx, offset)
	if err != nil {
		return nil, err
	}
	r.rc = rc
	return r, nil
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		n, err := r.rc.Read(p)
		r.off += int64(n)
		if err == io.EOF && r.off < r.size {
			err = io.ErrUnexpectedEOF // the body ended before the blob did
		}
		if err == nil || err == io.EOF || n > 0 {
			// Deliver what arrived; a broken body fails again on the next Read.
			if err != nil && err != io.EOF {
				err = nil
			}
			return n, err
		}
		var ve *oci.VerifyError
		if r.resumes >= maxSourceResumes || r.ctx.Err() != nil || errors.As(err, &ve) {
			return 0, err
		}
		r.resumes++
		r.rc.Close()
		select {
		case <-time.After(time.Duration(r.resumes) * 200 * time.Millisecond):
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
		rc, oerr := r.open(r.ctx, r.off)
		if oerr != nil {
			return 0, errors.Join(err, oerr)
		}
		r.rc = rc
	}
}

func (r *resumingReader) Close() error { return r.rc.Close() }

// openSource opens desc at the source from offset. A remote source that can
// serve ranges is read through a resumingReader; a whole read from offset 0
// is then verified here unless the target verifies what it stores (raw).
// Local sources (layouts, archives) cannot break off and are read as they are.
func (c *copier) openSource(ctx context.Context, desc oci.Descriptor, offset int64, raw bool) (io.ReadCloser, error) {
	rf, ok := c.src.(transport.RangeFetcher)
	if _, local := c.src.(*layout.Layout); !ok || local || hostOf(c.src) == "" || desc.Size <= 0 {
		if offset > 0 && ok {
			return rf.FetchRange(ctx, desc, offset, -1)
		}
		rc, err := c.src.Fetch(ctx, desc)
		if err == nil && offset > 0 {
			if _, err = io.CopyN(io.Discard, rc, offset); err != nil {
				rc.Close()
				return nil, err
			}
		}
		return rc, err
	}
	rr, err := newResumingReader(ctx, rf, desc, offset)
	if err != nil {
		return nil, err
	}
	if raw || offset > 0 {
		return rr, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{oci.NewVerifyReader(rr, desc.Digest, desc.Size), rr}, nil
}
