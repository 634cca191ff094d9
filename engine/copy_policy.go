package engine

import (
	"context"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// CopyVerified is Copy behind a trust policy: the source image is checked
// against pol before the destination is opened, so a refused image leaves
// nothing behind (not even a new oci: layout directory); the refusal is a
// *policy.Error matching errdef.ErrDenied. What is copied is the digest that
// was verified, not whatever the tag names by the time the copy reads it,
// and it is copied with its referrers and cosign tags (opts.Referrers is
// forced on) so the signatures that let it through verify at the
// destination too.
func (e *Engine) CopyVerified(ctx context.Context, srcRef, dstRef string, pol *policy.Policy, opts imgcopy.Options) (*imgcopy.Result, error) {
	sr, err := transport.ParseRef(srcRef)
	if err != nil {
		return nil, &Error{Op: "copy", Ref: srcRef + " -> " + dstRef, Err: err}
	}
	// The destination is checked before the (possibly slow) verification.
	if _, err := transport.ParseRef(dstRef); err != nil {
		return nil, &Error{Op: "copy", Ref: sr.String() + " -> " + dstRef, Err: err}
	}
	src, err := e.Open(ctx, sr)
	if err != nil {
		return nil, err
	}
	desc, err := pol.Check(ctx, src, sr.Identifier(), policy.Name(sr))
	if err != nil {
		return nil, &Error{Op: "copy", Ref: sr.String() + " -> " + dstRef, Err: err}
	}
	switch sr.Transport {
	case transport.Docker:
		sr.Image.Tag, sr.Image.Digest = "", desc.Digest
	case transport.OCI, transport.OCIArchive:
		sr.Tag, sr.Digest = "", desc.Digest
	}
	opts.Referrers = true
	return e.Copy(ctx, sr.String(), dstRef, opts)
}
