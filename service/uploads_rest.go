package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// The REST routes of the client-streaming RPCs, which grpc-gateway cannot
// map: each takes a multipart/form-data body (RFC 7578) read part by part
// and forwarded to the RPC as it arrives, never held whole. The first part,
// named "request", is the RPC's first message as JSON (without data); the
// bytes follow as file parts. Requests need the X-Stevedore-Upload header
// (a cross-site form cannot set it; see HTTPGuard).
const (
	appendPath = "/v1/images:append"
	pushPath   = "/v1/artifacts:push"
	attachPath = "/v1/artifacts:attach"
)

// uploadPaths are the routes that take multipart bodies, for HTTPGuard.
var uploadPaths = []string{appendPath, pushPath, attachPath}

// UploadPaths returns the REST routes taking multipart uploads.
func UploadPaths() []string { return append([]string(nil), uploadPaths...) }

// uploadChunk bounds the bytes one forwarded message carries.
const uploadChunk = 1 << 20

// registerUploads adds the three routes to the gateway's mux.
func (g *Gateway) registerUploads() error {
	images := stevedorev1.NewImageServiceClient(g.conn)
	routes := map[string]func(ctx context.Context, mr *multipart.Reader) (proto.Message, error){
		appendPath: func(ctx context.Context, mr *multipart.Reader) (proto.Message, error) {
			return forwardAppend(ctx, images, mr)
		},
		pushPath: func(ctx context.Context, mr *multipart.Reader) (proto.Message, error) {
			return forwardFiles(ctx, mr, func(ctx context.Context) (fileStream[*stevedorev1.PushArtifactRequest, *stevedorev1.PushArtifactResponse], error) {
				return images.PushArtifact(ctx)
			}, func(h *stevedorev1.ArtifactFileHeader, data []byte) *stevedorev1.PushArtifactRequest {
				return &stevedorev1.PushArtifactRequest{File: h, Data: data}
			})
		},
		attachPath: func(ctx context.Context, mr *multipart.Reader) (proto.Message, error) {
			return forwardFiles(ctx, mr, func(ctx context.Context) (fileStream[*stevedorev1.AttachArtifactRequest, *stevedorev1.AttachArtifactResponse], error) {
				return images.AttachArtifact(ctx)
			}, func(h *stevedorev1.ArtifactFileHeader, data []byte) *stevedorev1.AttachArtifactRequest {
				return &stevedorev1.AttachArtifactRequest{File: h, Data: data}
			})
		},
	}
	for path, forward := range routes {
		err := g.mux.HandlePath(http.MethodPost, path, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
			g.serveUpload(w, r, forward)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// serveUpload reads a multipart request into forward and answers with the
// RPC's response, or its error as the gateway writes errors.
func (g *Gateway) serveUpload(w http.ResponseWriter, r *http.Request, forward func(context.Context, *multipart.Reader) (proto.Message, error)) {
	_, out := runtime.MarshalerForRequest(g.mux, r)
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	resp, err := func() (proto.Message, error) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
			return nil, status.Error(codes.InvalidArgument, "want a multipart/form-data body")
		}
		return forward(ctx, multipart.NewReader(r.Body, params["boundary"]))
	}()
	if err != nil {
		runtime.HTTPError(ctx, g.mux, out, w, r, err)
		return
	}
	b, err := out.Marshal(resp)
	if err != nil {
		runtime.HTTPError(ctx, g.mux, out, w, r, err)
		return
	}
	w.Header().Set("Content-Type", out.ContentType(resp))
	_, _ = w.Write(b)
}

// firstPart reads the "request" part into msg.
func firstPart(mr *multipart.Reader, msg proto.Message) error {
	p, err := mr.NextPart()
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "multipart body: %v", err)
	}
	defer p.Close()
	if p.FormName() != "request" {
		return status.Errorf(codes.InvalidArgument, "the first part must be named \"request\" (JSON), not %q", p.FormName())
	}
	b, err := io.ReadAll(io.LimitReader(p, 1<<20))
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "request part: %v", err)
	}
	if err := protojson.Unmarshal(b, msg); err != nil {
		return status.Errorf(codes.InvalidArgument, "request part: %v", err)
	}
	return nil
}

// forwardAppend streams an Append: the request part, then one "layer" part
// holding the tar.
func forwardAppend(ctx context.Context, c stevedorev1.ImageServiceClient, mr *multipart.Reader) (proto.Message, error) {
	first := &stevedorev1.AppendRequest{}
	if err := firstPart(mr, first); err != nil {
		return nil, err
	}
	if len(first.GetData()) > 0 {
		return nil, status.Error(codes.InvalidArgument, "the layer goes in the \"layer\" part, not in the request's data")
	}
	p, err := mr.NextPart()
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "want a \"layer\" part after the request: %v", err)
	}
	defer p.Close()
	if p.FormName() != "layer" {
		return nil, status.Errorf(codes.InvalidArgument, "the second part must be named \"layer\", not %q", p.FormName())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Append(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (proto.Message, error) {
		return nil, streamErr(err, cancel, func() error { _, err := stream.CloseAndRecv(); return err })
	}
	if err := stream.Send(first); err != nil {
		return fail(err)
	}
	if err := sendChunks(p, func(b []byte) error { return stream.Send(&stevedorev1.AppendRequest{Data: b}) }); err != nil {
		return fail(err)
	}
	return stream.CloseAndRecv()
}

// fileStream is the client side of PushArtifact and AttachArtifact.
type fileStream[Req, Resp proto.Message] interface {
	Send(Req) error
	CloseAndRecv() (Resp, error)
}

// forwardFiles streams an artifact push: the request part (the first
// message's fields), then each "file" part as one file, named by its
// filename, typed by its Content-Type (application/octet-stream: the
// default layer type), with the mode in an optional X-Stevedore-File-Mode
// part header (octal).
func forwardFiles[Req, Resp proto.Message](ctx context.Context, mr *multipart.Reader, open func(context.Context) (fileStream[Req, Resp], error), msg func(*stevedorev1.ArtifactFileHeader, []byte) Req) (proto.Message, error) {
	var first Req
	first = first.ProtoReflect().New().Interface().(Req)
	if err := firstPart(mr, first); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := open(ctx)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (proto.Message, error) {
		return nil, streamErr(err, cancel, func() error { _, err := stream.CloseAndRecv(); return err })
	}
	if err := stream.Send(first); err != nil {
		return fail(err)
	}
	files := 0
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(status.Errorf(codes.InvalidArgument, "multipart body: %v", err))
		}
		h, err := fileHeader(p)
		if err != nil {
			p.Close()
			return fail(err)
		}
		files++
		first := true
		err = sendChunks(p, func(b []byte) error {
			if first {
				first = false
				return stream.Send(msg(h, b))
			}
			return stream.Send(msg(nil, b))
		})
		if err == nil && first { // an empty file
			err = stream.Send(msg(h, nil))
		}
		p.Close()
		if err != nil {
			return fail(err)
		}
	}
	if files == 0 {
		return fail(status.Error(codes.InvalidArgument, "no \"file\" parts"))
	}
	return stream.CloseAndRecv()
}

// fileHeader describes the file a part holds.
func fileHeader(p *multipart.Part) (*stevedorev1.ArtifactFileHeader, error) {
	if p.FormName() != "file" || p.FileName() == "" {
		return nil, status.Errorf(codes.InvalidArgument, "after the request, every part must be a \"file\" with a filename (got %q)", p.FormName())
	}
	h := &stevedorev1.ArtifactFileHeader{Name: p.FileName()}
	if ct := p.Header.Get("Content-Type"); ct != "" && ct != "application/octet-stream" {
		h.MediaType = ct
	}
	if m := p.Header.Get("X-Stevedore-File-Mode"); m != "" {
		mode, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "X-Stevedore-File-Mode %q is not an octal mode", m)
		}
		h.Mode = uint32(mode)
	}
	return h, nil
}

// sendChunks reads r and sends it in messages of at most uploadChunk bytes.
// A body that breaks off is the caller's failure: InvalidArgument.
func sendChunks(r io.Reader, send func([]byte) error) error {
	buf := make([]byte, uploadChunk)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if serr := send(buf[:n]); serr != nil {
				return serr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		default:
			return status.Errorf(codes.InvalidArgument, "reading the upload: %v", err)
		}
	}
}

// streamErr ends a client stream that failed mid-way. A Send that failed
// with io.EOF means the server answered already: its status is the error.
// Otherwise the failure is ours (a broken upload), and the stream is
// cancelled, never closed: closing would tell the server the upload is
// complete, and it would store the part that arrived.
func streamErr(err error, cancel func(), recv func() error) error {
	if errors.Is(err, io.EOF) {
		if rerr := recv(); rerr != nil {
			return rerr
		}
	}
	cancel()
	if _, ok := status.FromError(err); ok {
		return err
	}
	return fmt.Errorf("upload: %w", err)
}
