package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	s3api "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/store"
)

// Put stores r as the blob desc describes, verifying digest and size while
// streaming. A negative desc.Size means the size is not known in advance.
// A blob already present is left alone and r is not read.
//
// The bytes go up as a multipart upload to the blob's final key, and
// CompleteMultipartUpload — the moment the object appears, whole — is sent
// only after the verifying reader has seen the last byte and agreed; on any
// failure the upload is aborted, which discards its parts. So a wrong
// digest never becomes visible, each byte crosses the network once, and no
// blob is held in memory. Not a temporary object and a server-side
// CopyObject, because CopyObject stops at 5 GiB and doubles the bytes
// written. Not one PutObject whose last bytes are held back until the
// digest is checked either: S3 creates nothing from a body cut short, but
// versitygw stores what arrived when the connection drops, so a replica
// killed mid-body would leave a partial blob under its digest (the
// KillReplicaMidMonolithicPush integration test catches exactly that).
//
// Each part is streamed with a known Content-Length and signed as
// UNSIGNED-PAYLOAD, because SigV4 would otherwise have to hash (so read, so
// buffer) the part before sending it; the blob digest protects the content
// instead. When desc.Size is unknown, each part is first spooled to a
// temporary file in os.TempDir (at most PartSize bytes on disk per Put),
// since a part's length must be sent before its bytes; a blob that fits in
// one part then needs no multipart upload at all.
//
// S3 multipart upload: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
func (s *Store) Put(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if err := s.put(ctx, desc, r); err != nil {
		return &store.Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	if err := s.addMember(ctx, desc.Digest); err != nil {
		return &store.Error{Op: "put", Digest: desc.Digest, Err: err}
	}
	return nil
}

func (s *Store) put(ctx context.Context, desc oci.Descriptor, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := oci.ValidateDigest(desc.Digest); err != nil {
		return err
	}
	size, err := s.stat(ctx, desc.Digest)
	switch {
	case err == nil:
		// Content addressing makes the stored bytes the right ones; a
		// differing size can only mean the caller's descriptor is wrong.
		if desc.Size >= 0 && size != desc.Size {
			return fmt.Errorf("blob is stored with %d bytes, descriptor says %d: %w", size, desc.Size, errdef.ErrSizeMismatch)
		}
		return nil
	case !errors.Is(err, errdef.ErrNotFound):
		return err
	}
	return s.putNew(ctx, desc.Digest, desc.Size, oci.NewVerifyReader(oci.ContextReader(ctx, r), desc.Digest, desc.Size))
}

// putNew uploads vr, a verifying reader of size bytes (< 0: unknown), as
// the blob of key, which the caller found absent. vr must return io.EOF
// only once it has verified everything it returned.
func (s *Store) putNew(ctx context.Context, d digest.Digest, size int64, vr io.Reader) error {
	key := s.keys.blob(d)
	src := &stickyReader{r: vr}
	if size < 0 {
		return s.putSpooled(ctx, key, src)
	}
	return s.putStreamed(ctx, key, size, src)
}

// maxObjectPut is the largest object one PutObject (or CopyObject) may
// create. https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
const maxObjectPut = 5 << 30

// partSizeFor keeps a blob of size bytes within S3's part count limit.
func (s *Store) partSizeFor(size int64) int64 {
	return max(s.partSize, (size+maxParts-1)/maxParts)
}

// putStreamed uploads size bytes of src straight from the caller's reader.
func (s *Store) putStreamed(ctx context.Context, key string, size int64, src *stickyReader) (err error) {
	if size == 0 {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return err
		}
		return s.putWhole(ctx, key, bytes.NewReader(nil), 0)
	}
	m, err := s.startMultipart(ctx, key)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.abort(ctx)
		}
	}()
	part := s.partSizeFor(size)
	for off := int64(0); off < size; {
		n := min(part, size-off)
		if err := m.upload(ctx, io.LimitReader(src, n), n); err != nil {
			return src.cause(err)
		}
		off += n
	}
	// The verifying reader decides at EOF: read on, so it checks the digest
	// and that nothing follows the declared size.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return err
	}
	return m.complete(ctx)
}

// putSpooled uploads src, of unknown length, one spooled part at a time.
func (s *Store) putSpooled(ctx context.Context, key string, src *stickyReader) (err error) {
	tmp, err := os.CreateTemp("", "stevedore-s3-part-")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	part := s.partSizeFor(-1)
	var m *multipart
	defer func() {
		if err != nil && m != nil {
			m.abort(ctx)
		}
	}()
	for {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := tmp.Truncate(0); err != nil {
			return err
		}
		n, cerr := io.CopyN(tmp, src, part)
		// io.EOF here is the verifying reader's verdict that all is well.
		last := errors.Is(cerr, io.EOF)
		if cerr != nil && !last {
			return cerr
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if last && m == nil {
			// The whole blob fitted in one part and is verified already.
			return s.putWhole(ctx, key, tmp, n)
		}
		if m == nil {
			if m, err = s.startMultipart(ctx, key); err != nil {
				return err
			}
		}
		if n > 0 {
			if err := m.upload(ctx, tmp, n); err != nil {
				return err
			}
		}
		if last {
			return m.complete(ctx)
		}
	}
}

// putWhole creates key from verified bytes in one request. Losing the race
// to another writer is success: content addressing makes its bytes ours.
func (s *Store) putWhole(ctx context.Context, key string, body io.ReadSeeker, n int64) error {
	_, err := s.client.PutObject(ctx, &s3api.PutObjectInput{
		Bucket: &s.bucket, Key: &key, Body: body, ContentLength: aws.Int64(n),
		IfNoneMatch: aws.String("*"),
	}, unsignedPayload)
	if err = classify(err); err != nil && !conflict(err) {
		return err
	}
	return nil
}

// unsignedPayload signs a request without hashing its body first, so the
// body can be a stream read once.
func unsignedPayload(o *s3api.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// noRetry is for requests whose body is a stream: it cannot be rewound, so
// an SDK retry could only fail with a less useful error.
func noRetry(o *s3api.Options) { o.RetryMaxAttempts = 1 }

// multipart is one multipart upload in progress.
type multipart struct {
	s     *Store
	key   string
	id    string
	parts []types.CompletedPart
}

func (s *Store) startMultipart(ctx context.Context, key string) (*multipart, error) {
	out, err := s.client.CreateMultipartUpload(ctx, &s3api.CreateMultipartUploadInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, classify(err)
	}
	return &multipart{s: s, key: key, id: aws.ToString(out.UploadId)}, nil
}

// upload sends the next part, n bytes of body.
func (m *multipart) upload(ctx context.Context, body io.Reader, n int64) error {
	num := int32(len(m.parts) + 1)
	optFns := []func(*s3api.Options){unsignedPayload}
	if _, ok := body.(io.Seeker); !ok {
		optFns = append(optFns, noRetry)
	}
	out, err := m.s.client.UploadPart(ctx, &s3api.UploadPartInput{
		Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id,
		PartNumber: aws.Int32(num), Body: body, ContentLength: aws.Int64(n),
	}, optFns...)
	if err != nil {
		return classify(err)
	}
	m.parts = append(m.parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag})
	return nil
}

// complete makes the object appear. If-None-Match: * keeps an existing blob
// untouched; losing that race is success, as in putWhole.
func (m *multipart) complete(ctx context.Context) error {
	_, err := m.s.client.CompleteMultipartUpload(ctx, &s3api.CompleteMultipartUploadInput{
		Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: m.parts},
		IfNoneMatch:     aws.String("*"),
	})
	if err = classify(err); err != nil && conflict(err) {
		m.abort(ctx)
		return nil
	}
	return err
}

// abort discards the upload's parts. It runs on failure paths, often because
// ctx is done, so it gets a context of its own; an abort that fails leaves
// parts that a bucket lifecycle rule (AbortIncompleteMultipartUpload) or the
// collector removes, never a visible object.
func (m *multipart) abort(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, _ = m.s.client.AbortMultipartUpload(ctx, &s3api.AbortMultipartUploadInput{Bucket: &m.s.bucket, Key: &m.key, UploadId: &m.id})
}

// stickyReader remembers the first error its reader returned other than
// io.EOF. When a request fails while streaming it, that error (a digest
// mismatch, the client's connection dropping, cancellation) is the cause,
// not whatever the HTTP client made of the aborted body.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// cause returns the reader's error if there was one, else err.
func (s *stickyReader) cause(err error) error {
	if s.err != nil {
		return s.err
	}
	return err
}
