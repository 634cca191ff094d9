package service

import (
	"io"
	"sync"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// ChunkSize is the most blob data one GetBlobResponse carries: well under
// gRPC's 4 MiB default message limit, large enough that framing is noise.
const ChunkSize = 1 << 20

// chunkPool recycles the copy buffers so memory stays flat however many
// blobs stream at once or however large they are.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, ChunkSize); return &b }}

// GetBlob streams the blob req.Ref names, from req.Offset for req.Length bytes
// (0: to the end). Each chunk carries its absolute offset; the first also
// carries the blob's total size. Adapting the stream to an io.Writer and
// copying through a pooled buffer is containerd's contentserver Read.
func (s *ImageServer) GetBlob(req *stevedorev1.GetBlobRequest, stream stevedorev1.ImageService_GetBlobServer) error {
	ref, err := parseRef(req.GetRef(), true)
	if err != nil {
		return err
	}
	if req.GetOffset() < 0 || req.GetLength() < 0 {
		return newStatus(codes.InvalidArgument, "", "offset and length must not be negative")
	}
	ctx := stream.Context()
	rc, desc, err := s.engine(ctx).GetBlob(ctx, ref, engine.BlobOptions{Offset: req.GetOffset(), Length: req.GetLength()})
	if err != nil {
		return toStatus(err, subjectBlob)
	}
	defer rc.Close()

	w := &chunkWriter{stream: stream, offset: req.GetOffset(), size: desc.Size}
	buf := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(buf)
	// Hiding rc's WriterTo (an *os.File has one) keeps io.CopyBuffer on our
	// buffer, and so every chunk within ChunkSize.
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{rc}, *buf); err != nil {
		return toStatus(err, subjectBlob)
	}
	if !w.sent {
		// An empty blob or range still answers once, so the client learns the size.
		return w.send(nil)
	}
	return nil
}

// chunkWriter turns each Write into one GetBlobResponse. gRPC marshals the
// message inside Send, so the caller may reuse p as soon as Write returns.
type chunkWriter struct {
	stream stevedorev1.ImageService_GetBlobServer
	offset int64
	size   int64
	sent   bool
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if err := w.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *chunkWriter) send(p []byte) error {
	msg := &stevedorev1.GetBlobResponse{Offset: w.offset, Data: p}
	if !w.sent {
		msg.Size = w.size
	}
	if err := w.stream.Send(msg); err != nil {
		return err
	}
	w.sent = true
	w.offset += int64(len(p))
	return nil
}
