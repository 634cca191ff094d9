package sign

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
)

// AttestOptions configure Attest.
type AttestOptions struct {
	// PredicateType is the predicate's type URI (cosign's --type); required.
	PredicateType string
	// Predicate is the predicate, a JSON document (cosign's --predicate file).
	Predicate []byte
	// Format is FormatBundle ("" too) or FormatLegacy (the .att tag).
	Format Format
	// Identity is the statement subject's name, HOST/REPO, as cosign writes it.
	Identity string
	// Now stamps the bundle manifest's creation annotation; nil means time.Now.
	Now func() time.Time
	// Cert, when set, is the signing key's certificate, stored with the
	// attestation (cosign --certificate).
	Cert *SigningCert
}

// Attest resolves ref to a digest and attaches a signed in-toto statement
// about it carrying opts.Predicate, as `cosign attest --key` does: a bundle
// referrer by default, or a DSSE layer appended to sha256-<hex>.att.
func Attest(ctx context.Context, repo Repo, ref string, signer crypto.Signer, opts AttestOptions) (*Signed, error) {
	if _, err := ParseFormat(string(opts.Format), false); err != nil {
		return nil, err
	}
	if opts.Format == FormatNotation {
		return nil, fmt.Errorf("attest: the Notary Project signs artifacts, it has no attestation format (use bundle or legacy): %w", errdef.ErrInvalid)
	}
	if opts.PredicateType == "" {
		return nil, fmt.Errorf("attest: a predicate type is needed: %w", errdef.ErrInvalid)
	}
	if opts.PredicateType == PredicateSign {
		return nil, fmt.Errorf("attest: predicate type %s is reserved for signatures (use Sign): %w", PredicateSign, errdef.ErrInvalid)
	}
	if !json.Valid(opts.Predicate) {
		return nil, fmt.Errorf("attest: the predicate is not valid JSON: %w", errdef.ErrInvalid)
	}
	subj, err := repo.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	stmt, err := attestStatement(opts.Identity, subj.Digest, opts.PredicateType, opts.Predicate)
	if err != nil {
		return nil, fmt.Errorf("attest: %v: %w", err, errdef.ErrInvalid)
	}
	subj = oci.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}
	res := &Signed{Subject: subj, Format: FormatBundle}
	if opts.Format == FormatLegacy {
		res.Format = FormatLegacy
		env, err := signDSSE(signer, PayloadTypeInToto, stmt)
		if err != nil {
			return nil, err
		}
		raw, err := marshalCompact(env)
		if err != nil {
			return nil, err
		}
		layer := blobDesc(MediaTypeDSSE, raw)
		layer.Annotations = map[string]string{AnnotationSignature: "", AnnotationPredicateType: opts.PredicateType}
		opts.Cert.annotate(layer.Annotations)
		res.Tag = LegacyTag(subj, ".att")
		if res.Signature, err = appendLegacy(ctx, repo, res.Tag, layer, raw); err != nil {
			return nil, fmt.Errorf("attesting %s: %w", subj.Digest, err)
		}
		return res, nil
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if res.Signature, err = pushBundle(ctx, repo, res.Subject, signer, opts.Cert, stmt, opts.PredicateType, now()); err != nil {
		return nil, fmt.Errorf("attesting %s: %w", subj.Digest, err)
	}
	return res, nil
}
