package build

import (
	"context"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Build makes one image from opts.Layers on base (nil: scratch) and writes
// it to dst, tagged tag ("" leaves it untagged, recorded in a layout's
// index.json). A base that is an index contributes the manifest of
// opts.Platform (default linux/<host arch>); its layers are referenced as
// they are and copied into dst if dst lacks them. Layers are spooled to
// temporary files (removed before Build returns) so their digests are known
// before they are pushed. A dst that is a transport.Committer (an archive)
// is left for the caller to commit or abort.
func Build(ctx context.Context, dst transport.Target, tag string, base *Base, opts Options) (*Result, error) {
	name := ""
	if base != nil {
		name = base.Name
	}
	res, err := build(ctx, dst, tag, base, name, opts)
	if err != nil {
		return nil, &Error{Op: "build", Ref: name, Err: err}
	}
	return res, nil
}

func build(ctx context.Context, dst transport.Target, tag string, base *Base, name string, opts Options) (*Result, error) {
	a, err := newAssembler(sourceOf(base), name, dst, opts, "build")
	if err != nil {
		return nil, err
	}
	defer a.close()
	plat, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	var m *oci.Manifest
	if base != nil {
		if m, err = resolveImage(ctx, base, plat, a.opts.ManifestLimit); err != nil {
			return nil, err
		}
	}
	if err := a.spool(ctx); err != nil {
		return nil, err
	}
	desc, err := a.image(ctx, m, plat)
	if err != nil {
		return nil, err
	}
	if err := finish(ctx, dst, desc, tag); err != nil {
		return nil, err
	}
	return a.result(desc), nil
}

// sourceOf is base's source, or nil on scratch.
func sourceOf(base *Base) transport.Source {
	if base == nil {
		return nil
	}
	return base.Source
}

// resolveImage resolves base to an image manifest, choosing plat's entry of
// an index.
func resolveImage(ctx context.Context, base *Base, plat *oci.Platform, limit int64) (*oci.Manifest, error) {
	desc, err := base.Source.Resolve(ctx, base.Ref)
	if err != nil {
		return nil, err
	}
	m, err := transport.FetchManifest(ctx, base.Source, desc, limit)
	if err != nil {
		return nil, err
	}
	if !m.IsIndex() {
		return m, nil
	}
	return transport.FetchPlatformManifest(ctx, base.Source, m, *plat, limit)
}
