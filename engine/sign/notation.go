package sign

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Notary Project signatures: an OCI image manifest whose config media type
// (its artifact type) is ArtifactTypeNotation, with one layer, the JWS or
// COSE envelope, and the signed subject.
//
// Notary Project signature specification v1.1.0 §Signature (storage):
// https://github.com/notaryproject/specifications/blob/v1.1.0/specs/signature-specification.md#signature
const (
	// ArtifactTypeNotation is the artifact type (config media type) of a
	// notation signature manifest.
	ArtifactTypeNotation = "application/vnd.cncf.notary.signature"
	// MediaTypeJWS is the JWS JSON serialization envelope's media type.
	MediaTypeJWS = "application/jose+json"
	// MediaTypeCOSE is the COSE_Sign1 envelope's media type.
	MediaTypeCOSE = "application/cose"
	// AnnotationThumbprints lists the SHA-256 thumbprints of the signing
	// certificate chain, leaf first, on the signature manifest.
	AnnotationThumbprints = "io.cncf.notary.x509chain.thumbprint#S256"
)

// The checks of a Notary Project signature beyond those of CheckError's
// certificate signatures (CheckPayload is its integrity check, CheckChain
// its authenticity against the trust store, CheckIdentity its trusted
// identities, CheckTimestamp its authentic timestamp).
const (
	// CheckExpiry: the signature's expiry time has not passed.
	CheckExpiry = "expiry"
	// CheckRevocation: no certificate of the chain is revoked (or of
	// unknown status, when the trust policy enforces revocation).
	CheckRevocation = "revocation"
	// CheckPolicy: a trust policy applies to the repository and its trust
	// stores exist.
	CheckPolicy = "policy"
)

// NotationVerifier verifies Notary Project signature envelopes against a
// notation trust policy and trust store (package notation implements it
// over notation-go). It checks the envelope, that its payload names
// subject, and everything the applicable trust policy requires; a failure
// is a *CheckError.
type NotationVerifier interface {
	// VerifyNotation verifies envelope (of mediaType MediaTypeJWS or
	// MediaTypeCOSE) as a signature of subject in the repository scope
	// (HOST/REPO: what trust policies' registryScopes name).
	VerifyNotation(ctx context.Context, subject oci.Descriptor, scope, mediaType string, envelope []byte) (*NotationResult, error)
}

// NotationResult is what a verified Notary Project signature says.
type NotationResult struct {
	// Certificate is the signer: the leaf's subject and issuer DNs, and
	// the signing time (or the verified RFC 3161 timestamp).
	Certificate *Certificate
	// TrustPolicy is the name of the trust policy statement applied.
	TrustPolicy string
	// Annotations are the signed user metadata (notation sign -m k=v).
	Annotations map[string]string
}

// NotationSigner makes Notary Project signature envelopes (package
// notation implements it over notation-go).
type NotationSigner interface {
	// SignNotation signs subject; annotations become the payload's signed
	// user metadata.
	SignNotation(ctx context.Context, subject oci.Descriptor, annotations map[string]string) (*NotationEnvelope, error)
}

// NotationEnvelope is a signed envelope and what its manifest records.
type NotationEnvelope struct {
	// Envelope is the JWS or COSE envelope.
	Envelope []byte
	// MediaType is MediaTypeJWS or MediaTypeCOSE.
	MediaType string
	// Chain is the signing certificate chain, leaf first.
	Chain []*x509.Certificate
	// SigningTime is the signed signing time.
	SigningTime time.Time
}

// pushNotation signs subj with s and pushes the envelope and its signature
// manifest as notation does: the empty JSON config with the notation
// artifact type as its media type, the envelope as the only layer, the
// chain thumbprints and creation time as annotations.
//
// Notary Project signature specification v1.1.0 §Signature (storage):
// https://github.com/notaryproject/specifications/blob/v1.1.0/specs/signature-specification.md#signature
func pushNotation(ctx context.Context, dst Repo, subj oci.Descriptor, s NotationSigner, annotations map[string]string) (oci.Descriptor, error) {
	env, err := s.SignNotation(ctx, subj, annotations)
	if err != nil {
		return oci.Descriptor{}, err
	}
	if env.MediaType != MediaTypeJWS && env.MediaType != MediaTypeCOSE {
		return oci.Descriptor{}, fmt.Errorf("notation envelope media type %q", env.MediaType)
	}
	thumbs := make([]string, 0, len(env.Chain))
	for _, c := range env.Chain {
		sum := sha256.Sum256(c.Raw)
		thumbs = append(thumbs, hex.EncodeToString(sum[:]))
	}
	tp, err := json.Marshal(thumbs)
	if err != nil {
		return oci.Descriptor{}, err
	}
	cfg := blobDesc(ArtifactTypeNotation, emptyJSON)
	layer := blobDesc(env.MediaType, env.Envelope)
	if err := put(ctx, dst, cfg, emptyJSON); err != nil {
		return oci.Descriptor{}, err
	}
	if err := put(ctx, dst, layer, env.Envelope); err != nil {
		return oci.Descriptor{}, err
	}
	sw := wireDesc{MediaType: subj.MediaType, Size: subj.Size, Digest: subj.Digest}
	desc, err := pushManifest(ctx, dst, &wireManifest{
		SchemaVersion: 2,
		MediaType:     oci.MediaTypeImageManifest,
		Config:        toWire(cfg),
		Layers:        []wireDesc{toWire(layer)},
		Annotations: map[string]string{
			AnnotationThumbprints: string(tp),
			AnnotationCreated:     env.SigningTime.UTC().Format(time.RFC3339),
		},
		Subject: &sw,
	})
	desc.ArtifactType = ArtifactTypeNotation
	return desc, err
}

// checkNotation verifies the notation signature manifest c of subj with
// opts.Notation and fills f: the manifest names subj and holds exactly one
// envelope layer, which verifies under the trust policy for opts.Scope.
func checkNotation(ctx context.Context, src transport.Source, subj, c oci.Descriptor, opts VerifyOptions, f *Finding) error {
	m, err := fetchManifest(ctx, src, c)
	if err != nil {
		return err
	}
	if m.Subject == nil || m.Subject.Digest != subj.Digest {
		return checkErr(CheckPayload, errors.New("the signature manifest's subject is another manifest"))
	}
	if len(m.Layers) != 1 {
		return fmt.Errorf("a notation signature manifest has exactly one envelope layer, this one %d", len(m.Layers))
	}
	l := m.Layers[0]
	f.Layer = l.Digest
	if l.MediaType != MediaTypeJWS && l.MediaType != MediaTypeCOSE {
		return fmt.Errorf("envelope media type %q (want %s or %s)", l.MediaType, MediaTypeJWS, MediaTypeCOSE)
	}
	env, err := fetch(ctx, src, l)
	if err != nil {
		return err
	}
	res, err := opts.Notation.VerifyNotation(ctx, subj, opts.Scope, l.MediaType, env)
	if err != nil {
		return err
	}
	f.Certificate, f.TrustPolicy, f.Annotations = res.Certificate, res.TrustPolicy, res.Annotations
	return nil
}
