package engine

import (
	"context"
	"crypto"
	"fmt"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/layer"
	"github.com/stevedore-dev/stevedore/engine/mutate"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/policy"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// CopyOptions tune Engine.Copy: the byte copy's options (engine/copy) and
// what the engine does around it. The zero value copies everything the
// source names, unchanged, with nothing checked or signed.
type CopyOptions struct {
	imgcopy.Options
	// Format ("oci" or "docker") and Compress ("gzip" or "zstd") convert
	// the image on the way (engine/mutate): layers recompressed, then
	// media types converted. Digests change; the new one is reported and
	// Result.SourceDigest is what was read. They cannot be combined with
	// Referrers (referrers name the source's digests, so signatures would
	// not verify) nor with Platforms.
	//
	// image-spec v1.1.1 media-types.md §Compatibility Matrix:
	// https://github.com/opencontainers/image-spec/blob/v1.1.1/media-types.md#compatibility-matrix
	Format   string
	Compress string
	// Policy, when set, checks the source against a trust policy before
	// the destination is opened, so a refused image leaves nothing behind
	// (not even a new oci: layout directory); the refusal is a
	// *policy.Error matching errdef.ErrDenied. What is copied is the digest
	// that was verified, not whatever the tag names by the time the copy
	// reads it, with its referrers and cosign tags (Referrers is forced
	// on) so the signatures that let it through verify at the destination
	// too.
	Policy *policy.Policy
	// Sign, when set, signs the copy at the destination once it is there.
	// The destination is checked before anything is copied: it must be
	// able to hold signatures (a registry, the served store, an oci:
	// layout).
	Sign *CopySign
}

// CopySign is how Copy signs what it copied.
type CopySign struct {
	// Signer is the private key (ECDSA P-256, as cosign's).
	Signer crypto.Signer
	// Format is sign.FormatBundle ("" too) or sign.FormatLegacy.
	Format sign.Format
	// Cert, when set, is the key's certificate, stored with the signature.
	Cert *sign.SigningCert
}

// CopyResult describes a finished copy, and the signatures Copy made.
type CopyResult struct {
	imgcopy.Result
	// Signatures are the signatures written at the destination
	// (CopyOptions.Sign).
	Signatures []sign.Signed `json:"signatures,omitempty"`
}

// Copy copies the image, index or artifact srcRef names to dstRef; see
// copy.Copy for what is copied and how, and CopyOptions for the checks,
// conversions and signing around it. dstRef's tag (a registry reference
// without one means "latest") is set last; an untagged oci:DIR records the
// image in the layout's index.json. A digest in dstRef is refused: the
// digest is the source's to decide.
func (e *Engine) Copy(ctx context.Context, srcRef, dstRef transport.Ref, opts CopyOptions) (*CopyResult, error) {
	res, err := e.copy(ctx, srcRef, dstRef, opts)
	if err != nil {
		return nil, &Error{Op: "copy", Ref: srcRef.String() + " -> " + dstRef.String(), Err: err}
	}
	return res, nil
}

func (e *Engine) copy(ctx context.Context, srcRef, dstRef transport.Ref, opts CopyOptions) (*CopyResult, error) {
	if dstRef.IsZero() {
		return nil, fmt.Errorf("no destination given: %w", errdef.ErrInvalid)
	}
	if dstRef.DigestName() != "" {
		return nil, fmt.Errorf("destination %s names a digest; name a tag or nothing (the copy keeps the source's digest): %w", dstRef, errdef.ErrInvalid)
	}
	if opts.Sign != nil {
		if err := signable(dstRef); err != nil {
			return nil, err
		}
	}
	if opts.Policy != nil {
		pinned, err := e.checkPolicy(ctx, srcRef, opts.Policy)
		if err != nil {
			return nil, err
		}
		srcRef = pinned
		opts.Referrers = true
	}
	if opts.ManifestLimit <= 0 {
		opts.ManifestLimit = e.opts.ManifestLimit
	}
	src, err := e.open(ctx, srcRef)
	if err != nil {
		return nil, err
	}
	defer closeT(src)
	res := &CopyResult{}
	err = e.write(ctx, dstRef, func(dst transport.Target) error {
		var r *imgcopy.Result
		var err error
		if opts.Format != "" || opts.Compress != "" {
			r, err = convertCopy(ctx, src, srcRef.Identifier(), dst, dstRef.TagName(), opts)
		} else {
			r, err = imgcopy.Copy(ctx, src, srcRef.Identifier(), dst, dstRef.TagName(), opts.Options)
		}
		if err == nil {
			res.Result = *r
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if opts.Sign != nil {
		s := opts.Sign
		res.Signatures, err = e.sign(ctx, dstRef, res.Digest.String(), s.Signer, sign.SignOptions{Format: s.Format, Cert: s.Cert})
		if err != nil {
			return nil, fmt.Errorf("copied %s, but signing it failed: %w", res.Digest, err)
		}
	}
	return res, nil
}

// checkPolicy checks the image ref names against pol and returns ref
// pinned to the digest that was verified.
func (e *Engine) checkPolicy(ctx context.Context, ref transport.Ref, pol *policy.Policy) (transport.Ref, error) {
	src, err := e.open(ctx, ref)
	if err != nil {
		return ref, err
	}
	desc, err := pol.Check(ctx, src, ref.Identifier(), e.policyName(ref))
	closeT(src)
	if err != nil {
		return ref, err
	}
	if ref.IsRepository() {
		ref.Image.Tag, ref.Image.Digest = "", desc.Digest
	} else {
		ref.Tag, ref.Digest = "", desc.Digest
	}
	return ref, nil
}

// policyName is what a trust policy's patterns match ref by (policy.Name),
// with the served store named as clients of its registry port name it.
func (e *Engine) policyName(ref transport.Ref) string {
	if _, ok, _ := e.served(ref); ok && len(e.opts.ServedHosts) > 0 {
		return e.opts.ServedHosts[0] + "/" + ref.Image.Repository
	}
	return policy.Name(ref)
}

// convertCopy is a copy that changes the image on the way, as asked:
// layers recompressed (opts.Compress) and then media types converted
// (opts.Format), through engine/mutate, whose result is pushed by a plain
// copy. The digests are new and are reported; Result.SourceDigest is what
// was read.
func convertCopy(ctx context.Context, src transport.Source, ref string, dst transport.Target, tag string, opts CopyOptions) (*imgcopy.Result, error) {
	switch opts.Compress {
	case "", string(layer.Gzip), string(layer.Zstd):
	default:
		return nil, fmt.Errorf("compress %q: want gzip or zstd: %w", opts.Compress, errdef.ErrInvalid)
	}
	steps, err := MutateOptions{Recompress: layer.Compression(opts.Compress), Convert: opts.Format}.steps()
	if err != nil {
		return nil, err
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
		want, err := oci.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, err
		}
		index, err := transport.FetchManifest(ctx, src, root, opts.ManifestLimit)
		if err != nil {
			return nil, err
		}
		var ok bool
		if pick, ok = oci.ChoosePlatform(index, want); !ok {
			return nil, fmt.Errorf("index %s has no manifest for platform %s: %w", root.Digest, opts.Platform, errdef.ErrNotFound)
		}
	}
	mres, err := mutate.Apply(ctx, mutate.Image{Src: src, Ref: pick.Digest.String()}, dst, tag, mutate.Options{ManifestLimit: opts.ManifestLimit, Progress: opts.Progress}, steps...)
	if err != nil {
		return nil, err
	}
	res := *mres.Pushed
	res.SourceDigest = root.Digest
	return &res, nil
}
