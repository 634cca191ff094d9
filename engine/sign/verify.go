package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// ErrUnverified is the class of Report.Err: signatures were looked for and
// none passed (or none was found). It is a verdict, not a failure to look.
var ErrUnverified = errors.New("not verified")

// VerifyOptions configure Verify and VerifyAttestation. At least one key,
// or a CertVerifier with identities, is required.
type VerifyOptions struct {
	// Keys are the trusted public keys (ECDSA P-256); one must have made a
	// signature for it to pass.
	Keys []crypto.PublicKey
	// KeyNames, if set, parallels Keys and names them in the report (file
	// names, key ids).
	KeyNames []string
	// Format restricts which signatures count: FormatBundle, FormatLegacy,
	// or FormatAny ("" too).
	Format Format
	// Annotations must all be present, with these values, in a signature's
	// signed annotations for it to pass (cosign's -a k=v).
	Annotations map[string]string
	// PredicateType is the attestation type VerifyAttestation requires;
	// empty accepts any type but the signature one. Verify ignores it.
	PredicateType string
	// Certs verifies signatures made with a certificate (Sigstore keyless,
	// or a private CA); nil trusts keys only. A signature with a
	// certificate is checked with Certs when set, else with Keys, as
	// cosign --key does.
	Certs CertVerifier
	// Identities are the signers Certs-verified certificates may name; one
	// must match. Required with Certs.
	Identities []Identity
}

// Finding is one signature or attestation found for the image, and what
// came of checking it.
type Finding struct {
	// Format is the format it was stored in.
	Format Format `json:"format"`
	// Manifest is the referrer manifest or legacy tag manifest holding it.
	Manifest digest.Digest `json:"manifest"`
	// Tag is the legacy tag (sha256-<hex>.sig, .att); empty for a bundle.
	Tag string `json:"tag,omitempty"`
	// Layer is the layer holding the bundle, payload or envelope.
	Layer digest.Digest `json:"layer,omitempty"`
	// PredicateType is the statement's predicate type, or the legacy
	// payload's critical.type.
	PredicateType string `json:"predicateType,omitempty"`
	// Annotations are the signed annotations.
	Annotations map[string]string `json:"annotations,omitempty"`
	// KeyHint is the bundle's public key hint (base64 sha256 of the key).
	KeyHint string `json:"keyHint,omitempty"`
	// Key is the index in VerifyOptions.Keys of the key that verified the
	// signature, -1 when none did; KeyName its name when given.
	Key     int    `json:"key"`
	KeyName string `json:"keyName,omitempty"`
	// Certificate is the signer a verified signing certificate names.
	Certificate *Certificate `json:"certificate,omitempty"`
	// Verified is true when every check passed.
	Verified bool `json:"verified"`
	// Check names the check of a certificate-based signature that failed
	// (see CheckError); empty otherwise.
	Check string `json:"check,omitempty"`
	// Reason says why it was rejected.
	Reason string `json:"reason,omitempty"`
}

// Report is the outcome of Verify or VerifyAttestation.
type Report struct {
	// Subject is the manifest whose signatures were checked.
	Subject oci.Descriptor `json:"subject"`
	// Verified is the verdict: at least one finding passed.
	Verified bool `json:"verified"`
	// Findings lists every signature (or attestation) considered.
	Findings []Finding `json:"findings"`

	what string // "signatures", or "attestations" of a type, for Err
}

// Err returns nil for a verified report, else an error matching
// ErrUnverified that says why.
func (r *Report) Err() error {
	if r.Verified {
		return nil
	}
	what := r.what
	if what == "" {
		what = "signatures"
	}
	if len(r.Findings) == 0 {
		return fmt.Errorf("no %s found for %s: %w", what, r.Subject.Digest, ErrUnverified)
	}
	var why []string
	for _, f := range r.Findings {
		why = append(why, fmt.Sprintf("%s %s: %s", f.Format, f.Manifest, f.Reason))
	}
	return fmt.Errorf("none of the %d %s of %s verified (%s): %w", len(r.Findings), what, r.Subject.Digest, strings.Join(why, "; "), ErrUnverified)
}

// Verify resolves ref in src and checks the image signatures found for its
// digest: bundle referrers (referrers API or tag schema) and the legacy
// sha256-<hex>.sig tag. It is stricter than cosign: a bundle must carry the
// cosign sign predicate type, and a bundle's DSSE envelope exactly one
// signature. A nil error means the search ran; the verdict is in the
// report (see Report.Err).
//
// cosign BUNDLE_SPEC and SIGNATURE_SPEC:
// https://github.com/sigstore/cosign/blob/v3.1.3/specs/BUNDLE_SPEC.md
// https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md
func Verify(ctx context.Context, src transport.Source, ref string, opts VerifyOptions) (*Report, error) {
	return verify(ctx, src, ref, opts, false)
}

// VerifyAttestation is Verify for attestations: bundle referrers whose
// predicate type is opts.PredicateType and the legacy sha256-<hex>.att tag.
func VerifyAttestation(ctx context.Context, src transport.Source, ref string, opts VerifyOptions) (*Report, error) {
	if opts.PredicateType == PredicateSign {
		return nil, fmt.Errorf("predicate type %s is a signature (use Verify): %w", PredicateSign, errdef.ErrInvalid)
	}
	return verify(ctx, src, ref, opts, true)
}

func verify(ctx context.Context, src transport.Source, ref string, opts VerifyOptions, att bool) (*Report, error) {
	if len(opts.Keys) == 0 && opts.Certs == nil {
		return nil, fmt.Errorf("verify: a public key, or a certificate identity, is needed: %w", errdef.ErrInvalid)
	}
	if opts.Certs != nil && len(opts.Identities) == 0 {
		return nil, fmt.Errorf("verify: certificates are only checked against an identity (--certificate-identity and --certificate-oidc-issuer): %w", errdef.ErrInvalid)
	}
	for _, id := range opts.Identities {
		if err := id.Validate(); err != nil {
			return nil, err
		}
	}
	if _, err := ParseFormat(string(opts.Format), true); err != nil {
		return nil, err
	}
	subj, err := src.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	subj = oci.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}
	cands, err := discover(ctx, src, subj)
	if err != nil {
		return nil, fmt.Errorf("finding signatures of %s: %w", subj.Digest, err)
	}
	rep := &Report{Subject: subj, Findings: []Finding{}, what: "signatures"}
	if att {
		rep.what = "attestations"
		if opts.PredicateType != "" {
			rep.what += " of type " + opts.PredicateType
		}
	}
	want := func(f Format) bool { return opts.Format == "" || opts.Format == FormatAny || opts.Format == f }
	for _, c := range cands {
		tag := c.Annotations[transport.AnnotationLegacyTag]
		switch {
		case tag != "" && want(FormatLegacy) && (att && strings.HasSuffix(tag, ".att") || !att && strings.HasSuffix(tag, ".sig")):
			fs, err := checkLegacy(ctx, src, subj, c, tag, opts, att)
			if err != nil {
				return nil, err
			}
			rep.Findings = append(rep.Findings, fs...)
		case tag == "" && want(FormatBundle) && IsBundleType(c.ArtifactType):
			pt := c.Annotations[AnnotationBundlePredicateType]
			if pt != "" && (!att && pt != PredicateSign || att && (pt == PredicateSign || opts.PredicateType != "" && pt != opts.PredicateType)) {
				continue // another kind of referrer: not what is asked for
			}
			f := Finding{Format: FormatBundle, Manifest: c.Digest, Key: -1}
			st, err := checkBundle(ctx, src, subj, c, opts, &f)
			if err == nil {
				err = checkPredicate(st, opts, att)
			}
			rep.Findings = append(rep.Findings, finish(f, err, opts))
		}
	}
	for _, f := range rep.Findings {
		rep.Verified = rep.Verified || f.Verified
	}
	return rep, nil
}

// checkLegacy checks each layer of a legacy .sig or .att manifest; each
// layer is one signature.
func checkLegacy(ctx context.Context, src transport.Source, subj, c oci.Descriptor, tag string, opts VerifyOptions, att bool) ([]Finding, error) {
	m, err := fetchManifest(ctx, src, c)
	if err != nil {
		return []Finding{{Format: FormatLegacy, Manifest: c.Digest, Tag: tag, Key: -1, Reason: err.Error()}}, nil
	}
	var out []Finding
	for _, l := range m.Layers {
		f := Finding{Format: FormatLegacy, Manifest: c.Digest, Tag: tag, Layer: l.Digest, Key: -1}
		switch {
		case !att && l.MediaType == MediaTypeSimpleSigning:
			err = checkLegacySig(ctx, src, subj, l, opts, &f)
		case att && l.MediaType == MediaTypeDSSE:
			f.PredicateType = l.Annotations[AnnotationPredicateType]
			if opts.PredicateType != "" && f.PredicateType != "" && f.PredicateType != opts.PredicateType {
				continue
			}
			var st *statement
			if st, err = checkLegacyAtt(ctx, src, subj, l, opts, &f); err == nil {
				err = checkPredicate(st, opts, att)
			}
		default:
			continue
		}
		out = append(out, finish(f, err, opts))
	}
	return out, nil
}

// checkPredicate requires the signature predicate of a signature (stricter
// than cosign, which accepts any statement as a signature) and the asked-for
// type of an attestation.
func checkPredicate(st *statement, opts VerifyOptions, att bool) error {
	switch {
	case !att && st.PredicateType != PredicateSign:
		return fmt.Errorf("predicate type %q is not a cosign signature (%s)", st.PredicateType, PredicateSign)
	case att && st.PredicateType == PredicateSign:
		return fmt.Errorf("predicate type %q is a signature, not an attestation", st.PredicateType)
	case att && opts.PredicateType != "" && st.PredicateType != opts.PredicateType:
		return fmt.Errorf("predicate type %q, want %q", st.PredicateType, opts.PredicateType)
	}
	return nil
}

// finish records err (a failed check) or checks the annotation constraints.
func finish(f Finding, err error, opts VerifyOptions) Finding {
	if f.Key >= 0 && f.Key < len(opts.KeyNames) {
		f.KeyName = opts.KeyNames[f.Key]
	}
	if err != nil {
		f.Reason = err.Error()
		var ce *CheckError
		if errors.As(err, &ce) {
			f.Check = ce.Check
		}
		return f
	}
	keys := make([]string, 0, len(opts.Annotations))
	for k := range opts.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		got, ok := f.Annotations[k]
		if !ok {
			f.Reason = fmt.Sprintf("annotation %s is missing (want %q)", k, opts.Annotations[k])
			return f
		}
		if got != opts.Annotations[k] {
			f.Reason = fmt.Sprintf("annotation %s is %q, want %q", k, got, opts.Annotations[k])
			return f
		}
	}
	f.Verified = true
	return f
}

// discover lists what may hold subj's signatures and attestations: its
// referrers and its legacy cosign tags (marked with
// transport.AnnotationLegacyTag). Registries and layouts list them
// themselves; for other sources the tag schema index and legacy tags are
// resolved here.
//
// distribution-spec v1.1.1 §Listing referrers and §Referrers Tag Schema:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#referrers-tag-schema
func discover(ctx context.Context, src transport.Source, subj oci.Descriptor) ([]oci.Descriptor, error) {
	if l, ok := src.(transport.ReferrerLister); ok {
		return l.Referrers(ctx, subj)
	}
	var out []oci.Descriptor
	idx, err := src.Resolve(ctx, transport.FallbackTag(subj))
	switch {
	case errors.Is(err, errdef.ErrNotFound):
	case err != nil:
		return nil, err
	case idx.MediaType == oci.MediaTypeImageIndex && idx.Digest != subj.Digest:
		m, err := fetchManifest(ctx, src, idx)
		if err != nil {
			return nil, err
		}
		for _, d := range m.Manifests {
			rm, err := fetchManifest(ctx, src, d)
			if err != nil || rm.Subject == nil || rm.Subject.Digest != subj.Digest {
				continue
			}
			out = append(out, transport.ReferrerDescriptor(d, rm))
		}
	}
	for _, tag := range transport.LegacyTags(subj) {
		d, err := src.Resolve(ctx, tag)
		if errors.Is(err, errdef.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d.Annotations = map[string]string{transport.AnnotationLegacyTag: tag}
		out = append(out, d)
	}
	return out, nil
}
