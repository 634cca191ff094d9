package engine

import (
	"context"
	"io"

	"github.com/stevedore-dev/stevedore/engine/artifact"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// PushArtifact pushes files as one OCI artifact to to, tagged with its tag
// (an untagged oci:DIR records it in index.json), as engine/artifact's
// Push does, and returns the artifact's manifest descriptor.
func (e *Engine) PushArtifact(ctx context.Context, to transport.Ref, files []artifact.File, opts artifact.PushOptions) (oci.Descriptor, error) {
	var d oci.Descriptor
	err := needDestination(to)
	if err == nil {
		err = e.write(ctx, to, func(dst transport.Target) (err error) {
			d, err = artifact.Push(ctx, dst, to.TagName(), files, opts)
			return err
		})
	}
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "artifact push", Ref: to.String(), Err: err}
	}
	return d, nil
}

// AttachArtifact pushes files as an artifact whose subject is the manifest
// ref names, beside it, so that it is listed among its referrers
// (engine/artifact's Attach). opts.ArtifactType is required.
func (e *Engine) AttachArtifact(ctx context.Context, ref transport.Ref, files []artifact.File, opts artifact.PushOptions) (oci.Descriptor, error) {
	var d oci.Descriptor
	err := e.read(ctx, "artifact attach", ref, func(src transport.Source) error {
		return e.write(ctx, ref, func(dst transport.Target) (err error) {
			d, err = artifact.Attach(ctx, src, dst, ref.Identifier(), files, opts)
			return err
		})
	})
	return d, err
}

// PullArtifact writes the files of the artifact ref names under dir
// (engine/artifact's Pull): titles checked, every file verified before it
// is renamed into place, nothing written outside dir.
func (e *Engine) PullArtifact(ctx context.Context, ref transport.Ref, dir string, opts artifact.PullOptions) (res *artifact.PullResult, err error) {
	opts.ManifestLimit = e.limit(opts.ManifestLimit)
	err = e.read(ctx, "artifact pull", ref, func(src transport.Source) error {
		res, err = artifact.Pull(ctx, src, ref.Identifier(), dir, opts)
		return err
	})
	return res, err
}

// Artifact is an artifact opened for reading: its files, listed and
// checked as PullArtifact checks them, for a caller that sends them
// elsewhere (the API streams them). Close it when done.
type Artifact struct {
	*artifact.PullResult
	src transport.Source
}

// Open streams the layer of f, one of a.Files, verified: reading it to the
// end fails with errdef.ErrDigestMismatch or errdef.ErrSizeMismatch
// instead of io.EOF when the bytes are not the layer's.
func (a *Artifact) Open(ctx context.Context, f artifact.PulledFile) (io.ReadCloser, error) {
	return a.src.Fetch(ctx, f.Descriptor)
}

// Close releases what the artifact's source holds open.
func (a *Artifact) Close() error {
	closeT(a.src)
	return nil
}

// OpenArtifact opens the artifact ref names and lists its files.
func (e *Engine) OpenArtifact(ctx context.Context, ref transport.Ref) (*Artifact, error) {
	fail := func(err error) (*Artifact, error) {
		return nil, &Error{Op: "artifact pull", Ref: ref.String(), Err: err}
	}
	src, err := e.open(ctx, ref)
	if err != nil {
		return fail(err)
	}
	res, err := artifact.List(ctx, src, ref.Identifier(), artifact.PullOptions{ManifestLimit: e.opts.ManifestLimit})
	if err != nil {
		closeT(src)
		return fail(err)
	}
	return &Artifact{PullResult: res, src: src}, nil
}

// DiscoverReferrers lists the referrers of the manifest ref names, and
// theirs, as a tree (engine/artifact's Discover).
func (e *Engine) DiscoverReferrers(ctx context.Context, ref transport.Ref, opts artifact.DiscoverOptions) (n *artifact.Node, err error) {
	err = e.read(ctx, "artifact discover", ref, func(src transport.Source) error {
		n, err = artifact.Discover(ctx, src, ref.Identifier(), opts)
		return err
	})
	return n, err
}

// limit is n, or the engine's manifest limit when n <= 0.
func (e *Engine) limit(n int64) int64 {
	if n <= 0 {
		return e.opts.ManifestLimit
	}
	return n
}
