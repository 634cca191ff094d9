package service

import (
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// maxCopyConcurrency bounds CopyRequest.concurrency: one caller must not be
// able to open hundreds of connections from the server.
const maxCopyConcurrency = 64

// minChunkSize bounds CopyRequest.chunk_size from below: tiny chunks would
// turn one upload into thousands of requests against the registry.
const minChunkSize = 1 << 20

// eventKinds maps the engine's progress kinds to their wire form.
var eventKinds = map[imgcopy.Kind]stevedorev1.CopyEventKind{
	imgcopy.KindBlobStarted:  stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_STARTED,
	imgcopy.KindBlobBytes:    stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_BYTES,
	imgcopy.KindBlobSkipped:  stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_SKIPPED,
	imgcopy.KindBlobDone:     stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_DONE,
	imgcopy.KindImageSkipped: stevedorev1.CopyEventKind_COPY_EVENT_KIND_IMAGE_SKIPPED,
	imgcopy.KindImageDone:    stevedorev1.CopyEventKind_COPY_EVENT_KIND_IMAGE_DONE,
	imgcopy.KindBlobMounted:  stevedorev1.CopyEventKind_COPY_EVENT_KIND_BLOB_MOUNTED,
}

// Copy runs the copy req describes, streaming each progress event as it
// happens and a RESULT event at the end. A slow reader slows the copy rather
// than piling events up in memory: the engine delivers events one at a time
// and waits for each Send.
func (s *ImageServer) Copy(req *stevedorev1.CopyRequest, stream stevedorev1.ImageService_CopyServer) error {
	if err := checkRef(req.GetSource(), false); err != nil {
		return err
	}
	if err := checkRef(req.GetDestination(), false); err != nil {
		return err
	}
	if c := req.GetConcurrency(); c < 0 || c > maxCopyConcurrency {
		return newStatus(codes.InvalidArgument, "", "concurrency must be between 0 (the default, 4) and 64")
	}
	if c := req.GetChunkSize(); c < 0 || (c > 0 && c < minChunkSize) {
		return newStatus(codes.InvalidArgument, "", "chunk_size must be 0 (the default, 64 MiB) or at least 1 MiB")
	}
	var sendErr error
	opts := imgcopy.Options{
		Platform:    req.GetPlatform(),
		Platforms:   req.GetPlatforms(),
		Sparse:      req.GetSparse(),
		Referrers:   req.GetReferrers(),
		Format:      req.GetFormat(),
		Compress:    req.GetCompress(),
		ChunkSize:   req.GetChunkSize(),
		Concurrency: int(req.GetConcurrency()),
		Progress: func(e imgcopy.Event) {
			// After a failed Send the client is gone and the stream's
			// context, which the copy runs under, is cancelled.
			if sendErr == nil {
				sendErr = stream.Send(eventResponse(e))
			}
		},
	}
	res, err := s.eng.Copy(stream.Context(), req.GetSource(), req.GetDestination(), opts)
	if err != nil {
		return copyStatus(err)
	}
	if sendErr != nil {
		return sendErr
	}
	// Both parsed in checkRef and again by the engine.
	src, _ := transport.ParseRef(req.GetSource())
	dst, _ := transport.ParseRef(req.GetDestination())
	return stream.Send(&stevedorev1.CopyResponse{
		Kind: stevedorev1.CopyEventKind_COPY_EVENT_KIND_RESULT,
		Result: &stevedorev1.CopyResult{
			Source:           src.String(),
			Destination:      dst.String(),
			Digest:           res.Digest.String(),
			MediaType:        res.MediaType,
			Size:             res.Size,
			BlobsCopied:      int32(res.BlobsCopied),
			BlobsSkipped:     int32(res.BlobsSkipped),
			ManifestsCopied:  int32(res.ManifestsCopied),
			ManifestsSkipped: int32(res.ManifestsSkipped),
			Bytes:            res.Bytes,
			SourceDigest:     res.SourceDigest.String(),
			BlobsMounted:     int32(res.BlobsMounted),
			Referrers:        int32(res.Referrers),
		},
	})
}

// eventResponse converts a progress event to its wire form.
func eventResponse(e imgcopy.Event) *stevedorev1.CopyResponse {
	d := descriptor(e.Desc)
	if e.Desc.Platform != nil {
		d.Platform = platform(e.Desc.Platform)
	}
	return &stevedorev1.CopyResponse{Kind: eventKinds[e.Kind], Descriptor_: d, Bytes: e.Bytes}
}

// copyStatus converts a copy failure to a status. A failure on one side of
// the copy names the content (a blob or a manifest, which decides the OCI
// code) and carries that side as ErrorInfo metadata "origin"; anything else
// was refused before any I/O, on the caller's references or options.
func copyStatus(err error) error {
	var cerr *imgcopy.Error
	if !errors.As(err, &cerr) {
		return toStatus(err, subjectRepository)
	}
	subj := subjectManifest
	if cerr.Desc.Digest != "" && !oci.IsManifest(cerr.Desc.MediaType) {
		subj = subjectBlob
	}
	st := status.Convert(toStatus(err, subj))
	info := &errdetails.ErrorInfo{Domain: ErrorDomain}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	info.Metadata = map[string]string{"origin": cerr.Origin}
	withInfo, derr := status.New(st.Code(), st.Message()).WithDetails(info)
	if derr != nil {
		return st.Err()
	}
	return withInfo.Err()
}
