package stevedoreclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"

	"google.golang.org/grpc"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// ListFiles yields the files of ref's merged root filesystem, in lexical
// path order, or with req.Layer set those of one layer. Stopping the loop
// early cancels the stream; a failure is yielded once, last.
func (c *Client) ListFiles(ctx context.Context, req *stevedorev1.ListFilesRequest) iter.Seq2[*stevedorev1.FileInfo, error] {
	return func(yield func(*stevedorev1.FileInfo, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for batch, err := range recvAll(c.Images.ListFiles(ctx, req)) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, f := range batch.GetFiles() {
				if !yield(f, nil) {
					return
				}
			}
		}
	}
}

// ReadFile writes the content of the regular file path of ref's merged
// filesystem to w and returns the bytes written. platform may be empty.
func (c *Client) ReadFile(ctx context.Context, ref, platform, path string, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return copyChunks(w, recvAll(c.Images.ReadFile(ctx, &stevedorev1.ReadFileRequest{Ref: ref, Platform: platform, Path: path})))
}

// Export writes ref's merged root filesystem to w as one tar, as
// `crane export` does, and returns the bytes written.
func (c *Client) Export(ctx context.Context, ref, platform string, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return copyChunks(w, recvAll(c.Images.Export(ctx, &stevedorev1.ExportRequest{Ref: ref, Platform: platform})))
}

// Validate checks every descriptor, digest, size and diff_id of ref; the
// problems found are in the response, not an error.
func (c *Client) Validate(ctx context.Context, ref string) (*stevedorev1.ValidateResponse, error) {
	return unary(ctx, c.Images.Validate, &stevedorev1.ValidateRequest{Ref: ref})
}

// Diff compares the configs and merged filesystems of ref and other.
func (c *Client) Diff(ctx context.Context, ref, other, platform string) (*stevedorev1.DiffResponse, error) {
	return unary(ctx, c.Images.Diff, &stevedorev1.DiffRequest{Ref: ref, OtherRef: other, Platform: platform})
}

// Size reports ref's compressed, uncompressed and wasted bytes per layer.
func (c *Client) Size(ctx context.Context, ref, platform string) (*stevedorev1.SizeResponse, error) {
	return unary(ctx, c.Images.Size, &stevedorev1.SizeRequest{Ref: ref, Platform: platform})
}

// History lists ref's config history, each entry with the layer it made.
func (c *Client) History(ctx context.Context, ref, platform string) ([]*stevedorev1.HistoryEntry, error) {
	resp, err := unary(ctx, c.Images.History, &stevedorev1.HistoryRequest{Ref: ref, Platform: platform})
	return resp.GetEntries(), err
}

// recvAll turns a server stream into an iterator that ends at io.EOF and
// yields a converted error, once, otherwise.
func recvAll[T any](stream grpc.ServerStreamingClient[T], err error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if err != nil {
			yield(nil, FromStatus(err))
			return
		}
		for {
			msg, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, FromStatus(err))
				return
			}
			if !yield(msg, nil) {
				return
			}
		}
	}
}

// chunk is a message of a byte stream that carries its offset.
type chunk interface {
	GetOffset() int64
	GetData() []byte
}

// copyChunks writes a stream of offset-carrying chunks to w, checking that
// each starts where the previous ended, so a gap or repeat is an error
// instead of silently corrupt output.
func copyChunks[T any, PT interface {
	*T
	chunk
}](w io.Writer, msgs iter.Seq2[*T, error]) (int64, error) {
	var n int64
	for msg, err := range msgs {
		if err != nil {
			return n, err
		}
		c := PT(msg)
		if c.GetOffset() != n {
			return n, fmt.Errorf("stevedoreclient: chunk at offset %d, want %d: %w", c.GetOffset(), n, io.ErrUnexpectedEOF)
		}
		m, err := w.Write(c.GetData())
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
