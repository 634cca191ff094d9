package engine

import (
	"context"
	"fmt"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Copy copies the image, index or artifact srcRef names to dstRef; see
// copy.Copy for what is copied and how. dstRef's tag (a registry reference
// without one means "latest") is set last; an untagged oci:DIR records the
// image in the layout's index.json. A digest in dstRef is refused: the
// digest is the source's to decide.
func (e *Engine) Copy(ctx context.Context, srcRef, dstRef transport.Ref, opts imgcopy.Options) (*imgcopy.Result, error) {
	fail := func(err error) (*imgcopy.Result, error) {
		return nil, &Error{Op: "copy", Ref: srcRef.String() + " -> " + dstRef.String(), Err: err}
	}
	if dstRef.Digest != "" || dstRef.Image.Digest != "" {
		return fail(fmt.Errorf("destination %s names a digest; name a tag or nothing (the copy keeps the source's digest): %w", dstRef, errdef.ErrInvalid))
	}
	src, err := e.open(ctx, srcRef)
	if err != nil {
		return fail(err)
	}
	defer closeT(src)
	dst, err := e.openTarget(ctx, dstRef)
	if err != nil {
		return fail(err)
	}
	defer closeT(dst)
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = e.opts.ManifestLimit
	}
	var res *imgcopy.Result
	if opts.Format != "" || opts.Compress != "" {
		res, err = convertCopy(ctx, src, srcRef.Identifier(), dst, dstRef.TagName(), opts)
	} else {
		res, err = imgcopy.Copy(ctx, src, srcRef.Identifier(), dst, dstRef.TagName(), opts)
	}
	if err != nil {
		return fail(err)
	}
	return res, nil
}

// convertCopy is a copy that changes the image on the way, as asked:
// layers recompressed (opts.Compress) and then media types converted
// (opts.Format), through engine/mutate, whose result is pushed by a plain
// copy. The digests are new and are reported; Result.SourceDigest is what
// was read. Referrers are refused: they name the source's digests, which
// the converted image no longer has, so signatures would not verify.
//
// image-spec v1.1.1 media-types.md §Compatibility Matrix:
// https://github.com/opencontainers/image-spec/blob/v1.1.1/media-types.md#compatibility-matrix
func convertCopy(ctx context.Context, src transport.Source, ref string, dst transport.Target, tag string, opts imgcopy.Options) (_ *imgcopy.Result, err error) {
	if cm, ok := dst.(transport.Committer); ok {
		// The copy that pushes the result commits it; a failure before
		// that copy runs must still remove the archive's temporary file.
		defer func() {
			if err != nil {
				cm.Abort()
			}
		}()
	}
	var steps []mutate.Step
	switch opts.Compress {
	case "":
	case string(layer.Gzip), string(layer.Zstd):
		steps = append(steps, mutate.Recompress{To: layer.Compression(opts.Compress)})
	default:
		return nil, fmt.Errorf("compress %q: want gzip or zstd: %w", opts.Compress, errdef.ErrInvalid)
	}
	switch opts.Format {
	case "":
	case mutate.FormatOCI, mutate.FormatDocker:
		steps = append(steps, mutate.Convert{To: opts.Format})
	default:
		return nil, fmt.Errorf("format %q: want oci or docker: %w", opts.Format, errdef.ErrInvalid)
	}
	switch {
	case opts.Referrers:
		return nil, fmt.Errorf("referrers name the source's digests, which a converted copy changes: copy them without converting: %w", errdef.ErrInvalid)
	case len(opts.Platforms) > 0 || opts.Sparse:
		return nil, fmt.Errorf("converting while choosing several platforms is not supported: convert the whole index or one platform: %w", errdef.ErrUnsupported)
	}
	root, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	pick := root
	if opts.Platform != "" && oci.IsIndex(root.MediaType) {
		if pick, err = platformOf(ctx, src, root, opts.Platform, opts.ManifestLimit); err != nil {
			return nil, err
		}
	}
	mres, err := mutate.Apply(ctx, mutate.Image{Src: src, Ref: pick.Digest.String()}, dst, tag, mutate.Options{ManifestLimit: opts.ManifestLimit}, steps...)
	if err != nil {
		return nil, err
	}
	out := oci.Descriptor{MediaType: mres.MediaType, Digest: mres.Digest, Size: mres.Size}
	if opts.Progress != nil {
		opts.Progress(imgcopy.Event{Kind: imgcopy.KindImageDone, Desc: out})
	}
	return &imgcopy.Result{Digest: mres.Digest, MediaType: mres.MediaType, Size: mres.Size, SourceDigest: root.Digest}, nil
}

// platformOf returns the entry of index for platform (os/arch[/variant]; no
// variant matches any), the one a plain copy with Options.Platform picks.
//
// image-spec v1.1.1 image-index.md (platform):
// https://github.com/opencontainers/image-spec/blob/v1.1.1/image-index.md#image-index-property-descriptions
func platformOf(ctx context.Context, src transport.Source, index oci.Descriptor, platform string, limit int64) (oci.Descriptor, error) {
	want, err := mutate.ParsePlatform(platform)
	if err != nil {
		return oci.Descriptor{}, err
	}
	rc, err := src.Fetch(ctx, index)
	if err != nil {
		return oci.Descriptor{}, err
	}
	defer rc.Close()
	raw, err := oci.ReadAllVerified(rc, index.Digest, index.Size, limit)
	if err != nil {
		return oci.Descriptor{}, err
	}
	m, err := oci.ParseManifest(index.MediaType, raw)
	if err != nil {
		return oci.Descriptor{}, err
	}
	for _, d := range m.Manifests {
		if p := d.Platform; p != nil && p.OS == want.OS && p.Architecture == want.Architecture && (want.Variant == "" || p.Variant == want.Variant) {
			return d, nil
		}
	}
	return oci.Descriptor{}, fmt.Errorf("index %s has no manifest for platform %s: %w", index.Digest, platform, errdef.ErrNotFound)
}
