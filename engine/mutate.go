package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// WriteResult is what a verb that writes a new image or index reports:
// what it wrote and where.
type WriteResult struct {
	mutate.Result
	// Destination is the reference the result was written to.
	Destination string `json:"destination"`
}

// MutateOptions are the edits Mutate makes and where the result goes. The
// edits run in the order of the fields below (the order `stevedore mutate`
// documents); a zero field changes nothing, and at least one must change
// something.
type MutateOptions struct {
	// To is where the new image is written; the zero Ref means the
	// source's own repository (or layout) and tag, which then names the
	// new image. An archive is never written back to: name To.
	To transport.Ref
	// Platforms limits the edit of an index to the entries of these
	// platforms (os/arch[/variant]); empty edits every entry.
	Platforms []string

	// RemoveLayers drops layers by index (0 is the base, -1 the top).
	RemoveLayers []int
	// Flatten squashes the layers into one; its compression, when empty,
	// is Recompress's (then gzip).
	Flatten *mutate.Flatten
	// Recompress rewrites the layers with this compression (without
	// Flatten).
	Recompress layer.Compression
	// Convert rewrites media types to mutate.FormatOCI or
	// mutate.FormatDocker.
	Convert string
	// Config edits the image config.
	Config mutate.Config
	// Annotations edits each image manifest's annotations.
	Annotations mutate.Annotations
	// IndexAnnotations edits the index's own annotations (an index only).
	IndexAnnotations mutate.IndexAnnotations
}

// steps turns the edits into engine/mutate steps, in order.
func (o MutateOptions) steps() ([]mutate.Step, error) {
	var steps []mutate.Step
	if len(o.RemoveLayers) > 0 {
		steps = append(steps, mutate.RemoveLayers{Indexes: o.RemoveLayers})
	}
	switch {
	case o.Flatten != nil:
		f := *o.Flatten
		if f.Compression == "" {
			f.Compression = o.Recompress
		}
		steps = append(steps, f)
	case o.Recompress != "":
		steps = append(steps, mutate.Recompress{To: o.Recompress})
	}
	switch o.Convert {
	case "":
	case mutate.FormatOCI, mutate.FormatDocker:
		steps = append(steps, mutate.Convert{To: o.Convert})
	default:
		return nil, fmt.Errorf("convert %q: want oci or docker: %w", o.Convert, errdef.ErrInvalid)
	}
	if !o.Config.IsZero() {
		steps = append(steps, o.Config)
	}
	if len(o.Annotations.Set) > 0 || len(o.Annotations.Remove) > 0 {
		steps = append(steps, o.Annotations)
	}
	if len(o.IndexAnnotations.Set) > 0 || len(o.IndexAnnotations.Remove) > 0 {
		steps = append(steps, o.IndexAnnotations)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("no edit given: %w", errdef.ErrInvalid)
	}
	return steps, nil
}

// Mutate writes a new image made of the image or index ref names with the
// edits opts asks for (see engine/mutate) and returns it; ref itself is
// never changed: its digest still names the old image.
func (e *Engine) Mutate(ctx context.Context, ref transport.Ref, opts MutateOptions) (*WriteResult, error) {
	res, err := e.mutate(ctx, ref, opts.To, opts.Platforms, func() ([]mutate.Step, func(), error) {
		steps, err := opts.steps()
		return steps, func() {}, err
	})
	if err != nil {
		return nil, &Error{Op: "mutate", Ref: ref.String(), Err: err}
	}
	return res, nil
}

// RebaseOptions say which base Rebase replaces by which.
type RebaseOptions struct {
	// To is where the new image is written, as for MutateOptions.To.
	To transport.Ref
	// Platforms limits the rebase of an index to these platforms.
	Platforms []string
	// OldBase is the image the source was built on; the zero Ref means the
	// one the source's base annotations record
	// (org.opencontainers.image.base.name and .digest).
	OldBase transport.Ref
	// NewBase is the image to move it onto; required.
	NewBase transport.Ref
}

// Rebase writes a new image made of the image ref names moved from one
// base image to another (mutate.Rebase): its first layers, which must be
// exactly OldBase's, become NewBase's. ref itself is never changed.
func (e *Engine) Rebase(ctx context.Context, ref transport.Ref, opts RebaseOptions) (*WriteResult, error) {
	res, err := e.mutate(ctx, ref, opts.To, opts.Platforms, func() ([]mutate.Step, func(), error) {
		return e.rebaseStep(ctx, ref, opts)
	})
	if err != nil {
		return nil, &Error{Op: "rebase", Ref: ref.String(), Err: err}
	}
	return res, nil
}

// rebaseStep opens the bases of a rebase; the function returned closes
// them.
func (e *Engine) rebaseStep(ctx context.Context, ref transport.Ref, opts RebaseOptions) ([]mutate.Step, func(), error) {
	if opts.NewBase.IsZero() {
		return nil, nil, fmt.Errorf("no new base given: %w", errdef.ErrInvalid)
	}
	oldRef := opts.OldBase
	if oldRef.IsZero() {
		var err error
		if oldRef, err = e.recordedBase(ctx, ref); err != nil {
			return nil, nil, err
		}
	}
	bases, closeAll, err := e.openImages(ctx, []transport.Ref{oldRef, opts.NewBase})
	if err != nil {
		return nil, nil, err
	}
	return []mutate.Step{mutate.Rebase{OldBase: bases[0], NewBase: bases[1]}}, closeAll, nil
}

// recordedBase returns the base the base annotations of the manifest ref
// names record.
func (e *Engine) recordedBase(ctx context.Context, ref transport.Ref) (transport.Ref, error) {
	var m *oci.Manifest
	err := e.read(ctx, "read", ref, func(src transport.Source) (err error) {
		m, err = e.resolveManifest(ctx, src, ref.Identifier())
		return err
	})
	if err != nil {
		return transport.Ref{}, err
	}
	name, dgst := m.Annotations[mutate.AnnotationBaseName], m.Annotations[mutate.AnnotationBaseDigest]
	if name == "" || dgst == "" {
		return transport.Ref{}, fmt.Errorf("%s records no base (%s and %s annotations); name the old base: %w", ref, mutate.AnnotationBaseName, mutate.AnnotationBaseDigest, errdef.ErrInvalid)
	}
	base, err := transport.ParseRef(name + "@" + dgst)
	if err != nil {
		return transport.Ref{}, fmt.Errorf("%s records base %s@%s: %w", ref, name, dgst, err)
	}
	return base, nil
}

// mutate applies the steps made by makeSteps to the image ref names and
// writes the result to the destination to says (see destination).
func (e *Engine) mutate(ctx context.Context, ref, to transport.Ref, platforms []string, makeSteps func() ([]mutate.Step, func(), error)) (*WriteResult, error) {
	dst, err := destination(ref, to)
	if err != nil {
		return nil, err
	}
	steps, closeSteps, err := makeSteps()
	if err != nil {
		return nil, err
	}
	defer closeSteps()
	opts := mutate.Options{Platforms: platforms, ManifestLimit: e.opts.ManifestLimit}
	return e.rewrite(ctx, ref, dst, func(img mutate.Image, t transport.Target) (*mutate.Result, error) {
		return mutate.Apply(ctx, img, t, dst.TagName(), opts, steps...)
	})
}

// rewrite opens the image ref names and writes what fn makes of it to dst.
func (e *Engine) rewrite(ctx context.Context, ref, dst transport.Ref, fn func(mutate.Image, transport.Target) (*mutate.Result, error)) (*WriteResult, error) {
	img, err := e.openImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer closeT(img.Src)
	var res *mutate.Result
	err = e.write(ctx, dst, func(t transport.Target) (err error) {
		res, err = fn(img, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &WriteResult{Result: *res, Destination: dst.String()}, nil
}

// openImage opens the image ref names for reading, as engine/mutate takes
// it. Close img.Src when done.
func (e *Engine) openImage(ctx context.Context, ref transport.Ref) (mutate.Image, error) {
	src, err := e.open(ctx, ref)
	if err != nil {
		return mutate.Image{}, err
	}
	return mutate.Image{Src: src, Ref: ref.Identifier(), Name: imageName(ref)}, nil
}

// openImages opens each of refs; the function returned closes them all.
func (e *Engine) openImages(ctx context.Context, refs []transport.Ref) ([]mutate.Image, func(), error) {
	var imgs []mutate.Image
	closeAll := func() {
		for _, img := range imgs {
			closeT(img.Src)
		}
	}
	for _, r := range refs {
		img, err := e.openImage(ctx, r)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: %w", r, err)
		}
		imgs = append(imgs, img)
	}
	return imgs, closeAll, nil
}

// IndexOptions say where an index verb writes and what the index carries.
type IndexOptions struct {
	// To is where the index is written: required by CreateIndex; for
	// AddToIndex and RemoveFromIndex the zero Ref means the index's own
	// repository (or layout) and tag.
	To transport.Ref
	// Docker makes CreateIndex write a Docker manifest list instead of an
	// OCI image index.
	Docker bool
	// Annotations are set on the index.
	Annotations map[string]string
}

func (o IndexOptions) mutate(limit int64) mutate.IndexOptions {
	return mutate.IndexOptions{Docker: o.Docker, Annotations: o.Annotations, ManifestLimit: limit}
}

// CreateIndex writes an index listing each of members (an index member
// contributes its entries) with its platform, and everything they
// reference, to opts.To (mutate.CreateIndex).
func (e *Engine) CreateIndex(ctx context.Context, members []transport.Ref, opts IndexOptions) (*WriteResult, error) {
	res, err := e.createIndex(ctx, members, opts)
	if err != nil {
		return nil, &Error{Op: "index create", Ref: opts.To.String(), Err: err}
	}
	return res, nil
}

func (e *Engine) createIndex(ctx context.Context, members []transport.Ref, opts IndexOptions) (*WriteResult, error) {
	if err := needDestination(opts.To); err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("an index needs at least one member: %w", errdef.ErrInvalid)
	}
	imgs, closeAll, err := e.openImages(ctx, members)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	var res *mutate.Result
	err = e.write(ctx, opts.To, func(t transport.Target) (err error) {
		res, err = mutate.CreateIndex(ctx, imgs, t, opts.To.TagName(), opts.mutate(e.opts.ManifestLimit))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &WriteResult{Result: *res, Destination: opts.To.String()}, nil
}

// AddToIndex writes a new index: the entries of the index ref names, with
// each of members added (an entry of the same platform or digest is
// replaced in place). ref itself is never changed.
func (e *Engine) AddToIndex(ctx context.Context, ref transport.Ref, members []transport.Ref, opts IndexOptions) (*WriteResult, error) {
	res, err := e.editIndex(ctx, ref, opts, members, func(idx mutate.Image, members []mutate.Image, t transport.Target, tag string) (*mutate.Result, error) {
		return mutate.AddToIndex(ctx, idx, members, t, tag, opts.mutate(e.opts.ManifestLimit))
	})
	if err != nil {
		return nil, &Error{Op: "index add", Ref: ref.String(), Err: err}
	}
	return res, nil
}

// RemoveFromIndex writes a new index: the entries of the index ref names
// but those of platforms (os/arch[/variant]; no variant matches any). ref
// itself is never changed.
func (e *Engine) RemoveFromIndex(ctx context.Context, ref transport.Ref, platforms []string, opts IndexOptions) (*WriteResult, error) {
	res, err := e.editIndex(ctx, ref, opts, nil, func(idx mutate.Image, _ []mutate.Image, t transport.Target, tag string) (*mutate.Result, error) {
		return mutate.RemoveFromIndex(ctx, idx, platforms, t, tag, opts.mutate(e.opts.ManifestLimit))
	})
	if err != nil {
		return nil, &Error{Op: "index remove", Ref: ref.String(), Err: err}
	}
	return res, nil
}

// editIndex opens the index ref names and members, and writes what fn
// makes of them to opts.To (default: ref).
func (e *Engine) editIndex(ctx context.Context, ref transport.Ref, opts IndexOptions, members []transport.Ref, fn func(mutate.Image, []mutate.Image, transport.Target, string) (*mutate.Result, error)) (*WriteResult, error) {
	dst, err := destination(ref, opts.To)
	if err != nil {
		return nil, err
	}
	imgs, closeAll, err := e.openImages(ctx, members)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	return e.rewrite(ctx, ref, dst, func(idx mutate.Image, t transport.Target) (*mutate.Result, error) {
		return fn(idx, imgs, t, dst.TagName())
	})
}

// Tag points each of tags at the manifest ref names, in ref's own
// repository or layout: nothing is copied (a tag elsewhere is a Copy).
// It returns the tagged manifest.
//
// distribution-spec v1.1.1 §Pushing manifests (a tag is a manifest PUT by tag):
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#pushing-manifests
func (e *Engine) Tag(ctx context.Context, ref transport.Ref, tags []string) (*WriteResult, error) {
	res, err := e.tag(ctx, ref, tags)
	if err != nil {
		return nil, &Error{Op: "tag", Ref: ref.String(), Err: err}
	}
	return res, nil
}

func (e *Engine) tag(ctx context.Context, ref transport.Ref, tags []string) (*WriteResult, error) {
	if ref.Transport == transport.OCIArchive || ref.Transport == transport.DockerArchive {
		return nil, fmt.Errorf("tagging inside %s (copy to a new archive instead): %w", ref.Transport, errdef.ErrUnsupported)
	}
	for _, t := range tags {
		if err := oci.ValidateTag(t); err != nil {
			return nil, err
		}
	}
	dst := ref
	dst.Tag, dst.Digest, dst.Image.Tag, dst.Image.Digest = "", "", "", ""
	return e.rewrite(ctx, ref, dst, func(img mutate.Image, t transport.Target) (*mutate.Result, error) {
		return mutate.Tag(ctx, img, t, tags)
	})
}

// Untag removes the tag ref names; the manifest it named stays (see
// Delete with DeleteOptions.TagOnly, which it is). It returns the
// descriptor the tag named.
func (e *Engine) Untag(ctx context.Context, ref transport.Ref) (oci.Descriptor, error) {
	desc, err := e.delete(ctx, ref, DeleteOptions{TagOnly: true})
	if err != nil {
		return oci.Descriptor{}, &Error{Op: "untag", Ref: ref.String(), Err: err}
	}
	return desc, nil
}
