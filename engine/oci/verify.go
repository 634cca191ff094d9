package oci

import (
	// Register the hashes go-digest verifies with (sha256, sha512).
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"hash"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// VerifyError says which content failed verification and how. It matches
// errdef.ErrDigestMismatch or errdef.ErrSizeMismatch through errors.Is.
type VerifyError struct {
	Digest   digest.Digest // what the content was addressed by
	Got      digest.Digest // what the bytes hashed to; empty for a size failure
	Size     int64         // the declared size
	GotSize  int64         // bytes seen (for a size failure, possibly only a lower bound)
	sentinel error
}

func (e *VerifyError) Error() string {
	if e.sentinel == errdef.ErrSizeMismatch {
		return fmt.Sprintf("content %s: size mismatch: declared %d bytes, got %d", e.Digest, e.Size, e.GotSize)
	}
	return fmt.Sprintf("content %s: digest mismatch: bytes hash to %s", e.Digest, e.Got)
}

// Unwrap returns the error class.
func (e *VerifyError) Unwrap() error { return e.sentinel }

// verifyReader hashes what passes through it and checks digest and size at EOF,
// so that no caller can read a blob to the end without it being verified.
type verifyReader struct {
	r    io.Reader
	h    hash.Hash
	want digest.Digest
	size int64 // < 0: unknown
	n    int64
	err  error // sticky result once decided
}

// NewVerifyReader returns a reader that yields r's bytes and, instead of io.EOF,
// returns a *VerifyError when the content does not match d and size. A negative
// size skips the size check. It also fails as soon as more than size bytes arrive,
// so a hostile source cannot stream forever. The algorithm of d must be available
// (call ValidateDigest first; unknown algorithms fail on the first Read).
func NewVerifyReader(r io.Reader, d digest.Digest, size int64) io.Reader {
	v := &verifyReader{r: r, want: d, size: size}
	if !d.Algorithm().Available() {
		v.err = fmt.Errorf("digest %q: unsupported algorithm: %w", d, errdef.ErrInvalid)
		return v
	}
	v.h = d.Algorithm().Hash()
	return v
}

func (v *verifyReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.size >= 0 && int64(len(p)) > v.size-v.n+1 {
		// Read at most one byte past the declared size: enough to detect overflow.
		p = p[:v.size-v.n+1]
	}
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		v.err = &VerifyError{Digest: v.want, Size: v.size, GotSize: v.n, sentinel: errdef.ErrSizeMismatch}
		return n - int(v.n-v.size), v.err
	}
	if err == io.EOF {
		switch got := digest.NewDigest(v.want.Algorithm(), v.h); {
		case v.size >= 0 && v.n != v.size:
			v.err = &VerifyError{Digest: v.want, Size: v.size, GotSize: v.n, sentinel: errdef.ErrSizeMismatch}
		case got != v.want:
			v.err = &VerifyError{Digest: v.want, Got: got, Size: v.size, GotSize: v.n, sentinel: errdef.ErrDigestMismatch}
		default:
			v.err = io.EOF
		}
		return n, v.err
	}
	return n, err
}

// ReadAllVerified reads all of r, at most limit bytes, and verifies it against d
// and size (negative: unknown). Content larger than limit fails with
// errdef.ErrTooLarge before it is all read. Use it for manifests and configs only;
// layers are streamed, never read whole.
func ReadAllVerified(r io.Reader, d digest.Digest, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, fmt.Errorf("content %s is %d bytes, over the %d byte limit: %w", d, size, limit, errdef.ErrTooLarge)
	}
	b, err := ReadAllLimited(NewVerifyReader(r, d, size), limit)
	if err != nil {
		return nil, fmt.Errorf("content %s: %w", d, err)
	}
	return b, nil
}

// ReadAllLimited reads all of r but fails with errdef.ErrTooLarge once more than
// limit bytes arrive.
func ReadAllLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("content over the %d byte limit: %w", limit, errdef.ErrTooLarge)
	}
	return b, nil
}

// DefaultManifestLimit bounds manifest reads, as registries bound manifest PUTs.
const DefaultManifestLimit = 4 << 20
