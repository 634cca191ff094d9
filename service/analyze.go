package service

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/stevedore-dev/stevedore/engine/analyze"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// fileBatch is how many FileInfo entries one ListFilesResponse carries:
// about 100 KiB of metadata, far below the message limit, and few enough
// messages that a large image lists quickly.
const fileBatch = 512

// ListFiles streams the merged filesystem of the image, or one layer's
// entries, in batches of fileBatch.
func (s *ImageServer) ListFiles(req *stevedorev1.ListFilesRequest, stream stevedorev1.ImageService_ListFilesServer) error {
	ctx := stream.Context()
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return err
	}
	opts := analyze.Options{Platform: req.GetPlatform()}
	var files []analyze.FileInfo
	if req.Layer != nil {
		files, err = s.engine(ctx).LayerFiles(ctx, ref, int(req.GetLayer()), opts)
	} else {
		files, err = s.engine(ctx).Files(ctx, ref, opts)
	}
	if err != nil {
		return toStatus(err, subjectManifest)
	}
	// An empty listing still answers once.
	for first := true; first || len(files) > 0; first = false {
		n := min(len(files), fileBatch)
		msg := &stevedorev1.ListFilesResponse{Files: make([]*stevedorev1.FileInfo, n)}
		for i := range n {
			msg.Files[i] = fileInfo(&files[i])
		}
		if err := stream.Send(msg); err != nil {
			return err
		}
		files = files[n:]
	}
	return nil
}

// ReadFile streams one file of the image's merged filesystem.
func (s *ImageServer) ReadFile(req *stevedorev1.ReadFileRequest, stream stevedorev1.ImageService_ReadFileServer) error {
	ctx := stream.Context()
	if req.GetPath() == "" {
		return newStatus(codes.InvalidArgument, "", "path is required")
	}
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return err
	}
	rc, err := s.engine(ctx).ReadFile(ctx, ref, req.GetPath(), analyze.Options{Platform: req.GetPlatform()})
	if err != nil {
		// A path the image lacks is about the file, not the manifest.
		subj := subjectManifest
		var ae *analyze.Error
		if errors.As(err, &ae) && ae.Path != "" && ae.Layer == "" {
			subj = subjectFile
		}
		return toStatus(err, subj)
	}
	defer rc.Close()
	w := newChunkBuffer(func(off int64, p []byte) error {
		return stream.Send(&stevedorev1.ReadFileResponse{Offset: off, Data: p})
	})
	defer w.release()
	if _, err := w.ReadFrom(rc); err != nil {
		return toStatus(err, subjectBlob)
	}
	return w.flush(true)
}

// Export streams the image's merged root filesystem as one tar. The engine
// writes small pieces (headers, 32 KiB of content at a time); they are
// gathered into chunks of ChunkSize so framing stays noise.
func (s *ImageServer) Export(req *stevedorev1.ExportRequest, stream stevedorev1.ImageService_ExportServer) error {
	ctx := stream.Context()
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return err
	}
	w := newChunkBuffer(func(off int64, p []byte) error {
		return stream.Send(&stevedorev1.ExportResponse{Offset: off, Data: p})
	})
	defer w.release()
	if err := s.engine(ctx).Export(ctx, ref, w, analyze.Options{Platform: req.GetPlatform()}); err != nil {
		return toStatus(err, subjectManifest)
	}
	return w.flush(true)
}

// Validate reports the problems of the image, index or artifact.
func (s *ImageServer) Validate(ctx context.Context, req *stevedorev1.ValidateRequest) (*stevedorev1.ValidateResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	rep, err := s.engine(ctx).Validate(ctx, ref, analyze.Options{})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	resp := &stevedorev1.ValidateResponse{
		Digest:    rep.Digest.String(),
		MediaType: rep.MediaType,
		Checked:   int32(rep.Checked),
		Valid:     rep.Valid(),
	}
	for _, p := range rep.Problems {
		resp.Problems = append(resp.Problems, &stevedorev1.ValidationProblem{Digest: p.Digest.String(), MediaType: p.MediaType, Message: p.Message})
	}
	return resp, nil
}

// Diff compares two images, which may live in different places.
func (s *ImageServer) Diff(ctx context.Context, req *stevedorev1.DiffRequest) (*stevedorev1.DiffResponse, error) {
	a, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	b, err := parseField("other_ref", req.GetOtherRef(), false)
	if err != nil {
		return nil, err
	}
	rep, err := s.engine(ctx).Diff(ctx, a, b, analyze.Options{Platform: req.GetPlatform()})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	resp := &stevedorev1.DiffResponse{A: rep.A.String(), B: rep.B.String(), SharedLayers: int32(rep.SharedLayers)}
	for _, f := range rep.Config {
		resp.Config = append(resp.Config, &stevedorev1.ConfigFieldDiff{Field: f.Field, A: jsonValue(f.A), B: jsonValue(f.B)})
	}
	for i := range rep.Added {
		resp.Added = append(resp.Added, fileInfo(&rep.Added[i]))
	}
	for i := range rep.Removed {
		resp.Removed = append(resp.Removed, fileInfo(&rep.Removed[i]))
	}
	for i := range rep.Changed {
		c := &rep.Changed[i]
		resp.Changed = append(resp.Changed, &stevedorev1.FileChange{Path: c.Path, What: c.What, A: fileInfo(&c.A), B: fileInfo(&c.B)})
	}
	return resp, nil
}

// jsonValue is a config value as JSON text; a side without the field is null.
func jsonValue(b []byte) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}

// Size reports the image's compressed, uncompressed and wasted bytes.
func (s *ImageServer) Size(ctx context.Context, req *stevedorev1.SizeRequest) (*stevedorev1.SizeResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	rep, err := s.engine(ctx).Size(ctx, ref, analyze.Options{Platform: req.GetPlatform()})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	resp := &stevedorev1.SizeResponse{Digest: rep.Digest.String(), Compressed: rep.Compressed, Uncompressed: rep.Uncompressed, Wasted: rep.Wasted}
	for _, l := range rep.Layers {
		resp.Layers = append(resp.Layers, &stevedorev1.LayerSize{
			Layer: int32(l.Layer), Digest: l.Digest.String(), MediaType: l.MediaType,
			Compressed: l.Compressed, Uncompressed: l.Uncompressed, Files: int32(l.Files), Wasted: l.Wasted,
		})
	}
	return resp, nil
}

// History lists the image config's history.
func (s *ImageServer) History(ctx context.Context, req *stevedorev1.HistoryRequest) (*stevedorev1.HistoryResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	entries, err := s.engine(ctx).History(ctx, ref, analyze.Options{Platform: req.GetPlatform()})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	resp := &stevedorev1.HistoryResponse{}
	for _, e := range entries {
		he := &stevedorev1.HistoryEntry{
			CreatedBy: e.CreatedBy, Author: e.Author, Comment: e.Comment, EmptyLayer: e.EmptyLayer,
			Layer: int32(e.Layer), Digest: e.Digest.String(), DiffId: e.DiffID.String(), Size: e.Size,
		}
		if e.Created != nil {
			he.Created = timestamppb.New(*e.Created)
		}
		resp.Entries = append(resp.Entries, he)
	}
	return resp, nil
}

// fileInfo converts a file description to its wire form.
func fileInfo(f *analyze.FileInfo) *stevedorev1.FileInfo {
	fi := &stevedorev1.FileInfo{
		Path: f.Path, Type: f.Type, Mode: f.Mode, Size: f.Size, Uid: int64(f.UID), Gid: int64(f.GID),
		Linkname: f.Linkname, Layer: int32(f.Layer), LayerDigest: f.LayerDigest.String(),
	}
	if !f.ModTime.IsZero() {
		fi.Mtime = timestamppb.New(f.ModTime)
	}
	return fi
}

// chunkBuffer gathers writes into a pooled ChunkSize buffer and sends it
// whole, each chunk with its absolute offset, so a stream costs one buffer
// of memory whatever its length. send may keep nothing of p: gRPC marshals
// the message inside Send.
type chunkBuffer struct {
	buf  *[]byte
	n    int
	off  int64
	sent bool
	send func(off int64, p []byte) error
}

func newChunkBuffer(send func(off int64, p []byte) error) *chunkBuffer {
	return &chunkBuffer{buf: chunkPool.Get(ChunkSize), send: send}
}

// Write implements io.Writer.
func (w *chunkBuffer) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		c := copy((*w.buf)[w.n:], p)
		w.n += c
		p = p[c:]
		if w.n == len(*w.buf) {
			if err := w.flush(false); err != nil {
				return total - len(p), err
			}
		}
	}
	return total, nil
}

// ReadFrom implements io.ReaderFrom, reading straight into the buffer.
func (w *chunkBuffer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		n, err := r.Read((*w.buf)[w.n:])
		w.n += n
		total += int64(n)
		if w.n == len(*w.buf) {
			if ferr := w.flush(false); ferr != nil {
				return total, ferr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// flush sends what is buffered. last makes an empty stream answer once
// anyway, so the caller always sees a message.
func (w *chunkBuffer) flush(last bool) error {
	if w.n == 0 && (!last || w.sent) {
		return nil
	}
	if err := w.send(w.off, (*w.buf)[:w.n]); err != nil {
		return err
	}
	w.sent = true
	w.off += int64(w.n)
	w.n = 0
	return nil
}

// release returns the buffer to the pool.
func (w *chunkBuffer) release() {
	if w.buf != nil {
		chunkPool.Put(w.buf)
		w.buf = nil
	}
}
