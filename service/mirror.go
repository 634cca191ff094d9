package service

import (
	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine/mirror"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// maxMirrorConfig bounds MirrorRequest.config: a config lists repositories
// and filters, not data.
const maxMirrorConfig = 1 << 20

// Mirror runs the mirror job req's YAML config describes, streaming each
// image's outcome as it finishes and the summary last. Image failures are
// reported in the stream, not as the status: the job keeps going, and the
// caller reads `summary.failed`. Like Copy, a slow reader slows the run
// rather than piling messages up: the engine reports one image at a time
// and waits for each Send.
func (s *ImageServer) Mirror(req *stevedorev1.MirrorRequest, stream stevedorev1.ImageService_MirrorServer) error {
	if len(req.GetConfig()) > maxMirrorConfig {
		return newStatus(codes.InvalidArgument, "", "config is larger than 1 MiB")
	}
	if c := req.GetConcurrency(); c < 0 || c > maxCopyConcurrency {
		return newStatus(codes.InvalidArgument, "", "concurrency must be between 0 (the config's) and 64")
	}
	cfg, err := mirror.ParseConfig([]byte(req.GetConfig()))
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return toStatus(err, subjectRepository)
	}
	if cfg.VerifyPolicy != "" {
		// A path would have the server read its own files for a caller.
		return newStatus(codes.InvalidArgument, "", "the config's verifyPolicy names a file; send the policy itself in verify_policy")
	}
	pol, err := s.requestPolicy(req.GetVerifyPolicy(), req.GetPolicyKeys())
	if err != nil {
		return err
	}
	var sendErr error
	opts := mirror.Options{
		Policy:      pol,
		DryRun:      req.GetDryRun(),
		Concurrency: int(req.GetConcurrency()),
		Progress: func(im mirror.ImageReport) {
			// After a failed Send the client is gone and the stream's
			// context, which the run uses, is cancelled.
			if sendErr == nil {
				sendErr = stream.Send(&stevedorev1.MirrorResponse{Image: mirrorImage(im)})
			}
		},
	}
	rep, err := mirror.Run(stream.Context(), s.engine(stream.Context()), cfg, opts)
	if err != nil {
		return toStatus(err, subjectRepository)
	}
	if sendErr != nil {
		return sendErr
	}
	return stream.Send(&stevedorev1.MirrorResponse{Summary: mirrorSummary(rep)})
}

// mirrorImage converts one image's report to its wire form.
func mirrorImage(im mirror.ImageReport) *stevedorev1.MirrorImage {
	out := &stevedorev1.MirrorImage{
		Source:         im.Source,
		SourceDigest:   im.SourceDigest.String(),
		Destination:    im.Destination,
		PreviousDigest: im.PreviousDigest.String(),
		Action:         im.Action,
		Reason:         im.Reason,
		Bytes:          im.Bytes,
		BlobsCopied:    int32(im.BlobsCopied),
		BlobsSkipped:   int32(im.BlobsSkipped),
		BlobsMounted:   int32(im.BlobsMounted),
		Referrers:      int32(im.Referrers),
		Note:           im.Note,
		Seconds:        im.Seconds,
	}
	if e := im.Error; e != nil {
		out.ErrorCode, out.RegistryCode, out.ErrorOrigin, out.ErrorMessage = e.Code, e.RegistryCode, e.Origin, e.Message
	}
	return out
}
