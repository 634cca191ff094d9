package build

import (
	"context"
	"fmt"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Build makes one image from opts.Layers on base (nil: scratch) and writes
// it to dst, tagged tag ("" leaves it untagged, recorded in a layout's
// index.json). A base that is an index contributes the manifest of
// opts.Platform (default linux/<host arch>); its layers are referenced as
// they are and copied into dst if dst lacks them. Layers are spooled to
// temporary files (removed before Build returns) so their digests are known
// before they are pushed. A dst that is a transport.Committer is committed
// last, or aborted on failure.
func Build(ctx context.Context, dst transport.Target, tag string, base *Base, opts Options) (*Result, error) {
	var res *Result
	name := ""
	if base != nil {
		name = base.Name
	}
	err := committed(ctx, dst, func() error {
		a, err := newAssembler(sourceOf(base), name, dst, opts, "build")
		if err != nil {
			return err
		}
		defer a.close()
		plat, err := parsePlatform(opts.Platform)
		if err != nil {
			return err
		}
		var m *oci.Manifest
		if base != nil {
			if m, err = resolveImage(ctx, base, plat, a.opts.ManifestLimit); err != nil {
				return err
			}
		}
		if err := a.spool(ctx); err != nil {
			return err
		}
		desc, err := a.image(ctx, m, plat)
		if err != nil {
			return err
		}
		if err := finish(ctx, dst, desc, tag); err != nil {
			return err
		}
		res = a.result(desc)
		return nil
	})
	if err != nil {
		return nil, &Error{Op: "build", Ref: name, Err: err}
	}
	return res, nil
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
	for _, d := range m.Manifests {
		if !matches(d.Platform, plat) {
			continue
		}
		child, err := transport.FetchManifest(ctx, base.Source, d, limit)
		if err != nil {
			return nil, err
		}
		if child.IsIndex() {
			return nil, fmt.Errorf("index %s: platform entry %s is itself an index: %w", m.Digest, child.Digest, errdef.ErrUnsupported)
		}
		return child, nil
	}
	return nil, fmt.Errorf("index %s has no manifest for platform %s: %w", m.Digest, oci.PlatformString(plat), errdef.ErrNotFound)
}
