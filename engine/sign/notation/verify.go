package notation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// Options configure a Verifier.
type Options struct {
	// TrustPolicy is a notation trust policy document (trustpolicy.json,
	// version 1.0).
	TrustPolicy []byte
	// TrustStore holds the certificates the policy's trustStores name.
	TrustStore *TrustStore
}

// Verifier verifies notation signatures under one trust policy and store.
type Verifier struct {
	doc *trustpolicy.Document
	v   notation.Verifier
}

var _ sign.NotationVerifier = (*Verifier)(nil)

// New checks the trust policy (as notation does) and builds the verifier.
func New(o Options) (*Verifier, error) {
	var doc trustpolicy.Document
	if err := json.Unmarshal(o.TrustPolicy, &doc); err != nil {
		return nil, fmt.Errorf("notation trust policy: %v: %w", err, errdef.ErrInvalid)
	}
	if o.TrustStore == nil {
		o.TrustStore = NewTrustStore()
	}
	v, err := verifier.NewWithOptions(&doc, o.TrustStore, nil, verifier.VerifierOptions{
		RevocationCodeSigningValidator: offline{}, RevocationTimestampingValidator: offline{},
	})
	if err != nil {
		return nil, fmt.Errorf("notation trust policy: %v: %w", err, errdef.ErrInvalid)
	}
	return &Verifier{doc: &doc, v: v}, nil
}

// offline is the revocation validator of an offline verifier: it looks
// nothing up and reports every certificate as naming no OCSP responder or
// CRL.
type offline struct{}

func (offline) ValidateContext(_ context.Context, o revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	out := make([]*result.CertRevocationResult, len(o.CertChain))
	for i := range out {
		out[i] = &result.CertRevocationResult{Result: result.ResultNonRevokable}
	}
	return out, nil
}

// VerifyNotation verifies envelope as a signature of subject under the
// trust policy statement for scope.
func (v *Verifier) VerifyNotation(ctx context.Context, subject oci.Descriptor, scope, mediaType string, envelope []byte) (*sign.NotationResult, error) {
	ref := scope + "@" + subject.Digest.String()
	tp, err := v.doc.GetApplicableTrustPolicy(ref)
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckPolicy, Err: err}
	}
	desc := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	out, err := v.v.Verify(ctx, desc, envelope, notation.VerifierVerifyOptions{ArtifactReference: ref, SignatureMediaType: mediaType})
	if err != nil {
		return nil, classify(out, err)
	}
	if out.EnvelopeContent == nil { // the statement's level is skip
		return nil, &sign.CheckError{Check: sign.CheckPolicy, Err: fmt.Errorf("trust policy %q skips verification (level skip): it verifies nothing", tp.Name)}
	}
	meta, err := out.UserMetadata()
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckPayload, Err: err}
	}
	si := out.EnvelopeContent.SignerInfo
	res := &sign.NotationResult{Annotations: meta, TrustPolicy: tp.Name}
	if len(si.CertificateChain) > 0 {
		leaf := si.CertificateChain[0]
		res.Certificate = &sign.Certificate{Subject: leaf.Subject.String(), CA: leaf.Issuer.String()}
		if t, err := si.AuthenticSigningTime(); err == nil {
			res.Certificate.Timestamps = []sign.Timestamp{{Kind: "signed", Time: t.UTC()}}
		} else if !si.SignedAttributes.SigningTime.IsZero() {
			res.Certificate.Timestamps = []sign.Timestamp{{Kind: "signed", Time: si.SignedAttributes.SigningTime.UTC()}}
		}
	}
	return res, nil
}

// classify names the check a notation verification failed: the result
// that failed with an enforced action, or the kind of error.
//
// Trust store and trust policy specification v1.1.0 §Signature Verification details:
// https://github.com/notaryproject/specifications/blob/v1.1.0/specs/trust-store-trust-policy.md#signature-verification-details
func classify(out *notation.VerificationOutcome, err error) error {
	var noPolicy notation.ErrorNoApplicableTrustPolicy
	if errors.As(err, &noPolicy) {
		return &sign.CheckError{Check: sign.CheckPolicy, Err: err}
	}
	if out != nil {
		for _, r := range out.VerificationResults {
			if r.Error == nil || r.Action != trustpolicy.ActionEnforce {
				continue
			}
			return &sign.CheckError{Check: checkOf(r), Err: err}
		}
	}
	var bad *signature.SignatureEnvelopeNotFoundError
	if errors.As(err, &bad) {
		return &sign.CheckError{Check: sign.CheckBundle, Err: err}
	}
	// The payload names another artifact ("content descriptor mismatch"),
	// or could not be read.
	return &sign.CheckError{Check: sign.CheckPayload, Err: err}
}

// checkOf maps a notation validation type to the check it is. notation
// reports three checks under another type, told apart by their messages: a
// broken certificate chain under integrity, a trusted identity mismatch
// (verifier.verifyX509TrustedIdentities) and a trust store the policy names
// but the store lacks (TrustStore.GetCertificates) under authenticity.
func checkOf(r *notation.ValidationResult) string {
	switch r.Type {
	case trustpolicy.TypeIntegrity:
		// notation-core-go checks the chain's own signatures with the
		// envelope's (signature.InvalidSignatureError either way).
		if strings.Contains(r.Error.Error(), "certificate-chain is invalid") {
			return sign.CheckChain
		}
		return sign.CheckPayload
	case trustpolicy.TypeAuthenticity:
		switch msg := r.Error.Error(); {
		case strings.Contains(msg, "trusted identities"):
			return sign.CheckIdentity
		case strings.Contains(msg, errNoStore):
			return sign.CheckPolicy
		}
		return sign.CheckChain
	case trustpolicy.TypeAuthenticTimestamp:
		return sign.CheckTimestamp
	case trustpolicy.TypeExpiry:
		return sign.CheckExpiry
	case trustpolicy.TypeRevocation:
		return sign.CheckRevocation
	}
	return sign.CheckBundle
}
