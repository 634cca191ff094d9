package sign

import (
	"context"
	"crypto"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// Format is a signature storage format.
type Format string

// The formats. The zero value means FormatBundle when signing and
// FormatAny when verifying.
const (
	// FormatBundle: a Sigstore bundle v0.3 as an OCI 1.1 referrer (cosign v3's default).
	FormatBundle Format = "bundle"
	// FormatLegacy: cosign's simple-signing manifest at the tag sha256-<hex>.sig (.att).
	FormatLegacy Format = "legacy"
	// FormatNotation: a Notary Project signature (JWS or COSE envelope) as
	// an OCI 1.1 referrer.
	FormatNotation Format = "notation"
	// FormatAny accepts either when verifying.
	FormatAny Format = "any"
)

// ParseFormat checks a --format value; "" is returned as is.
func ParseFormat(s string, allowAny bool) (Format, error) {
	switch f := Format(s); f {
	case "", FormatBundle, FormatLegacy, FormatNotation:
		return f, nil
	case FormatAny:
		if allowAny {
			return f, nil
		}
	}
	return "", fmt.Errorf("format %q (want bundle, legacy or notation%s): %w", s, map[bool]string{true: " or any"}[allowAny], errdef.ErrInvalid)
}

// SignOptions configure Sign. The zero value signs in the bundle format,
// the named manifest only.
type SignOptions struct {
	// Format is FormatBundle ("" too), FormatLegacy or FormatNotation.
	Format Format
	// Annotations are signed with the image digest (cosign's -a k=v): the
	// statement subject's annotations, or the legacy payload's optional.
	Annotations map[string]string
	// Recursive signs every manifest of an index too, not only the index.
	Recursive bool
	// Identity is the docker-reference a legacy payload names, HOST/REPO.
	// Verifiers (cosign included) do not check it.
	Identity string
	// Now stamps the bundle manifest's creation annotation; nil means time.Now.
	Now func() time.Time
	// Cert, when set, is the signing key's certificate, stored with the
	// signature (cosign --certificate).
	Cert *SigningCert
	// Notation makes the envelopes of FormatNotation (which needs no
	// crypto.Signer: the key is the NotationSigner's).
	Notation NotationSigner
}

// Signed describes one signature or attestation written.
type Signed struct {
	// Subject is the manifest signed.
	Subject oci.Descriptor `json:"subject"`
	// Signature is the manifest written: the bundle referrer, or the
	// legacy .sig/.att manifest after the append.
	Signature oci.Descriptor `json:"signature"`
	// Format is the format written.
	Format Format `json:"format"`
	// Tag is the legacy tag written; empty for a bundle.
	Tag string `json:"tag,omitempty"`
}

// Sign resolves ref (a tag or digest in repo; "" for a layout's only image)
// to a digest and signs that digest with signer (ECDSA P-256), as
// `cosign sign --key --tlog-upload=false` does: it never signs a tag. With
// opts.Recursive the manifests of an index are signed too, index first.
// FormatNotation signs with opts.Notation instead of signer, as notation
// does: the envelope names the digest, and the annotations are its signed
// user metadata.
func Sign(ctx context.Context, repo Repo, ref string, signer crypto.Signer, opts SignOptions) ([]Signed, error) {
	if _, err := ParseFormat(string(opts.Format), false); err != nil {
		return nil, err
	}
	if (opts.Format == FormatNotation) != (opts.Notation != nil) {
		return nil, fmt.Errorf("sign: the notation format takes a notation signer, and only it does: %w", errdef.ErrInvalid)
	}
	root, err := repo.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	subjects := []oci.Descriptor{root}
	if opts.Recursive {
		if subjects, err = manifestsBelow(ctx, repo, root, 0); err != nil {
			return nil, err
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var out []Signed
	for _, s := range subjects {
		s = oci.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}
		res := Signed{Subject: s, Format: FormatBundle}
		switch opts.Format {
		case FormatLegacy:
			res.Format = FormatLegacy
			res.Signature, res.Tag, err = signLegacy(ctx, repo, s, signer, opts.Cert, opts.Identity, opts.Annotations)
		case FormatNotation:
			res.Format = FormatNotation
			res.Signature, err = pushNotation(ctx, repo, s, opts.Notation, opts.Annotations)
		default:
			var stmt []byte
			if stmt, err = signStatement(s.Digest, opts.Annotations); err == nil {
				res.Signature, err = pushBundle(ctx, repo, s, signer, opts.Cert, stmt, PredicateSign, now())
			}
		}
		if err != nil {
			return out, fmt.Errorf("signing %s: %w", s.Digest, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// manifestsBelow returns desc and, when it is an index, every manifest
// below it, depth first in index order.
func manifestsBelow(ctx context.Context, src Repo, desc oci.Descriptor, depth int) ([]oci.Descriptor, error) {
	out := []oci.Descriptor{desc}
	if !oci.IsIndex(desc.MediaType) {
		return out, nil
	}
	if depth > 4 {
		return nil, fmt.Errorf("index %s nested too deep: %w", desc.Digest, errdef.ErrUnsupported)
	}
	m, err := fetchManifest(ctx, src, desc)
	if err != nil {
		return nil, err
	}
	for _, ch := range m.Manifests {
		below, err := manifestsBelow(ctx, src, ch, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, below...)
	}
	return out, nil
}
