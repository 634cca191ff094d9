package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// write opens ref for writing, runs fn with it and publishes what fn
// wrote: an archive (a transport.Committer, which assembles the file in
// private) is committed when fn succeeded and aborted when it failed. This
// is the one place where archives are committed; the packages that write
// (copy, mutate, build, artifact, sign) leave it to their caller.
func (e *Engine) write(ctx context.Context, ref transport.Ref, fn func(transport.Target) error) error {
	dst, err := e.openTarget(ctx, ref)
	if err != nil {
		return err
	}
	defer closeT(dst)
	err = fn(dst)
	if cm, ok := dst.(transport.Committer); ok {
		if err != nil {
			_ = cm.Abort()
		} else if err = cm.Commit(ctx); err != nil {
			err = fmt.Errorf("writing %s: %w", ref, err)
		}
	}
	return err
}

// destination is where a verb that writes a new image from src puts it:
// to, or src's own repository (or layout) and tag when to is the zero Ref.
// A destination naming a digest is refused (the new content decides its
// digest), and so is writing back into an archive, which would replace it
// whole.
func destination(src, to transport.Ref) (transport.Ref, error) {
	if to.IsZero() {
		if src.Transport == transport.OCIArchive || src.Transport == transport.DockerArchive {
			return to, fmt.Errorf("writing %s would replace the archive; name a destination: %w", src, errdef.ErrInvalid)
		}
		// Back to src's tag; an image named by digest alone is written
		// back untagged.
		to = src
		to.Digest, to.Image.Digest = "", ""
		return to, nil
	}
	if to.DigestName() != "" {
		return to, fmt.Errorf("destination %s names a digest; name a tag or nothing (the digest is the new content's to decide): %w", to, errdef.ErrInvalid)
	}
	return to, nil
}

// needDestination checks a destination that has no default.
func needDestination(to transport.Ref) error {
	if to.IsZero() {
		return fmt.Errorf("no destination given: %w", errdef.ErrInvalid)
	}
	_, err := destination(transport.Ref{}, to)
	return err
}

// imageName is how people know the image ref names (recorded in the base
// annotations by build and rebase): HOST/REPO:TAG for a registry, the
// reference as written otherwise.
func imageName(ref transport.Ref) string {
	if ref.Transport == transport.Docker {
		return ref.Image.String()
	}
	return ref.String()
}
