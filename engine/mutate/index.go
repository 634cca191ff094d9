package mutate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// IndexOptions tune index creation and editing.
type IndexOptions struct {
	// ManifestLimit bounds manifest and config reads; <= 0 means
	// oci.DefaultManifestLimit.
	ManifestLimit int64
	// Docker makes CreateIndex write a Docker manifest list instead of an
	// OCI image index.
	Docker bool
	// Annotations are set on the index.
	Annotations map[string]string
}

func (o IndexOptions) limit() int64 { return Options{ManifestLimit: o.ManifestLimit}.limit() }

// CreateIndex builds an index of the given manifests and pushes it, with
// everything they reference, to dst. A member that is itself an index
// contributes its entries. Each image entry's platform comes from its
// index entry or, for a lone manifest, from its config; members may live
// in different repositories than dst.
//
// image-spec v1.1.1 image-index.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md
func CreateIndex(ctx context.Context, members []Image, dst transport.Target, tag string, opts IndexOptions) (*Result, error) {
	fail := func(err error) (*Result, error) { return nil, &Error{Op: "index create", Err: err} }
	if len(members) == 0 {
		return fail(fmt.Errorf("an index needs at least one manifest: %w", errdef.ErrInvalid))
	}
	st := newStage(members[0].Src, opts.limit())
	defer st.close()
	var entries []oci.Descriptor
	for _, m := range members {
		ds, err := memberEntries(ctx, st, m)
		if err != nil {
			return fail(err)
		}
		for _, d := range ds {
			entries = replaceEntry(entries, d)
		}
	}
	mt := oci.MediaTypeImageIndex
	if opts.Docker {
		mt = oci.MediaTypeDockerManifestList
	}
	idx := object{}
	idx.set("schemaVersion", 2)
	idx.set("mediaType", mt)
	if err := idx.set("manifests", entries); err != nil {
		return fail(err)
	}
	if len(opts.Annotations) > 0 {
		idx.set("annotations", opts.Annotations)
	}
	return pushIndex(ctx, st, idx, mt, dst, tag, "", "index create")
}

// AddToIndex adds manifests to the index idx names and pushes the new
// index to dst: an entry with the same platform (or digest) as a new one is
// replaced, others are kept in order, new ones appended.
func AddToIndex(ctx context.Context, idx Image, members []Image, dst transport.Target, tag string, opts IndexOptions) (*Result, error) {
	return editIndex(ctx, "index add", idx, dst, tag, opts, func(st *stage, entries []oci.Descriptor) ([]oci.Descriptor, error) {
		for _, m := range members {
			ds, err := memberEntries(ctx, st, m)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				entries = replaceEntry(entries, d)
			}
		}
		return entries, nil
	})
}

// RemoveFromIndex removes the entries matching any of platforms
// (os/arch[/variant]; no variant matches any) from the index idx names and
// pushes the new index to dst. Matching nothing is errdef.ErrNotFound.
func RemoveFromIndex(ctx context.Context, idx Image, platforms []string, dst transport.Target, tag string, opts IndexOptions) (*Result, error) {
	scope, err := oci.ParsePlatforms(platforms)
	if err != nil {
		return nil, &Error{Op: "index remove", Err: err}
	}
	if len(scope) == 0 {
		return nil, &Error{Op: "index remove", Err: fmt.Errorf("name at least one platform to remove: %w", errdef.ErrInvalid)}
	}
	return editIndex(ctx, "index remove", idx, dst, tag, opts, func(_ *stage, entries []oci.Descriptor) ([]oci.Descriptor, error) {
		kept := []oci.Descriptor{}
		for _, e := range entries {
			drop := false
			for _, want := range scope {
				drop = drop || oci.PlatformMatches(want, e.Platform)
			}
			if !drop {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(entries) {
			return nil, fmt.Errorf("no entry for platform %s: %w", joinScope(scope), errdef.ErrNotFound)
		}
		return kept, nil
	})
}

// editIndex reads the index idx names, lets edit change its entries, and
// pushes the result; members of the index other than manifests and
// annotations are kept.
func editIndex(ctx context.Context, op string, idx Image, dst transport.Target, tag string, opts IndexOptions, edit func(*stage, []oci.Descriptor) ([]oci.Descriptor, error)) (*Result, error) {
	fail := func(err error) (*Result, error) { return nil, &Error{Op: op, Err: err} }
	desc, err := idx.Src.Resolve(ctx, idx.Ref)
	if err != nil {
		return fail(err)
	}
	if !oci.IsIndex(desc.MediaType) {
		return nil, &Error{Op: op, Digest: desc.Digest, Err: fmt.Errorf("%s is a %s, not an index: %w", desc.Digest, desc.MediaType, errdef.ErrInvalid)}
	}
	st := newStage(idx.Src, opts.limit())
	defer st.close()
	raw, err := transport.FetchAll(ctx, idx.Src, desc, opts.limit())
	if err != nil {
		return fail(err)
	}
	m, err := oci.ParseManifest(desc.MediaType, raw)
	if err != nil {
		return fail(err)
	}
	obj, err := parseObject(raw, "index")
	if err != nil {
		return fail(err)
	}
	entries, err := edit(st, append([]oci.Descriptor{}, m.Manifests...))
	if err != nil {
		return nil, &Error{Op: op, Digest: desc.Digest, Err: err}
	}
	if err := obj.set("manifests", entries); err != nil {
		return fail(err)
	}
	if len(opts.Annotations) > 0 {
		a := map[string]string{}
		obj.get("annotations", &a)
		if a == nil {
			a = map[string]string{}
		}
		editAnnotations(a, opts.Annotations, nil)
		obj.set("annotations", a)
	}
	return pushIndex(ctx, st, obj, desc.MediaType, dst, tag, desc.Digest, op)
}

// pushIndex stages the index object and pushes it.
func pushIndex(ctx context.Context, st *stage, idx object, mediaType string, dst transport.Target, tag string, source digest.Digest, op string) (*Result, error) {
	b, err := idx.bytes()
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	d := st.putJSON(mediaType, b)
	res, err := st.push(ctx, d, dst, tag, source, nil)
	if err != nil {
		return nil, &Error{Op: op, Digest: source, Err: err}
	}
	return res, nil
}

// memberEntries returns the index entries member m contributes and borrows
// their content from m's source.
func memberEntries(ctx context.Context, st *stage, m Image) ([]oci.Descriptor, error) {
	desc, err := m.Src.Resolve(ctx, m.Ref)
	if err != nil {
		return nil, err
	}
	if err := st.adopt(ctx, m.Src, desc, 0); err != nil {
		return nil, err
	}
	if oci.IsIndex(desc.MediaType) {
		man, err := transport.FetchManifest(ctx, m.Src, desc, st.limit)
		if err != nil {
			return nil, err
		}
		var out []oci.Descriptor
		for _, d := range man.Manifests {
			out = append(out, entryOf(d, d.Platform))
		}
		return out, nil
	}
	img, err := loadImage(ctx, m.Src, desc, st.limit)
	if err != nil {
		return nil, err
	}
	var plat *oci.Platform
	if img.cfg != nil {
		var p oci.Platform
		for k, v := range map[string]any{"os": &p.OS, "architecture": &p.Architecture, "variant": &p.Variant, "os.version": &p.OSVersion, "os.features": &p.OSFeatures} {
			if _, err := img.cfg.get(k, v); err != nil {
				return nil, fmt.Errorf("config of %s: %w", desc.Digest, err)
			}
		}
		if p.OS != "" || p.Architecture != "" {
			plat = &p
		}
	}
	return []oci.Descriptor{entryOf(desc, plat)}, nil
}

// entryOf is the index entry for desc: what addresses the content, its
// platform, and no transport annotations (a layout's ref.name).
func entryOf(desc oci.Descriptor, p *oci.Platform) oci.Descriptor {
	return oci.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: desc.ArtifactType, Platform: p, Annotations: withoutRefName(desc.Annotations)}
}

func withoutRefName(a map[string]string) map[string]string {
	var out map[string]string
	for k, v := range a {
		if k == "org.opencontainers.image.ref.name" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// replaceEntry puts d in entries in place of an entry with the same digest
// or the same platform, or appends it.
func replaceEntry(entries []oci.Descriptor, d oci.Descriptor) []oci.Descriptor {
	for i, e := range entries {
		if e.Digest == d.Digest || (d.Platform != nil && e.Platform != nil && samePlatform(e.Platform, d.Platform)) {
			entries[i] = d
			return entries
		}
	}
	return append(entries, d)
}

func samePlatform(a, b *oci.Platform) bool {
	if oci.IsAttestationPlatform(a) {
		// Each attestation describes another entry.
		return false
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
