package service

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/transport"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// openImage checks ref and opens it for reading, named as people know it
// (recorded by Rebase in the base annotations).
func (s *ImageServer) openImage(ctx context.Context, ref string) (mutate.Image, transport.Ref, error) {
	src, id, err := s.openSource(ctx, ref)
	if err != nil {
		return mutate.Image{}, transport.Ref{}, err
	}
	r, _ := transport.ParseRef(ref) // checked by openSource
	name := r.String()
	if r.Transport == transport.Docker {
		name = r.Image.String()
	}
	return mutate.Image{Src: src, Ref: id, Name: name}, r, nil
}

// target is where a modifying RPC writes, and the tag it sets there.
type target struct {
	dst transport.Target
	ref transport.Ref
	tag string
}

// openTarget opens dest for writing or, when dest is empty, src's own
// repository and tag. A destination naming a digest is refused (the content
// decides the digest), and so is writing back into an archive, which would
// replace it whole.
func (s *ImageServer) openTarget(ctx context.Context, src transport.Ref, dest string) (*target, error) {
	dr := src
	if dest != "" {
		if err := checkRef(dest, false); err != nil {
			return nil, err
		}
		dr, _ = transport.ParseRef(dest)
		if dr.Digest != "" || dr.Image.Digest != "" {
			return nil, newStatus(codes.InvalidArgument, codeNameInvalid, "destination "+dest+" names a digest; name a tag or nothing")
		}
	} else if src.Transport == transport.OCIArchive || src.Transport == transport.DockerArchive {
		return nil, newStatus(codes.InvalidArgument, "", "writing "+src.String()+" would replace the archive; name a destination")
	}
	tag := dr.TagName()
	dst, err := s.engine(ctx).OpenTarget(ctx, dr)
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	return &target{dst: dst, ref: dr, tag: tag}, nil
}

// run runs write against t and publishes the result: an archive target
// (a transport.Committer) is committed on success and aborted on failure,
// so a failed write leaves no partial archive behind.
func (t *target) run(ctx context.Context, write func() (*mutate.Result, error)) (*stevedorev1.WriteResult, error) {
	res, err := write()
	if c, ok := t.dst.(transport.Committer); ok {
		if err != nil {
			_ = c.Abort()
		} else {
			err = c.Commit(ctx)
		}
	}
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.WriteResult{
		Digest:       res.Digest.String(),
		MediaType:    res.MediaType,
		Size:         res.Size,
		Tag:          res.Tag,
		SourceDigest: res.Source.String(),
		Destination:  t.ref.String(),
	}, nil
}

// Mutate applies the edits req asks for and pushes the new image.
func (s *ImageServer) Mutate(ctx context.Context, req *stevedorev1.MutateRequest) (*stevedorev1.MutateResponse, error) {
	steps, err := mutateSteps(req)
	if err != nil {
		return nil, err
	}
	img, r, err := s.openImage(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	t, err := s.openTarget(ctx, r, req.GetDestination())
	if err != nil {
		return nil, err
	}
	res, err := t.run(ctx, func() (*mutate.Result, error) {
		return mutate.Apply(ctx, img, t.dst, t.tag, mutate.Options{Platforms: req.GetPlatforms()}, steps...)
	})
	if err != nil {
		return nil, err
	}
	return &stevedorev1.MutateResponse{Result: res}, nil
}

// mutateSteps turns a MutateRequest into engine steps, in the documented
// order: remove layers, flatten, recompress, convert, config, annotations,
// index annotations.
func mutateSteps(req *stevedorev1.MutateRequest) ([]mutate.Step, error) {
	invalid := func(err error) ([]mutate.Step, error) { return nil, newStatus(codes.InvalidArgument, "", err.Error()) }
	var steps []mutate.Step
	if rl := req.GetRemoveLayers(); len(rl) > 0 {
		idx := make([]int, len(rl))
		for i, n := range rl {
			idx[i] = int(n)
		}
		steps = append(steps, mutate.RemoveLayers{Indexes: idx})
	}
	var comp layer.Compression
	if req.GetRecompress() != "" || req.GetFlatten() {
		c, err := layer.ParseCompression(req.GetRecompress())
		if err != nil {
			return invalid(err)
		}
		comp = c
	}
	switch {
	case req.GetFlatten():
		// The one new layer is compressed as asked; nothing is left to recompress.
		steps = append(steps, mutate.Flatten{Compression: comp})
	case req.GetRecompress() != "":
		steps = append(steps, mutate.Recompress{To: comp})
	}
	switch req.GetConvert() {
	case "":
	case mutate.FormatOCI, mutate.FormatDocker:
		steps = append(steps, mutate.Convert{To: req.GetConvert()})
	default:
		return invalid(fmt.Errorf("convert %q: want oci or docker", req.GetConvert()))
	}
	c := mutate.Config{
		Env: req.GetEnv(), UnsetEnv: req.GetUnsetEnv(),
		Labels: req.GetLabels(), RemoveLabels: req.GetRemoveLabels(),
		ExposedPorts: req.GetExposedPorts(), RemoveExposedPorts: req.GetRemoveExposedPorts(),
		Volumes: req.GetVolumes(), RemoveVolumes: req.GetRemoveVolumes(),
	}
	if e := req.GetEntrypoint(); e != nil {
		v := append([]string{}, e.GetValues()...)
		c.Entrypoint = &v
	}
	if e := req.GetCmd(); e != nil {
		v := append([]string{}, e.GetValues()...)
		c.Cmd = &v
	}
	if req.User != nil {
		c.User = req.User
	}
	if req.WorkingDir != nil {
		c.WorkingDir = req.WorkingDir
	}
	if p := req.GetSetPlatform(); p != "" {
		plat, err := mutate.ParsePlatform(p)
		if err != nil {
			return invalid(err)
		}
		c.Platform = plat
	}
	if ts := req.GetCreated(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return invalid(err)
		}
		t := ts.AsTime().UTC()
		c.Created = &t
	}
	if len(c.Env)+len(c.UnsetEnv)+len(c.Labels)+len(c.RemoveLabels)+len(c.ExposedPorts)+len(c.RemoveExposedPorts)+len(c.Volumes)+len(c.RemoveVolumes) > 0 ||
		c.Entrypoint != nil || c.Cmd != nil || c.User != nil || c.WorkingDir != nil || c.Platform != nil || c.Created != nil {
		steps = append(steps, c)
	}
	if len(req.GetAnnotations()) > 0 || len(req.GetRemoveAnnotations()) > 0 {
		steps = append(steps, mutate.Annotations{Set: req.GetAnnotations(), Remove: req.GetRemoveAnnotations()})
	}
	if len(req.GetIndexAnnotations()) > 0 || len(req.GetRemoveIndexAnnotations()) > 0 {
		steps = append(steps, mutate.IndexAnnotations{Set: req.GetIndexAnnotations(), Remove: req.GetRemoveIndexAnnotations()})
	}
	if len(steps) == 0 {
		return invalid(fmt.Errorf("no edit given"))
	}
	return steps, nil
}

// Rebase moves the image onto a new base.
func (s *ImageServer) Rebase(ctx context.Context, req *stevedorev1.RebaseRequest) (*stevedorev1.RebaseResponse, error) {
	if req.GetNewBase() == "" {
		return nil, newStatus(codes.InvalidArgument, "", "new_base is required")
	}
	img, r, err := s.openImage(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	oldRef := req.GetOldBase()
	if oldRef == "" {
		m, err := s.engine(ctx).GetManifest(ctx, r)
		if err != nil {
			return nil, toStatus(err, subjectManifest)
		}
		name, dgst := m.Annotations[mutate.AnnotationBaseName], m.Annotations[mutate.AnnotationBaseDigest]
		if name == "" || dgst == "" {
			return nil, newStatus(codes.FailedPrecondition, "", req.GetRef()+" records no base ("+mutate.AnnotationBaseName+" and "+mutate.AnnotationBaseDigest+" annotations); name old_base")
		}
		oldRef = name + "@" + dgst
	}
	oldBase, _, err := s.openImage(ctx, oldRef)
	if err != nil {
		return nil, err
	}
	newBase, _, err := s.openImage(ctx, req.GetNewBase())
	if err != nil {
		return nil, err
	}
	t, err := s.openTarget(ctx, r, req.GetDestination())
	if err != nil {
		return nil, err
	}
	res, err := t.run(ctx, func() (*mutate.Result, error) {
		return mutate.Apply(ctx, img, t.dst, t.tag, mutate.Options{Platforms: req.GetPlatforms()}, mutate.Rebase{OldBase: oldBase, NewBase: newBase})
	})
	if err != nil {
		return nil, err
	}
	return &stevedorev1.RebaseResponse{Result: res}, nil
}

// openMembers opens the manifests an index RPC lists.
func (s *ImageServer) openMembers(ctx context.Context, refs []string) ([]mutate.Image, error) {
	var members []mutate.Image
	for _, ref := range refs {
		img, _, err := s.openImage(ctx, ref)
		if err != nil {
			return nil, err
		}
		members = append(members, img)
	}
	return members, nil
}

// CreateIndex builds and pushes an index of the members.
func (s *ImageServer) CreateIndex(ctx context.Context, req *stevedorev1.CreateIndexRequest) (*stevedorev1.CreateIndexResponse, error) {
	if req.GetDestination() == "" {
		return nil, newStatus(codes.InvalidArgument, "", "destination is required")
	}
	if len(req.GetMembers()) == 0 {
		return nil, newStatus(codes.InvalidArgument, "", "an index needs at least one member")
	}
	members, err := s.openMembers(ctx, req.GetMembers())
	if err != nil {
		return nil, err
	}
	t, err := s.openTarget(ctx, transport.Ref{}, req.GetDestination())
	if err != nil {
		return nil, err
	}
	opts := mutate.IndexOptions{Docker: req.GetDocker(), Annotations: req.GetAnnotations()}
	res, err := t.run(ctx, func() (*mutate.Result, error) { return mutate.CreateIndex(ctx, members, t.dst, t.tag, opts) })
	if err != nil {
		return nil, err
	}
	return &stevedorev1.CreateIndexResponse{Result: res}, nil
}

// AddToIndex adds the members to the index and pushes the new index.
func (s *ImageServer) AddToIndex(ctx context.Context, req *stevedorev1.AddToIndexRequest) (*stevedorev1.AddToIndexResponse, error) {
	if len(req.GetMembers()) == 0 {
		return nil, newStatus(codes.InvalidArgument, "", "name at least one member to add")
	}
	idx, r, err := s.openImage(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	members, err := s.openMembers(ctx, req.GetMembers())
	if err != nil {
		return nil, err
	}
	t, err := s.openTarget(ctx, r, req.GetDestination())
	if err != nil {
		return nil, err
	}
	opts := mutate.IndexOptions{Annotations: req.GetAnnotations()}
	res, err := t.run(ctx, func() (*mutate.Result, error) { return mutate.AddToIndex(ctx, idx, members, t.dst, t.tag, opts) })
	if err != nil {
		return nil, err
	}
	return &stevedorev1.AddToIndexResponse{Result: res}, nil
}

// RemoveFromIndex removes platforms from the index and pushes the new index.
func (s *ImageServer) RemoveFromIndex(ctx context.Context, req *stevedorev1.RemoveFromIndexRequest) (*stevedorev1.RemoveFromIndexResponse, error) {
	idx, r, err := s.openImage(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	t, err := s.openTarget(ctx, r, req.GetDestination())
	if err != nil {
		return nil, err
	}
	opts := mutate.IndexOptions{Annotations: req.GetAnnotations()}
	res, err := t.run(ctx, func() (*mutate.Result, error) {
		return mutate.RemoveFromIndex(ctx, idx, req.GetPlatforms(), t.dst, t.tag, opts)
	})
	if err != nil {
		return nil, err
	}
	return &stevedorev1.RemoveFromIndexResponse{Result: res}, nil
}

// Tag points more tags at the manifest req.Ref names, in its own repository.
func (s *ImageServer) Tag(ctx context.Context, req *stevedorev1.TagRequest) (*stevedorev1.TagResponse, error) {
	img, r, err := s.openImage(ctx, req.GetRef())
	if err != nil {
		return nil, err
	}
	if r.Transport == transport.OCIArchive || r.Transport == transport.DockerArchive {
		return nil, newStatus(codes.Unimplemented, codeUnsupported, "tagging inside "+r.Transport+" (copy to a new archive instead)")
	}
	dst, err := s.engine(ctx).OpenTarget(ctx, r)
	if err != nil {
		return nil, toStatus(err, subjectRepository)
	}
	t := &target{dst: dst, ref: r}
	res, err := t.run(ctx, func() (*mutate.Result, error) { return mutate.Tag(ctx, img, dst, req.GetTags()) })
	if err != nil {
		return nil, err
	}
	return &stevedorev1.TagResponse{Result: res}, nil
}

// Untag removes the tag req.Ref names; the manifest stays. It is the
// engine's tag-only delete: the served store wants the delete right, and
// deletes may be disabled there.
func (s *ImageServer) Untag(ctx context.Context, req *stevedorev1.UntagRequest) (*stevedorev1.UntagResponse, error) {
	r, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	if r.TagName() == "" || r.Digest != "" || r.Image.Digest != "" {
		return nil, newStatus(codes.InvalidArgument, codeNameInvalid, "untag needs ref to name a tag: "+req.GetRef())
	}
	if _, err := s.engine(ctx).Delete(ctx, r, engine.DeleteOptions{TagOnly: true}); err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.UntagResponse{}, nil
}
