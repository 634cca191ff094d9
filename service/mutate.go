package service

import (
	"context"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/oci"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// writeResult converts what a modifying RPC wrote to its wire form.
func writeResult(res *engine.WriteResult) *stevedorev1.WriteResult {
	return &stevedorev1.WriteResult{
		Digest:       res.Digest.String(),
		MediaType:    res.MediaType,
		Size:         res.Size,
		Tag:          res.Tag,
		SourceDigest: res.Source.String(),
		Destination:  res.Destination,
	}
}

// Mutate applies the edits req asks for and pushes the new image.
func (s *ImageServer) Mutate(ctx context.Context, req *stevedorev1.MutateRequest) (*stevedorev1.MutateResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	opts, err := mutateOptions(req)
	if err != nil {
		return nil, err
	}
	if opts.To, err = parseOptional("destination", req.GetDestination()); err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).Mutate(ctx, ref, opts)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.MutateResponse{Result: writeResult(res)}, nil
}

// mutateOptions translates a MutateRequest's edits.
func mutateOptions(req *stevedorev1.MutateRequest) (engine.MutateOptions, error) {
	invalid := func(err error) (engine.MutateOptions, error) {
		return engine.MutateOptions{}, newStatus(codes.InvalidArgument, "", err.Error())
	}
	opts := engine.MutateOptions{
		Platforms: req.GetPlatforms(),
		Convert:   req.GetConvert(),
		Config: mutate.Config{
			Env: req.GetEnv(), UnsetEnv: req.GetUnsetEnv(),
			Labels: req.GetLabels(), RemoveLabels: req.GetRemoveLabels(),
			ExposedPorts: req.GetExposedPorts(), RemoveExposedPorts: req.GetRemoveExposedPorts(),
			Volumes: req.GetVolumes(), RemoveVolumes: req.GetRemoveVolumes(),
			User: req.User, WorkingDir: req.WorkingDir,
		},
		Annotations:      mutate.Annotations{Set: req.GetAnnotations(), Remove: req.GetRemoveAnnotations()},
		IndexAnnotations: mutate.IndexAnnotations{Set: req.GetIndexAnnotations(), Remove: req.GetRemoveIndexAnnotations()},
	}
	for _, n := range req.GetRemoveLayers() {
		opts.RemoveLayers = append(opts.RemoveLayers, int(n))
	}
	if req.GetFlatten() {
		opts.Flatten = &mutate.Flatten{}
	}
	if r := req.GetRecompress(); r != "" {
		c, err := layer.ParseCompression(r)
		if err != nil {
			return invalid(err)
		}
		opts.Recompress = c
	}
	if e := req.GetEntrypoint(); e != nil {
		v := append([]string{}, e.GetValues()...)
		opts.Config.Entrypoint = &v
	}
	if e := req.GetCmd(); e != nil {
		v := append([]string{}, e.GetValues()...)
		opts.Config.Cmd = &v
	}
	if p := req.GetSetPlatform(); p != "" {
		plat, err := oci.ParsePlatform(p)
		if err != nil {
			return invalid(err)
		}
		opts.Config.Platform = &plat
	}
	if ts := req.GetCreated(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return invalid(err)
		}
		t := ts.AsTime().UTC()
		opts.Config.Created = &t
	}
	return opts, nil
}

// Rebase moves the image onto a new base.
func (s *ImageServer) Rebase(ctx context.Context, req *stevedorev1.RebaseRequest) (*stevedorev1.RebaseResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	opts := engine.RebaseOptions{Platforms: req.GetPlatforms()}
	if opts.NewBase, err = parseField("new_base", req.GetNewBase(), false); err != nil {
		return nil, err
	}
	if opts.OldBase, err = parseOptional("old_base", req.GetOldBase()); err != nil {
		return nil, err
	}
	if opts.To, err = parseOptional("destination", req.GetDestination()); err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).Rebase(ctx, ref, opts)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.RebaseResponse{Result: writeResult(res)}, nil
}

// CreateIndex builds and pushes an index of the members.
func (s *ImageServer) CreateIndex(ctx context.Context, req *stevedorev1.CreateIndexRequest) (*stevedorev1.CreateIndexResponse, error) {
	to, err := parseField("destination", req.GetDestination(), false)
	if err != nil {
		return nil, err
	}
	members, err := parseFields("members", req.GetMembers())
	if err != nil {
		return nil, err
	}
	opts := engine.IndexOptions{To: to, Docker: req.GetDocker(), Annotations: req.GetAnnotations()}
	res, err := s.engine(ctx).CreateIndex(ctx, members, opts)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.CreateIndexResponse{Result: writeResult(res)}, nil
}

// AddToIndex adds the members to the index and pushes the new index.
func (s *ImageServer) AddToIndex(ctx context.Context, req *stevedorev1.AddToIndexRequest) (*stevedorev1.AddToIndexResponse, error) {
	if len(req.GetMembers()) == 0 {
		return nil, newStatus(codes.InvalidArgument, "", "name at least one member to add")
	}
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	members, err := parseFields("members", req.GetMembers())
	if err != nil {
		return nil, err
	}
	opts := engine.IndexOptions{Annotations: req.GetAnnotations()}
	if opts.To, err = parseOptional("destination", req.GetDestination()); err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).AddToIndex(ctx, ref, members, opts)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.AddToIndexResponse{Result: writeResult(res)}, nil
}

// RemoveFromIndex removes platforms from the index and pushes the new index.
func (s *ImageServer) RemoveFromIndex(ctx context.Context, req *stevedorev1.RemoveFromIndexRequest) (*stevedorev1.RemoveFromIndexResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	opts := engine.IndexOptions{Annotations: req.GetAnnotations()}
	if opts.To, err = parseOptional("destination", req.GetDestination()); err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).RemoveFromIndex(ctx, ref, req.GetPlatforms(), opts)
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.RemoveFromIndexResponse{Result: writeResult(res)}, nil
}

// Tag points more tags at the manifest req.Ref names, in its own repository.
func (s *ImageServer) Tag(ctx context.Context, req *stevedorev1.TagRequest) (*stevedorev1.TagResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	res, err := s.engine(ctx).Tag(ctx, ref, req.GetTags())
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.TagResponse{Result: writeResult(res)}, nil
}

// Untag removes the tag req.Ref names; the manifest stays.
func (s *ImageServer) Untag(ctx context.Context, req *stevedorev1.UntagRequest) (*stevedorev1.UntagResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	if _, err := s.engine(ctx).Untag(ctx, ref); err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.UntagResponse{}, nil
}
