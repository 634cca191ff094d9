package stevedoreclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// Resume policy for a dropped GetBlob stream. Every chunk that arrives resets
// the count, so a long download survives any number of drops as long as each
// reconnect makes progress.
var (
	maxFailures  = 5                      // consecutive failed attempts before giving up
	firstBackoff = 100 * time.Millisecond // wait before the 2nd consecutive attempt; doubles
	maxBackoff   = 2 * time.Second
)

// OpenBlob streams the blob ref names by digest (`REPO@sha256:...` or
// `oci:/DIR@sha256:...`) as an io.Reader. The first chunk is awaited before
// OpenBlob returns, so a missing blob fails here (errdef.ErrNotFound).
//
// A stream that drops (Unavailable, or an end before the blob's size) is
// re-opened with GetBlob's offset at the first byte not yet received, so the
// reader yields each byte once. At EOF the reader has checked every byte
// against the digest and size (oci.NewVerifyReader): corrupt or truncated
// content fails the last Read with errdef.ErrDigestMismatch or
// errdef.ErrSizeMismatch instead of io.EOF. Close cancels the stream.
func (c *Client) OpenBlob(ctx context.Context, ref string) (io.ReadCloser, error) {
	d, err := blobDigest(ref)
	if err != nil {
		return nil, err
	}
	b := &blobStream{ctx: ctx, c: c, ref: ref, size: -1}
	if err := b.open(); err != nil {
		return nil, err
	}
	// The first message carries the size; read it now so that errors surface
	// from OpenBlob and the verifier knows what length to expect.
	msg, err := b.stream.Recv()
	if err != nil {
		b.Close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("stevedoreclient: GetBlob %s: empty stream: %w", ref, errdef.ErrSizeMismatch)
		}
		return nil, FromStatus(err)
	}
	b.size = msg.GetSize()
	if err := b.take(msg); err != nil {
		b.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{oci.NewVerifyReader(b, d, b.size), b}, nil
}

// blobDigest is the digest part of a blob reference.
func blobDigest(ref string) (digest.Digest, error) {
	i := strings.LastIndexByte(ref, '@')
	if i < 0 {
		return "", fmt.Errorf("stevedoreclient: blob reference %q names no digest (REPO@sha256:...): %w", ref, errdef.ErrInvalid)
	}
	d := digest.Digest(ref[i+1:])
	if err := oci.ValidateDigest(d); err != nil {
		return "", fmt.Errorf("stevedoreclient: blob reference %q: %w", ref, err)
	}
	return d, nil
}

// blobStream reads GetBlob chunks in order across reconnects.
type blobStream struct {
	ctx  context.Context
	c    *Client
	ref  string
	size int64 // total, from the first chunk; -1 unknown

	stream   grpc.ServerStreamingClient[stevedorev1.GetBlobResponse] // nil between attempts
	cancel   context.CancelFunc                                      // ends stream
	next     int64                                                   // offset of the next byte to receive
	pending  []byte                                                  // received, not yet read
	chunk    []byte                                                  // the buffer chunks are decoded into
	failures int                                                     // consecutive failed attempts
	err      error                                                   // sticky
}

func (b *blobStream) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.err = b.fill()
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// Close ends the stream; later Reads fail.
func (b *blobStream) Close() error {
	b.drop()
	if b.err == nil {
		b.err = errors.New("stevedoreclient: read of closed blob")
	}
	return nil
}

// fill receives the next chunk, reconnecting as the resume policy allows.
// It returns nil when it made progress or may retry, and the final error
// (io.EOF at the end) otherwise.
func (b *blobStream) fill() error {
	// A cancelled read fails even when the whole blob already sits in
	// gRPC's buffers (Recv would still hand it out).
	if err := b.ctx.Err(); err != nil {
		b.drop()
		return err
	}
	if b.stream == nil {
		if err := b.open(); err != nil {
			return b.retry(err)
		}
	}
	msg, err := b.stream.Recv()
	if err == nil {
		return b.take(msg)
	}
	if errors.Is(err, io.EOF) {
		if b.size < 0 || b.next >= b.size {
			b.drop()
			return io.EOF
		}
		err = status.Errorf(codes.Unavailable, "stream ended at byte %d of %d", b.next, b.size)
	}
	return b.retry(err)
}

// take queues msg's data, which must start where the last chunk ended.
func (b *blobStream) take(msg *stevedorev1.GetBlobResponse) error {
	if msg.GetOffset() != b.next {
		b.drop()
		return fmt.Errorf("stevedoreclient: GetBlob %s: chunk at offset %d, want %d: %w", b.ref, msg.GetOffset(), b.next, errdef.ErrInvalid)
	}
	if len(msg.GetData()) > 0 {
		b.failures = 0
	}
	b.pending = msg.GetData()
	b.next += int64(len(b.pending))
	return nil
}

// retry decides whether err ends the read. Only Unavailable — what gRPC
// reports for a lost connection, a server going away, or a stream cut short —
// is retried; the caller's cancellation never is.
func (b *blobStream) retry(err error) error {
	b.drop()
	if b.ctx.Err() != nil {
		return FromStatus(status.FromContextError(b.ctx.Err()).Err())
	}
	if status.Code(err) != codes.Unavailable || b.failures >= maxFailures {
		return FromStatus(err)
	}
	if b.failures > 0 {
		wait := min(firstBackoff<<(b.failures-1), maxBackoff)
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-b.ctx.Done():
			return FromStatus(status.FromContextError(b.ctx.Err()).Err())
		}
	}
	b.failures++
	return nil
}

// open starts a GetBlob stream at b.next.
func (b *blobStream) open() error {
	ctx, cancel := context.WithCancel(b.ctx)
	// Each chunk is decoded into the same buffer: Read hands out all of one
	// chunk before the next is received.
	s, err := b.c.Images.GetBlob(ctx, &stevedorev1.GetBlobRequest{Ref: b.ref, Offset: b.next}, BlobChunksInto(&b.chunk))
	if err != nil {
		cancel()
		return FromStatus(err)
	}
	b.stream, b.cancel = s, cancel
	return nil
}

// drop releases the current stream, if any.
func (b *blobStream) drop() {
	if b.cancel != nil {
		b.cancel()
	}
	b.stream, b.cancel = nil, nil
}
