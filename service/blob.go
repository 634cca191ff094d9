package service

import (
	"io"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// ChunkSize is the most blob data one GetBlobResponse carries: well under
// gRPC's 4 MiB default message limit (which the Python and TypeScript
// clients keep), large enough that framing is noise.
const ChunkSize = 1 << 20

// GetBlob streams the blob req.Ref names, from req.Offset for req.Length bytes
// (0: to the end). Each chunk carries its absolute offset; the first also
// carries the blob's total size. Chunks are read from the store into gRPC's
// own buffers and sent without another copy (blobcodec.go).
func (s *ImageServer) GetBlob(req *stevedorev1.GetBlobRequest, stream stevedorev1.ImageService_GetBlobServer) error {
	ref, err := parseRef(req.GetRef(), true)
	if err != nil {
		return err
	}
	if req.GetOffset() < 0 || req.GetLength() < 0 {
		return newStatus(codes.InvalidArgument, "", "offset and length must not be negative")
	}
	ctx := stream.Context()
	rc, desc, err := s.engine(ctx).GetBlob(ctx, ref, engine.BlobOptions{Offset: req.GetOffset(), Length: req.GetLength(), Verify: req.GetVerify()})
	if err != nil {
		return toStatus(err, subjectBlob)
	}
	defer rc.Close()
	offset := req.GetOffset()
	for first := true; ; first = false {
		data, err := readChunk(rc)
		if err == io.EOF {
			if first {
				// An empty blob or range still answers once, so the client learns the size.
				return stream.SendMsg(encodeChunk(offset, nil, desc.Size, true))
			}
			return nil
		}
		if err != nil {
			if data != nil {
				data.Free()
			}
			return toStatus(err, subjectBlob)
		}
		n := int64(data.Len())
		if err := stream.SendMsg(encodeChunk(offset, data, desc.Size, first)); err != nil {
			return err
		}
		offset += n
	}
}
