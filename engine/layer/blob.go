package layer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// WriteOptions say how Write compresses and where it spools. The zero value
// is gzip at the default level into os.TempDir.
type WriteOptions struct {
	// Compression of the blob; "" means Gzip.
	Compression Compression
	// MediaType of the blob's descriptor; "" means MediaType(Compression, false).
	MediaType string
	// GzipLevel is the gzip level (1 fastest … 9 smallest); 0 means the
	// library default (6-ish).
	GzipLevel int
	// TempDir is where the blob is spooled; "" means os.TempDir().
	TempDir string
}

// File is a layer blob spooled to a temporary file, with what its
// descriptor and the image config need to know about it. Remove it when done.
type File struct {
	// Desc is the blob's descriptor: media type, digest and size of the
	// compressed bytes.
	Desc oci.Descriptor
	// DiffID is the sha256 of the uncompressed tar, as config
	// rootfs.diff_ids lists it.
	DiffID digest.Digest
	// Path is the spooled blob.
	Path string
}

// Write runs fill with a writer taking the layer's uncompressed tar, and
// compresses it into a temporary file in the same pass, hashing both sides:
// the uncompressed sha256 is the diff_id, the compressed one the blob digest.
// A blob's digest must be known before a registry accepts its upload (the
// closing PUT carries it), so the bytes are spooled rather than streamed to
// the target; memory use stays that of the compressor's window whatever the
// layer's size. The temporary file is removed if anything fails.
//
// distribution-spec v1.1.1 §Pushing blobs (the digest is a parameter of the
// upload): https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-blobs
func Write(ctx context.Context, fill func(w io.Writer) error, opts WriteOptions) (_ *File, err error) {
	c := opts.Compression
	if c == "" {
		c = Gzip
	}
	mt := opts.MediaType
	if mt == "" {
		mt = MediaType(c, false)
	}
	f, err := os.CreateTemp(opts.TempDir, "stevedore-layer-*")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, copyBuffer)
	blobHash, n := sha256.New(), &counter{}
	compressed := io.MultiWriter(bw, blobHash, n)
	var zw io.WriteCloser
	switch c {
	case None:
		zw = nopWriteCloser{compressed}
	case Gzip:
		level := opts.GzipLevel
		if level == 0 {
			level = gzip.DefaultCompression
		}
		if zw, err = gzip.NewWriterLevel(compressed, level); err != nil {
			return nil, fmt.Errorf("gzip level %d: %v: %w", level, err, errdef.ErrInvalid)
		}
	case Zstd:
		// One encoder goroutine: the same input then gives the same frames
		// however many cores the machine has.
		if zw, err = zstd.NewWriter(compressed, zstd.WithEncoderConcurrency(1)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("compression %q: %w", c, errdef.ErrUnsupported)
	}
	diffHash := sha256.New()
	if err := fill(io.MultiWriter(diffHash, zw)); err != nil {
		if cl, ok := zw.(interface{ Reset(io.Writer) }); ok {
			cl.Reset(io.Discard) // release the compressor's state
		}
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return &File{
		Desc:   oci.Descriptor{MediaType: mt, Digest: digest.NewDigest(digest.SHA256, blobHash), Size: n.n},
		DiffID: digest.NewDigest(digest.SHA256, diffHash),
		Path:   f.Name(),
	}, nil
}

// Open opens the spooled blob for reading.
func (f *File) Open() (*os.File, error) { return os.Open(f.Path) }

// Remove deletes the spooled blob.
func (f *File) Remove() error { return os.Remove(f.Path) }

// counter counts the bytes written through it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
