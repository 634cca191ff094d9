package stevedoreclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// artifactChunk bounds each data message of PushArtifact, like the server's
// own 1 MiB chunks, well under the gRPC message limit.
const artifactChunk = 1 << 20

// PushArtifact pushes the files at paths as one OCI artifact to ref (each
// a layer titled with its base name, in the form oras writes), streaming
// each from disk, and returns the manifest's descriptor. An empty
// artifactType means application/vnd.unknown.artifact.v1.
//
// image-spec v1.1.1 §Guidelines for Artifact Usage:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/manifest.md#guidelines-for-artifact-usage
func (c *Client) PushArtifact(ctx context.Context, ref, artifactType string, annotations map[string]string, paths ...string) (*stevedorev1.Descriptor, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Images.PushArtifact(ctx)
	if err != nil {
		return nil, FromStatus(err)
	}
	first := &stevedorev1.PushArtifactRequest{Ref: ref, ArtifactType: artifactType, Annotations: annotations}
	buf := make([]byte, artifactChunk)
	for _, p := range paths {
		if err := sendFile(stream.Send, first, p, buf); err != nil {
			return nil, err
		}
		first = &stevedorev1.PushArtifactRequest{}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, FromStatus(err)
	}
	return resp.GetManifest(), nil
}

// sendFile streams the file at path: a header message (merged into msg,
// which may carry the stream's first fields), then its bytes.
func sendFile(send func(*stevedorev1.PushArtifactRequest) error, msg *stevedorev1.PushArtifactRequest, path string, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	msg.File = &stevedorev1.ArtifactFileHeader{Name: filepath.Base(path), Mode: uint32(fi.Mode().Perm())}
	for {
		n, rerr := io.ReadFull(f, buf)
		msg.Data = buf[:n]
		if err := send(msg); err != nil {
			// The server's reason arrives with CloseAndRecv; io.EOF here only says the stream broke.
			if errors.Is(err, io.EOF) {
				return nil
			}
			return FromStatus(err)
		}
		msg = &stevedorev1.PushArtifactRequest{}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// PulledArtifact is what PullArtifact wrote.
type PulledArtifact struct {
	// Manifest is the artifact manifest's descriptor.
	Manifest *stevedorev1.Descriptor
	// Files are the paths written, under the directory, in stream order.
	// A directory layer is written as NAME.tar.gz, as stored, not unpacked.
	Files []string
	// Skipped are the layers without a title, not written.
	Skipped []*stevedorev1.Descriptor
}

// PullArtifact writes the titled layers of the artifact ref names into dir,
// each verified against its digest before it appears under its name. A
// title that is not a local path (absolute, or escaping dir with ..) is
// refused with errdef.ErrInvalid before anything is written for it.
func (c *Client) PullArtifact(ctx context.Context, ref, dir string) (*PulledArtifact, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &PulledArtifact{}
	var cur *pullFile
	defer func() { cur.abort() }()
	for msg, err := range recvAll(c.Images.PullArtifact(ctx, &stevedorev1.PullArtifactRequest{Ref: ref})) {
		if err != nil {
			return nil, err
		}
		if msg.Manifest != nil {
			out.Manifest, out.Skipped = msg.GetManifest(), msg.GetSkipped()
		}
		if msg.File != nil {
			if err := cur.finish(); err != nil {
				return nil, err
			}
			if cur, err = startPullFile(dir, msg.GetFile()); err != nil {
				return nil, err
			}
			out.Files = append(out.Files, cur.path)
		}
		if len(msg.GetData()) > 0 || msg.GetOffset() != 0 {
			if err := cur.write(msg.GetOffset(), msg.GetData()); err != nil {
				return nil, err
			}
		}
	}
	if err := cur.finish(); err != nil {
		return nil, err
	}
	cur = nil
	return out, nil
}

// pullFile is one file of a pull being written: to a temporary name, hashed
// as it goes, renamed when its digest matches.
type pullFile struct {
	path     string
	f        *os.File
	verifier digest.Verifier
	want     *stevedorev1.Descriptor
	n        int64
}

func startPullFile(dir string, h *stevedorev1.PulledFile) (*pullFile, error) {
	name := h.GetName()
	if h.GetUnpack() {
		name += ".tar.gz"
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return nil, fmt.Errorf("stevedoreclient: artifact file %q escapes %s: %w", h.GetName(), dir, errdef.ErrInvalid)
	}
	d, err := digest.Parse(h.GetDescriptor_().GetDigest())
	if err != nil {
		return nil, fmt.Errorf("stevedoreclient: artifact file %q: %w: %w", name, errdef.ErrInvalid, err)
	}
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	mode := os.FileMode(h.GetMode()).Perm()
	if mode == 0 {
		mode = 0o644
	}
	f, err := os.OpenFile(path+".part", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return nil, err
	}
	return &pullFile{path: path, f: f, verifier: d.Verifier(), want: h.GetDescriptor_()}, nil
}

func (p *pullFile) write(off int64, data []byte) error {
	if p == nil {
		return fmt.Errorf("stevedoreclient: artifact data before any file: %w", errdef.ErrInvalid)
	}
	if off != p.n {
		return fmt.Errorf("stevedoreclient: %s: chunk at offset %d, want %d: %w", p.path, off, p.n, io.ErrUnexpectedEOF)
	}
	p.verifier.Write(data)
	_, err := p.f.Write(data)
	p.n += int64(len(data))
	return err
}

// finish verifies and renames the file; nil does nothing.
func (p *pullFile) finish() error {
	if p == nil {
		return nil
	}
	if err := p.f.Close(); err != nil {
		p.abort()
		return err
	}
	if p.n != p.want.GetSize() || !p.verifier.Verified() {
		p.abort()
		return fmt.Errorf("stevedoreclient: %s: %d bytes do not match %s: %w", p.path, p.n, p.want.GetDigest(), errdef.ErrDigestMismatch)
	}
	return os.Rename(p.path+".part", p.path)
}

// abort removes the partial file; nil, or a file already renamed, is a no-op.
func (p *pullFile) abort() {
	if p != nil {
		p.f.Close()
		os.Remove(p.path + ".part")
	}
}

// DiscoverReferrers returns the tree of referrers of the manifest ref names,
// keeping only artifactType's (empty: all), maxDepth levels deep (0: 8).
//
// distribution-spec v1.1.1 §Listing Referrers:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
func (c *Client) DiscoverReferrers(ctx context.Context, ref, artifactType string, maxDepth int) (*stevedorev1.ReferrerNode, error) {
	resp, err := unary(ctx, c.Images.DiscoverReferrers, &stevedorev1.DiscoverReferrersRequest{Ref: ref, ArtifactType: artifactType, MaxDepth: int32(max(maxDepth, 0))})
	return resp.GetRoot(), err
}
