package service

import (
	"io"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine"
	"github.com/stevedore-dev/stevedore/engine/build"
	"github.com/stevedore-dev/stevedore/engine/layer"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// Append adds the streamed tar as a layer on the image req.Ref names (or on
// scratch) and pushes the result. The stream is handed to the engine as a
// reader, which spools the layer once while compressing and hashing it:
// nothing is held in memory and nothing is spooled twice.
func (s *ImageServer) Append(stream stevedorev1.ImageService_AppendServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err == io.EOF {
		return newStatus(codes.InvalidArgument, "", "empty stream: the first message names the destination")
	}
	if err != nil {
		return err
	}
	to, err := parseField("destination", first.GetDestination(), false)
	if err != nil {
		return err
	}
	ref, err := parseOptional("ref", first.GetRef())
	if err != nil {
		return err
	}
	comp, err := layer.ParseCompression(first.GetCompression())
	if err != nil {
		return newStatus(codes.InvalidArgument, "", err.Error())
	}
	opts := build.Options{
		Layers: []build.Input{{Reader: &recvReader{pending: first.GetData(), recv: stream.Recv}}},
		Config: build.Config{
			Env: first.GetEnv(), Entrypoint: first.GetEntrypoint(), Cmd: first.GetCmd(),
			WorkingDir: first.GetWorkingDir(), User: first.GetUser(),
			Labels: first.GetLabels(), ExposedPorts: first.GetExposedPorts(),
		},
		Platform:     first.GetPlatform(),
		Format:       first.GetFormat(),
		Compression:  comp,
		Reproducible: first.GetReproducible(),
		Annotations:  first.GetAnnotations(),
		CreatedBy:    first.GetCreatedBy(),
	}
	if ts := first.GetSourceDateEpoch(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return newStatus(codes.InvalidArgument, "", err.Error())
		}
		t := ts.AsTime().UTC()
		opts.SourceDateEpoch = &t
	}
	res, err := s.engine(ctx).Append(ctx, ref, engine.AppendOptions{Options: opts, To: to})
	if err != nil {
		return toStatus(err, subjectManifest)
	}
	resp := &stevedorev1.AppendResponse{
		Result: &stevedorev1.WriteResult{
			Digest: res.Digest.String(), MediaType: res.MediaType, Size: res.Size,
			Tag: to.TagName(), Destination: res.Destination,
		},
		Manifests: int32(res.Manifests),
	}
	for _, l := range res.Layers {
		resp.Layers = append(resp.Layers, &stevedorev1.AppendedLayer{Digest: l.Digest.String(), DiffId: l.DiffID.String(), MediaType: l.MediaType, Size: l.Size})
	}
	return stream.SendAndClose(resp)
}

// recvReader reads the data of a client stream's messages as one byte
// stream; the first message's data is pending before any Recv.
type recvReader struct {
	pending []byte
	recv    func() (*stevedorev1.AppendRequest, error)
	done    bool
}

func (r *recvReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		if r.done {
			return 0, io.EOF
		}
		msg, err := r.recv()
		if err == io.EOF {
			r.done = true
			continue
		}
		if err != nil {
			return 0, err
		}
		r.pending = msg.GetData()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}
