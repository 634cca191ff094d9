package mutate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Step is one edit of an image manifest; Apply runs steps in order on every
// image in scope. The concrete steps are this package's types (Config,
// Annotations, RemoveLayers, Convert, Rebase, Flatten, Recompress).
type Step interface {
	apply(ctx context.Context, st *stage, img *image) error
}

// indexStep is implemented by steps that also edit the index itself.
type indexStep interface {
	applyIndex(ctx context.Context, idx object, mediaType *string) error
}

// Apply runs steps on the image or index src names and pushes the result to
// dst, tagged tag (empty: by digest only, recorded as a root where the
// target keeps a list). On an index, each image entry in opts.Platforms'
// scope is rewritten and the index rebuilt around the new entries, which
// keep their platform and annotations; other entries are kept as they are.
// Entries of platform unknown/unknown (attestations about another entry)
// are never in scope. The source is not changed.
func Apply(ctx context.Context, src Image, dst transport.Target, tag string, opts Options, steps ...Step) (*Result, error) {
	fail := func(err error) (*Result, error) { return nil, &Error{Op: "mutate", Err: err} }
	scope, err := oci.ParsePlatforms(opts.Platforms)
	if err != nil {
		return fail(err)
	}
	root, err := src.Src.Resolve(ctx, src.Ref)
	if err != nil {
		return fail(err)
	}
	st := newStage(src.Src, opts.limit())
	defer st.close()
	w := &rewriter{st: st, src: src.Src, scope: scope, steps: steps, opts: opts}
	if !oci.IsIndex(root.MediaType) {
		for _, s := range steps {
			if _, ok := s.(IndexAnnotations); ok {
				return nil, &Error{Op: "mutate", Digest: root.Digest, Err: fmt.Errorf("%s is an image manifest, not an index: index annotations do not apply: %w", root.Digest, errdef.ErrInvalid)}
			}
		}
	}
	out, err := w.rewrite(ctx, root, 0)
	if err != nil {
		return nil, &Error{Op: "mutate", Digest: root.Digest, Err: err}
	}
	res, err := st.push(ctx, out, dst, tag, root.Digest, opts.Progress)
	if err != nil {
		return nil, &Error{Op: "mutate", Digest: root.Digest, Err: err}
	}
	return res, nil
}

// rewriter carries one Apply's state through the manifest graph.
type rewriter struct {
	st      *stage
	src     transport.Source
	scope   []oci.Platform
	steps   []Step
	opts    Options
	matched int // image entries in scope
}

// rewrite returns the descriptor of desc's rewritten manifest.
func (w *rewriter) rewrite(ctx context.Context, desc oci.Descriptor, depth int) (oci.Descriptor, error) {
	if depth > maxDepth {
		return oci.Descriptor{}, fmt.Errorf("indexes nested more than %d deep: %w", maxDepth, errdef.ErrUnsupported)
	}
	if oci.IsIndex(desc.MediaType) {
		return w.rewriteIndex(ctx, desc, depth)
	}
	img, err := loadImage(ctx, w.src, desc, w.opts.limit())
	if err != nil {
		return oci.Descriptor{}, err
	}
	for _, s := range w.steps {
		if err := s.apply(ctx, w.st, img); err != nil {
			return oci.Descriptor{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
		}
	}
	return img.write(w.st)
}

// rewriteIndex rewrites the entries of an index in scope and rebuilds it.
//
// image-spec v1.1.1 image-index.md: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func (w *rewriter) rewriteIndex(ctx context.Context, desc oci.Descriptor, depth int) (oci.Descriptor, error) {
	raw, err := transport.FetchAll(ctx, w.src, desc, w.opts.limit())
	if err != nil {
		return oci.Descriptor{}, err
	}
	if _, err := oci.ParseManifest(desc.MediaType, raw); err != nil {
		return oci.Descriptor{}, err
	}
	idx, err := parseObject(raw, "index")
	if err != nil {
		return oci.Descriptor{}, err
	}
	var entries []json.RawMessage
	if _, err := idx.get("manifests", &entries); err != nil {
		return oci.Descriptor{}, err
	}
	for i, e := range entries {
		var d oci.Descriptor
		if err := json.Unmarshal(e, &d); err != nil {
			return oci.Descriptor{}, fmt.Errorf("index entry %d: %v: %w", i, err, errdef.ErrInvalid)
		}
		if !oci.IsManifest(d.MediaType) || !inScope(w.scope, d.Platform) {
			continue
		}
		nd, err := w.rewrite(ctx, d, depth+1)
		if err != nil {
			return oci.Descriptor{}, err
		}
		if !oci.IsIndex(d.MediaType) {
			w.matched++
		}
		if entries[i], err = marshal(nd); err != nil {
			return oci.Descriptor{}, err
		}
	}
	if depth == 0 && len(w.scope) > 0 && w.matched == 0 {
		return oci.Descriptor{}, fmt.Errorf("index %s has no manifest for platform %s: %w", desc.Digest, joinScope(w.scope), errdef.ErrNotFound)
	}
	if entries == nil {
		entries = []json.RawMessage{}
	}
	if err := idx.set("manifests", entries); err != nil {
		return oci.Descriptor{}, err
	}
	mt := desc.MediaType
	if depth == 0 {
		for _, s := range w.steps {
			if is, ok := s.(indexStep); ok {
				if err := is.applyIndex(ctx, idx, &mt); err != nil {
					return oci.Descriptor{}, err
				}
			}
		}
	}
	if _, ok := idx["mediaType"]; ok || mt != desc.MediaType {
		if err := idx.set("mediaType", mt); err != nil {
			return oci.Descriptor{}, err
		}
	}
	b, err := idx.bytes()
	if err != nil {
		return oci.Descriptor{}, err
	}
	d := w.st.putJSON(mt, b)
	out := desc
	out.MediaType, out.Digest, out.Size = d.MediaType, d.Digest, d.Size
	return out, nil
}

// inScope reports whether an index entry of platform p is edited.
// Attestation manifests (platform unknown/unknown) describe another entry
// by digest and are never rewritten.
func inScope(scope []oci.Platform, p *oci.Platform) bool {
	if oci.IsAttestationPlatform(p) {
		return false
	}
	if len(scope) == 0 {
		return true
	}
	for _, want := range scope {
		if oci.PlatformMatches(want, p) {
			return true
		}
	}
	return false
}

func joinScope(scope []oci.Platform) string {
	var s []string
	for _, p := range scope {
		s = append(s, oci.PlatformString(&p))
	}
	return strings.Join(s, ", ")
}
