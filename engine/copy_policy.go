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
func (e *Engine) CopyVerified(ctx context.Context, srcRef, dstRef transport.Ref, pol *policy.Policy, opts imgcopy.Options) (*imgcopy.Result, error) {
	fail := func(err error) (*imgcopy.Result, error) {
		return nil, &Error{Op: "copy", Ref: srcRef.String() + " -> " + dstRef.String(), Err: err}
	}
	src, err := e.open(ctx, srcRef)
	if err != nil {
		return fail(err)
	}
	desc, err := pol.Check(ctx, src, srcRef.Identifier(), e.policyName(srcRef))
	closeT(src)
	if err != nil {
		return fail(err)
	}
	switch srcRef.Transport {
	case transport.Docker, transport.Store:
		srcRef.Image.Tag, srcRef.Image.Digest = "", desc.Digest
	case transport.OCI, transport.OCIArchive:
		srcRef.Tag, srcRef.Digest = "", desc.Digest
	}
	opts.Referrers = true
	return e.Copy(ctx, srcRef, dstRef, opts)
}

// policyName is what a trust policy's patterns match ref by (policy.Name),
// with the served store named as clients of its registry port name it.
func (e *Engine) policyName(ref transport.Ref) string {
	if _, ok, _ := e.served(ref); ok && len(e.opts.ServedHosts) > 0 {
		return e.opts.ServedHosts[0] + "/" + ref.Image.Repository
	}
	return policy.Name(ref)
}
