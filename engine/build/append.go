package build

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Append adds opts.Layers on top of the image src names (nil: scratch, as
// crane's --oci-empty-base) and writes the result to dst, tagged tag. The
// source is never changed: the result is a new config and manifest with a
// new digest, and src's tag still names the original unless dst is the same
// repository and tag.
//
// When src names an index, the layers go on every platform's image, or, with
// opts.Platform, only on the matching entries (a scoped append); either way
// the result is a new index in which the other entries are kept as they are
// (and copied into dst if it lacks them). Entries of platform unknown/unknown
// (BuildKit's attestations) are never changed. The new layers are spooled
// and pushed once, whatever the number of platforms.
func Append(ctx context.Context, src *Base, dst transport.Target, tag string, opts Options) (*Result, error) {
	if src == nil {
		return Build(ctx, dst, tag, nil, opts)
	}
	res, err := appendLayers(ctx, src, dst, tag, opts)
	if err != nil {
		return nil, &Error{Op: "append", Ref: src.Name, Err: err}
	}
	return res, nil
}

func appendLayers(ctx context.Context, src *Base, dst transport.Target, tag string, opts Options) (*Result, error) {
	a, err := newAssembler(src.Source, src.Name, dst, opts, "append")
	if err != nil {
		return nil, err
	}
	defer a.close()
	var want *oci.Platform
	if opts.Platform != "" {
		if want, err = parsePlatform(opts.Platform); err != nil {
			return nil, err
		}
	}
	rootDesc, err := src.Source.Resolve(ctx, src.Ref)
	if err != nil {
		return nil, err
	}
	m, err := transport.FetchManifest(ctx, src.Source, rootDesc, a.opts.ManifestLimit)
	if err != nil {
		return nil, err
	}
	if err := a.spool(ctx); err != nil {
		return nil, err
	}
	var desc oci.Descriptor
	if m.IsIndex() {
		desc, err = a.index(ctx, m, want)
	} else {
		desc, err = a.image(ctx, m, nil)
	}
	if err != nil {
		return nil, err
	}
	if err := finish(ctx, dst, desc, tag); err != nil {
		return nil, err
	}
	return a.result(desc), nil
}

// index appends to the entries of idx that want selects (nil: every
// platform) and writes a new index listing them in place of the old ones.
// Members of the index this package does not know pass through.
//
// image-spec v1.1.1 image-index.md:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func (a *assembler) index(ctx context.Context, idx *oci.Manifest, want *oci.Platform) (oci.Descriptor, error) {
	entries := make([]oci.Descriptor, len(idx.Manifests))
	changed := 0
	for i, d := range idx.Manifests {
		if !a.selects(d, want) {
			if err := copyManifest(ctx, a.src, a.dst, d, a.opts.ManifestLimit, 1); err != nil {
				return oci.Descriptor{}, fmt.Errorf("index entry %s: %w", d.Digest, err)
			}
			entries[i] = d
			continue
		}
		child, err := transport.FetchManifest(ctx, a.src, d, a.opts.ManifestLimit)
		if err != nil {
			return oci.Descriptor{}, err
		}
		if child.IsIndex() {
			return oci.Descriptor{}, fmt.Errorf("index %s: entry %s is itself an index: %w", idx.Digest, d.Digest, errdef.ErrUnsupported)
		}
		nd, err := a.image(ctx, child, nil)
		if err != nil {
			return oci.Descriptor{}, fmt.Errorf("platform %s: %w", oci.PlatformString(d.Platform), err)
		}
		// The entry keeps its platform and annotations; only what it
		// addresses changes.
		e := d
		e.MediaType, e.Digest, e.Size = nd.MediaType, nd.Digest, nd.Size
		entries[i] = e
		changed++
	}
	if changed == 0 {
		what := "no image entries"
		if want != nil {
			what = "no manifest for platform " + oci.PlatformString(want)
		}
		return oci.Descriptor{}, fmt.Errorf("index %s has %s: %w", idx.Digest, what, errdef.ErrNotFound)
	}
	top := jsonObject{}
	if err := json.Unmarshal(idx.Raw, &top); err != nil {
		return oci.Descriptor{}, fmt.Errorf("index %s: %v: %w", idx.Digest, err, errdef.ErrInvalid)
	}
	top.set("manifests", entries)
	if a.opts.Format == FormatDocker {
		top.set("mediaType", oci.MediaTypeDockerManifestList)
	} else if a.opts.Format == FormatOCI {
		top.set("mediaType", oci.MediaTypeImageIndex)
	}
	mt := idx.MediaType
	if raw, ok := top["mediaType"]; ok {
		if err := json.Unmarshal(raw, &mt); err != nil {
			return oci.Descriptor{}, fmt.Errorf("index %s mediaType: %v: %w", idx.Digest, err, errdef.ErrInvalid)
		}
	}
	raw, err := json.Marshal(top)
	if err != nil {
		return oci.Descriptor{}, err
	}
	desc := oci.Descriptor{MediaType: mt, Digest: digest.FromBytes(raw), Size: int64(len(raw))}
	if err := pushBytes(ctx, a.dst, desc, raw); err != nil {
		return oci.Descriptor{}, fmt.Errorf("index: %w", err)
	}
	return desc, nil
}

// selects reports whether Append changes index entry d: an image manifest
// of a real platform, matching want when there is one.
func (a *assembler) selects(d oci.Descriptor, want *oci.Platform) bool {
	if !oci.IsManifest(d.MediaType) || oci.IsIndex(d.MediaType) || d.Platform == nil || oci.IsAttestationPlatform(d.Platform) {
		return false
	}
	return want == nil || oci.PlatformMatches(*want, d.Platform)
}
