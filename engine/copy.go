package engine

import (
	"context"
	"fmt"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Copy copies the image, index or artifact srcRef names to dstRef, both in
// skopeo's syntax (docker://HOST/REPO:TAG or a bare registry reference,
// oci:DIR[:TAG]); see copy.Copy for what is copied and how. dstRef's tag
// (a registry reference without one means "latest") is set last; an
// untagged oci:DIR records the image in the layout's index.json. A digest in
// dstRef is refused: the digest is the source's to decide.
func (e *Engine) Copy(ctx context.Context, srcRef, dstRef string, opts imgcopy.Options) (*imgcopy.Result, error) {
	desc := srcRef + " -> " + dstRef
	fail := func(err error) (*imgcopy.Result, error) { return nil, &Error{Op: "copy", Ref: desc, Err: err} }
	sr, err := transport.ParseRef(srcRef)
	if err != nil {
		return fail(err)
	}
	dr, err := transport.ParseRef(dstRef)
	if err != nil {
		return fail(err)
	}
	desc = sr.String() + " -> " + dr.String()
	tag := dr.Tag
	if dr.Transport == transport.Docker {
		tag = dr.Image.Tag
	}
	if dr.Digest != "" || dr.Image.Digest != "" {
		return fail(fmt.Errorf("destination %s names a digest; name a tag or nothing (the copy keeps the source's digest): %w", dr, errdef.ErrInvalid))
	}
	src, err := e.Open(ctx, sr)
	if err != nil {
		return nil, err
	}
	dst, err := e.OpenTarget(ctx, dr)
	if err != nil {
		return nil, err
	}
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = e.opts.ManifestLimit
	}
	res, err := imgcopy.Copy(ctx, src, sr.Identifier(), dst, tag, opts)
	if err != nil {
		return fail(err)
	}
	return res, nil
}
