package engine

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/build"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// BuildResult is what Build and Append report: what they wrote and where.
type BuildResult struct {
	build.Result
	// Destination is the reference the image was written to.
	Destination string `json:"destination"`
}

// BuildOptions are what Build makes and what it starts from.
type BuildOptions struct {
	build.Options
	// Base is the image to build on; the zero Ref means scratch. The
	// layers of its Platform entry (of an index) are referenced as they
	// are and copied to the destination when it lacks them.
	Base transport.Ref
}

// Build makes an image of opts.Layers on opts.Base (see engine/build) and
// writes it to to, tagged with to's tag (an untagged oci:DIR records it in
// index.json).
func (e *Engine) Build(ctx context.Context, to transport.Ref, opts BuildOptions) (*BuildResult, error) {
	res, err := e.build(ctx, to, opts)
	if err != nil {
		return nil, &Error{Op: "build", Ref: to.String(), Err: err}
	}
	return res, nil
}

func (e *Engine) build(ctx context.Context, to transport.Ref, opts BuildOptions) (*BuildResult, error) {
	if err := needDestination(to); err != nil {
		return nil, err
	}
	bo := e.buildOptions(opts.Options)
	if opts.Base.IsZero() {
		if len(bo.Layers) == 0 {
			return nil, fmt.Errorf("nothing to build: no layer and no base: %w", errdef.ErrInvalid)
		}
		return e.writeBuild(ctx, to, func(dst transport.Target) (*build.Result, error) {
			return build.Build(ctx, dst, to.TagName(), nil, bo)
		})
	}
	base, err := e.openImage(ctx, opts.Base)
	if err != nil {
		return nil, err
	}
	defer closeT(base.Src)
	return e.writeBuild(ctx, to, func(dst transport.Target) (*build.Result, error) {
		return build.Build(ctx, dst, to.TagName(), &build.Base{Source: base.Src, Ref: base.Ref, Name: base.Name}, bo)
	})
}

// AppendOptions are the layers Append adds and where the result goes.
type AppendOptions struct {
	build.Options
	// To is where the result is written; the zero Ref means the image's
	// own repository (or layout) and tag, which then names the new image.
	To transport.Ref
}

// Append writes a new image: the image or index ref names with
// opts.Layers on top (on every platform of an index, or those matching
// opts.Platform), as engine/build's Append does. The zero ref appends to
// scratch (opts.To is then required). ref itself is never changed.
func (e *Engine) Append(ctx context.Context, ref transport.Ref, opts AppendOptions) (*BuildResult, error) {
	res, err := e.appendLayers(ctx, ref, opts)
	if err != nil {
		return nil, &Error{Op: "append", Ref: ref.String(), Err: err}
	}
	return res, nil
}

func (e *Engine) appendLayers(ctx context.Context, ref transport.Ref, opts AppendOptions) (*BuildResult, error) {
	bo := e.buildOptions(opts.Options)
	if len(bo.Layers) == 0 {
		return nil, fmt.Errorf("no layer to append: %w", errdef.ErrInvalid)
	}
	if ref.IsZero() {
		return e.build(ctx, opts.To, BuildOptions{Options: bo})
	}
	to, err := destination(ref, opts.To)
	if err != nil {
		return nil, err
	}
	img, err := e.openImage(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer closeT(img.Src)
	return e.writeBuild(ctx, to, func(dst transport.Target) (*build.Result, error) {
		return build.Append(ctx, &build.Base{Source: img.Src, Ref: img.Ref, Name: img.Name}, dst, to.TagName(), bo)
	})
}

// buildOptions fills what the engine decides in build options.
func (e *Engine) buildOptions(o build.Options) build.Options {
	if o.ManifestLimit <= 0 {
		o.ManifestLimit = e.opts.ManifestLimit
	}
	return o
}

// writeBuild runs fn against the target to names.
func (e *Engine) writeBuild(ctx context.Context, to transport.Ref, fn func(transport.Target) (*build.Result, error)) (*BuildResult, error) {
	var res *build.Result
	err := e.write(ctx, to, func(dst transport.Target) (err error) {
		res, err = fn(dst)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &BuildResult{Result: *res, Destination: to.String()}, nil
}
