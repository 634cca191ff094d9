package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Stat returns the size of the blob d. A Store of one repository (Repo)
// sees only the blobs that repository holds.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	n, err := s.statMember(ctx, d)
	if err != nil {
		return 0, &store.Error{Op: "stat", Digest: d, Err: err}
	}
	return n, nil
}

func (s *Store) stat(ctx context.Context, d digest.Digest) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := oci.ValidateDigest(d); err != nil {
		return 0, err
	}
	key := s.keys.blob(d)
	out, err := s.client.HeadObject(ctx, &s3api.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return 0, fmt.Errorf("blob: %w", classify(err))
	}
	if out.ContentLength == nil {
		return 0, fmt.Errorf("blob: HEAD %s gave no Content-Length: %w", key, errdef.ErrUnavailable)
	}
	return *out.ContentLength, nil
}

// Open returns the blob d, unverified, and its size. The reader fetches
// lazily with ranged GETs: Seek only records the offset, and the next Read
// opens one GET from there to the end and streams its body, so serving an
// HTTP Range costs one request and nothing is buffered. ctx bounds the
// reader's requests too.
//
// RFC 9110 §14.1.2 (byte ranges): https://www.rfc-editor.org/rfc/rfc9110#section-14.1.2
func (s *Store) Open(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, int64, error) {
	size, err := s.statMember(ctx, d)
	if err != nil {
		return nil, 0, &store.Error{Op: "open", Digest: d, Err: err}
	}
	return &blobReader{ctx: ctx, s: s, d: d, key: s.keys.blob(d), size: size}, size, nil
}

// blobReader is the io.ReadSeekCloser Open returns.
type blobReader struct {
	ctx  context.Context
	s    *Store
	d    digest.Digest
	key  string
	size int64
	off  int64
	body io.ReadCloser // the open GET from off, nil until a Read needs one
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil {
		rng := "bytes=" + strconv.FormatInt(r.off, 10) + "-"
		out, err := r.s.client.GetObject(r.ctx, &s3api.GetObjectInput{Bucket: &r.s.bucket, Key: &r.key, Range: &rng})
		if err != nil {
			return 0, &store.Error{Op: "read", Digest: r.d, Err: classify(err)}
		}
		r.body = out.Body
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	if errors.Is(err, io.EOF) {
		r.body.Close()
		r.body = nil
		if r.off < r.size {
			// The object shrank or the connection ended cleanly too early.
			return n, &store.Error{Op: "read", Digest: r.d, Err: io.ErrUnexpectedEOF}
		}
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	if err != nil {
		return n, &store.Error{Op: "read", Digest: r.d, Err: classify(err)}
	}
	return n, nil
}

// Seek moves the offset without I/O; an open body is dropped when the offset
// changes, and the next Read starts a new ranged GET.
func (r *blobReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("seek: whence %d: %w", whence, errdef.ErrInvalid)
	}
	if abs < 0 {
		return 0, fmt.Errorf("seek to %d: negative offset: %w", abs, errdef.ErrInvalid)
	}
	if abs != r.off && r.body != nil {
		r.body.Close()
		r.body = nil
	}
	r.off = abs
	return abs, nil
}

func (r *blobReader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
