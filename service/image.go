package service

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// ImageServer implements stevedore.v1.ImageService over an engine. It holds
// no state of its own: every call opens what it needs through the engine.
type ImageServer struct {
	stevedorev1.UnimplementedImageServiceServer
	eng *engine.Engine
	// signing, when set (WithSigning), lends Copy and Mirror the server's
	// key directory: policy keys by id and sign-during-copy.
	signing *SignServer
	// syncJobs and retention, when set (WithScheduled), are what the
	// server runs on its own.
	syncJobs  SyncJobs
	retention Retention
}

var _ stevedorev1.ImageServiceServer = (*ImageServer)(nil)

// NewImageServer returns an ImageServer backed by eng.
func NewImageServer(eng *engine.Engine) *ImageServer {
	return &ImageServer{eng: eng}
}

// engine is the server's engine acting as the RPC's caller.
func (s *ImageServer) engine(ctx context.Context) *engine.Engine { return engineFor(ctx, s.eng) }

// Inspect describes the image req.Ref names.
func (s *ImageServer) Inspect(ctx context.Context, req *stevedorev1.InspectRequest) (*stevedorev1.InspectResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	info, err := s.engine(ctx).Inspect(ctx, ref, engine.InspectOptions{Platform: req.GetPlatform()})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return InspectResponse(info), nil
}

// GetManifest returns the manifest req.Ref names, byte for byte.
func (s *ImageServer) GetManifest(ctx context.Context, req *stevedorev1.GetManifestRequest) (*stevedorev1.GetManifestResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	m, err := s.engine(ctx).GetManifest(ctx, ref)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.GetManifestResponse{Digest: m.Digest.String(), MediaType: m.MediaType, Raw: m.Raw}, nil
}

// ListTags lists the tags of req.Repository.
func (s *ImageServer) ListTags(ctx context.Context, req *stevedorev1.ListTagsRequest) (*stevedorev1.ListTagsResponse, error) {
	ref, err := parseRef(req.GetRepository(), false)
	if err != nil {
		return nil, err
	}
	tags, err := s.engine(ctx).ListTags(ctx, ref)
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	return &stevedorev1.ListTagsResponse{Tags: tags}, nil
}
