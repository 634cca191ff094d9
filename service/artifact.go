package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/grpc/codes"

	"github.com/stevedore-dev/stevedore/engine/artifact"
	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// artifactPart is what PushArtifactRequest and AttachArtifactRequest share:
// the options (first message) and a file header or bytes.
type artifactPart interface {
	GetRef() string
	GetArtifactType() string
	GetAnnotations() map[string]string
	GetFile() *stevedorev1.ArtifactFileHeader
	GetData() []byte
}

// spooledArtifact is a client-streamed artifact written to a temporary
// directory: the engine reads each file twice (hash, then push), which a
// stream cannot do, and a file is never held in memory.
type spooledArtifact struct {
	first artifactPart
	dir   string
	files []artifact.File
}

// spoolArtifact receives the whole stream into a temporary directory; the
// caller removes it with cleanup. Each file is stored under a name of its
// own (its index), so a title is only ever a layer annotation here; the
// engine checks titles when it pushes.
func spoolArtifact(recv func() (artifactPart, error)) (*spooledArtifact, error) {
	first, err := recv()
	if err == io.EOF {
		return nil, newStatus(codes.InvalidArgument, "", "empty stream: the first message names the target")
	}
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "stevedore-artifact-rpc-")
	if err != nil {
		return nil, toStatus(err, subjectBlob)
	}
	sa := &spooledArtifact{first: first, dir: dir}
	if err := sa.receive(first, recv); err != nil {
		sa.cleanup()
		return nil, err
	}
	return sa, nil
}

func (sa *spooledArtifact) receive(msg artifactPart, recv func() (artifactPart, error)) error {
	var cur *os.File
	closeCur := func() error {
		if cur == nil {
			return nil
		}
		err := cur.Close()
		cur = nil
		return err
	}
	defer closeCur()
	for {
		if h := msg.GetFile(); h != nil {
			if err := closeCur(); err != nil {
				return toStatus(err, subjectBlob)
			}
			f, err := sa.start(h)
			if err != nil {
				return err
			}
			cur = f
		}
		if data := msg.GetData(); len(data) > 0 {
			if cur == nil {
				return newStatus(codes.InvalidArgument, "", "data before any file header")
			}
			if _, err := cur.Write(data); err != nil {
				return toStatus(err, subjectBlob)
			}
		}
		var err error
		if msg, err = recv(); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	if err := closeCur(); err != nil {
		return toStatus(err, subjectBlob)
	}
	return nil
}

// start creates the temporary file for the next file of the stream, with
// the mode the engine records from it.
func (sa *spooledArtifact) start(h *stevedorev1.ArtifactFileHeader) (*os.File, error) {
	if h.GetName() == "" {
		return nil, newStatus(codes.InvalidArgument, "", "a file needs a name")
	}
	mode := fs.FileMode(h.GetMode())
	if mode&^fs.ModePerm != 0 {
		return nil, newStatus(codes.InvalidArgument, "", fmt.Sprintf("file %q: mode %#o is not permission bits", h.GetName(), h.GetMode()))
	}
	if mode == 0 {
		mode = 0o644
	}
	p := filepath.Join(sa.dir, strconv.Itoa(len(sa.files)))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, toStatus(err, subjectBlob)
	}
	// Chmod, not the create mode, so the umask cannot change what is recorded.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return nil, toStatus(err, subjectBlob)
	}
	sa.files = append(sa.files, artifact.File{Path: p, Name: h.GetName(), MediaType: h.GetMediaType()})
	return f, nil
}

func (sa *spooledArtifact) cleanup() { os.RemoveAll(sa.dir) }

// options are the manifest options the first message set.
func (sa *spooledArtifact) options() artifact.PushOptions {
	return artifact.PushOptions{ArtifactType: sa.first.GetArtifactType(), Annotations: sa.first.GetAnnotations()}
}

// PushArtifact pushes the streamed files as one artifact.
func (s *ImageServer) PushArtifact(stream stevedorev1.ImageService_PushArtifactServer) error {
	ctx := stream.Context()
	sa, err := spoolArtifact(func() (artifactPart, error) { return stream.Recv() })
	if err != nil {
		return err
	}
	defer sa.cleanup()
	ref, err := parseRef(sa.first.GetRef(), false)
	if err != nil {
		return err
	}
	d, err := s.engine(ctx).PushArtifact(ctx, ref, sa.files, sa.options())
	if err != nil {
		return toStatus(err, subjectManifest)
	}
	return stream.SendAndClose(&stevedorev1.PushArtifactResponse{Manifest: descriptor(d)})
}

// AttachArtifact pushes the streamed files as a referrer of req.Ref.
func (s *ImageServer) AttachArtifact(stream stevedorev1.ImageService_AttachArtifactServer) error {
	ctx := stream.Context()
	sa, err := spoolArtifact(func() (artifactPart, error) { return stream.Recv() })
	if err != nil {
		return err
	}
	defer sa.cleanup()
	if sa.first.GetArtifactType() == "" {
		return newStatus(codes.InvalidArgument, "", "an attached artifact needs an artifact_type")
	}
	ref, err := parseRef(sa.first.GetRef(), false)
	if err != nil {
		return err
	}
	d, err := s.engine(ctx).AttachArtifact(ctx, ref, sa.files, sa.options())
	if err != nil {
		return toStatus(err, subjectManifest)
	}
	return stream.SendAndClose(&stevedorev1.AttachArtifactResponse{Manifest: descriptor(d)})
}

// PullArtifact streams the titled layers of an artifact, each verified
// against its digest as it streams: a corrupt layer ends the stream with
// DATA_LOSS after its bytes, so the caller must not keep a file the stream
// did not finish. Titles are checked before the first byte is sent, as the
// engine's pull checks them, though the caller writing the files must
// check again.
func (s *ImageServer) PullArtifact(req *stevedorev1.PullArtifactRequest, stream stevedorev1.ImageService_PullArtifactServer) error {
	ctx := stream.Context()
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return err
	}
	a, err := s.engine(ctx).OpenArtifact(ctx, ref)
	if err != nil {
		return toStatus(err, subjectManifest)
	}
	defer a.Close()
	first := &stevedorev1.PullArtifactResponse{Manifest: descriptor(a.Manifest)}
	for _, d := range a.Skipped {
		first.Skipped = append(first.Skipped, descriptor(d))
	}
	if len(a.Files) == 0 {
		return stream.Send(first)
	}
	buf := chunkPool.Get(ChunkSize)
	defer chunkPool.Put(buf)
	for i, f := range a.Files {
		pf := &stevedorev1.PulledFile{Name: f.Name, Descriptor_: descriptor(f.Descriptor), Unpack: f.Unpacked, Mode: uint32(f.Mode.Perm())}
		head := &stevedorev1.PullArtifactResponse{File: pf}
		if i == 0 {
			first.File = pf
			head = first
		}
		if err := stream.Send(head); err != nil {
			return err
		}
		rc, err := a.Open(ctx, f)
		if err != nil {
			return toStatus(err, subjectBlob)
		}
		err = sendLayer(rc, stream, *buf)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// sendLayer streams rc, a verified layer, in chunks of buf's size.
func sendLayer(rc io.Reader, stream stevedorev1.ImageService_PullArtifactServer, buf []byte) error {
	var off int64
	for {
		n, err := io.ReadFull(rc, buf)
		if n > 0 {
			if serr := stream.Send(&stevedorev1.PullArtifactResponse{Offset: off, Data: buf[:n]}); serr != nil {
				return serr
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return toStatus(err, subjectBlob)
		}
	}
}

// DiscoverReferrers lists the referrer tree of req.Ref.
func (s *ImageServer) DiscoverReferrers(ctx context.Context, req *stevedorev1.DiscoverReferrersRequest) (*stevedorev1.DiscoverReferrersResponse, error) {
	ref, err := parseRef(req.GetRef(), false)
	if err != nil {
		return nil, err
	}
	if req.GetMaxDepth() < 0 {
		return nil, newStatus(codes.InvalidArgument, "", "max_depth must not be negative")
	}
	root, err := s.engine(ctx).DiscoverReferrers(ctx, ref, artifact.DiscoverOptions{ArtifactType: req.GetArtifactType(), MaxDepth: int(req.GetMaxDepth())})
	if err != nil {
		return nil, toStatus(err, subjectManifest)
	}
	return &stevedorev1.DiscoverReferrersResponse{Root: referrerNode(root)}, nil
}

func referrerNode(n *artifact.Node) *stevedorev1.ReferrerNode {
	out := &stevedorev1.ReferrerNode{Descriptor_: descriptor(n.Descriptor)}
	for _, c := range n.Referrers {
		out.Referrers = append(out.Referrers, referrerNode(c))
	}
	return out
}
