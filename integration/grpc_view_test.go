package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// grpcView calls a served stevedore over gRPC with the generated stubs.
type grpcView struct {
	c stevedorev1.ImageServiceClient
}

func newGRPCView(s *stevedoreServer) grpcView {
	return grpcView{c: stevedorev1.NewImageServiceClient(s.Conn)}
}

func (grpcView) Name() string { return "grpc" }

func grpcCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute)
}

func (v grpcView) Inspect(ref, plat string) (inspectOutput, error) {
	ctx, cancel := grpcCtx()
	defer cancel()
	r, err := v.c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: ref, Platform: plat})
	if err != nil {
		return inspectOutput{}, grpcErr(err)
	}
	out := inspectOutput{
		Ref: r.GetRef(), Digest: r.GetDigest(), MediaType: r.GetMediaType(), ManifestDigest: r.GetManifestDigest(),
		ArtifactType: r.GetArtifactType(), Annotations: r.GetAnnotations(),
	}
	for _, p := range r.GetPlatforms() {
		out.Platforms = append(out.Platforms, platform{OS: p.GetOs(), Architecture: p.GetArchitecture(), Variant: p.GetVariant()})
	}
	if c := r.GetConfig(); c != nil {
		out.Config = &imageConfig{OS: c.GetOs(), Architecture: c.GetArchitecture(), Variant: c.GetVariant()}
		out.Config.Config.Env, out.Config.Config.Entrypoint, out.Config.Config.Cmd, out.Config.Config.Labels = c.GetEnv(), c.GetEntrypoint(), c.GetCmd(), c.GetLabels()
	}
	for _, l := range r.GetLayers() {
		out.Layers = append(out.Layers, descriptor{MediaType: l.GetMediaType(), Digest: l.GetDigest(), Size: l.GetSize(), ArtifactType: l.GetArtifactType(), Annotations: l.GetAnnotations()})
	}
	return out, nil
}

func (v grpcView) Manifest(ref string) ([]byte, error) {
	ctx, cancel := grpcCtx()
	defer cancel()
	r, err := v.c.GetManifest(ctx, &stevedorev1.GetManifestRequest{Ref: ref})
	if err != nil {
		return nil, grpcErr(err)
	}
	if d := sha256Digest(r.GetRaw()); d != r.GetDigest() {
		return nil, fmt.Errorf("grpc: GetManifest says digest %s, raw bytes hash to %s", r.GetDigest(), d)
	}
	return r.GetRaw(), nil
}

func (v grpcView) Blob(ref string, w io.Writer) error {
	_, err := grpcBlob(v.c, ref, 0, 0, w)
	return err
}

// grpcBlob streams GetBlob into w, checking that every chunk carries the
// offset it belongs at and that the first one carries the size.
func grpcBlob(c stevedorev1.ImageServiceClient, ref string, offset, length int64, w io.Writer) (size int64, err error) {
	ctx, cancel := grpcCtx()
	defer cancel()
	stream, err := c.GetBlob(ctx, &stevedorev1.GetBlobRequest{Ref: ref, Offset: offset, Length: length})
	if err != nil {
		return 0, grpcErr(err)
	}
	next := offset
	for first := true; ; first = false {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return size, grpcErr(err)
		}
		if first {
			size = m.GetSize()
		}
		if m.GetOffset() != next {
			return size, fmt.Errorf("grpc: GetBlob chunk at offset %d, want %d", m.GetOffset(), next)
		}
		if _, err := w.Write(m.GetData()); err != nil {
			return size, err
		}
		next += int64(len(m.GetData()))
	}
}

func (v grpcView) Tags(repo string) ([]string, error) {
	ctx, cancel := grpcCtx()
	defer cancel()
	r, err := v.c.ListTags(ctx, &stevedorev1.ListTagsRequest{Repository: repo})
	if err != nil {
		return nil, grpcErr(err)
	}
	return r.GetTags(), nil
}

func grpcErr(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("grpc: not a status error: %w", err)
	}
	return &callError{View: "grpc", Code: st.Code(), Msg: st.Message()}
}
