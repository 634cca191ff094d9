package sign

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Media types and annotations of cosign's bundle format.
const (
	// MediaTypeBundle is the Sigstore bundle v0.3: the referrer's
	// artifactType and its only layer's media type.
	MediaTypeBundle = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// AnnotationBundleContent says what the bundle holds ("dsse-envelope").
	AnnotationBundleContent = "dev.sigstore.bundle.content"
	// AnnotationBundlePredicateType repeats the statement's predicate type
	// on the manifest, so a listing can tell signatures from attestations.
	AnnotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is the OCI creation time annotation.
	AnnotationCreated = "org.opencontainers.image.created"
)

// emptyJSON is the OCI empty descriptor's content: a bundle referrer's config.
var emptyJSON = []byte("{}")

// bundle is a Sigstore bundle v0.3 as cosign writes it for a key (no
// certificate, no transparency log entry): the key is only hinted at.
//
// https://github.com/sigstore/protobuf-specs/blob/v0.3.2/protos/sigstore_bundle.proto
type bundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey,omitempty"`
		Certificate          json.RawMessage `json:"certificate,omitempty"`
		X509CertificateChain json.RawMessage `json:"x509CertificateChain,omitempty"`
		TlogEntries          json.RawMessage `json:"tlogEntries,omitempty"`
		TimestampData        json.RawMessage `json:"timestampVerificationData,omitempty"`
	} `json:"verificationMaterial"`
	MessageSignature json.RawMessage `json:"messageSignature,omitempty"`
	DSSEEnvelope     *Envelope       `json:"dsseEnvelope,omitempty"`
}

// bundleVersions are the Sigstore bundle media types verified: v0.1 to
// v0.3, in both spellings of v0.3.
var bundleVersions = map[string]bool{
	MediaTypeBundleV01: true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	MediaTypeBundle: true,
}

// IsBundleType reports whether an artifactType or media type names a
// Sigstore bundle of any version.
func IsBundleType(mt string) bool {
	return strings.HasPrefix(mt, "application/vnd.dev.sigstore.bundle")
}

// pushBundle signs statement (DSSE), wraps it in a bundle and pushes it as
// a referrer of subj: empty config, one bundle layer, the annotations cosign
// v3 writes. The verification material is cert's leaf when given, else a
// hint of the key. It returns the referrer manifest's descriptor.
//
// cosign BUNDLE_SPEC: https://github.com/sigstore/cosign/blob/v3.1.3/specs/BUNDLE_SPEC.md
func pushBundle(ctx context.Context, dst Repo, subj oci.Descriptor, signer crypto.Signer, cert *SigningCert, stmt []byte, predicateType string, now time.Time) (oci.Descriptor, error) {
	env, err := signDSSE(signer, PayloadTypeInToto, stmt)
	if err != nil {
		return oci.Descriptor{}, err
	}
	var b bundle
	b.MediaType = MediaTypeBundle
	switch {
	case cert != nil && len(cert.intermediates()) > 0:
		// As cosign sign --certificate-chain writes it: the leaf and its
		// intermediates in a v0.3 bundle, where the spec has the leaf only.
		// The root is the verifier's to trust, never the bundle's.
		var chain struct {
			Certificates []pbRaw `json:"certificates"`
		}
		for _, der := range append([][]byte{cert.Leaf}, cert.intermediates()...) {
			chain.Certificates = append(chain.Certificates, pbRaw{der})
		}
		if b.VerificationMaterial.X509CertificateChain, err = json.Marshal(chain); err != nil {
			return oci.Descriptor{}, err
		}
	case cert != nil:
		if b.VerificationMaterial.Certificate, err = json.Marshal(pbRaw{cert.Leaf}); err != nil {
			return oci.Descriptor{}, err
		}
	default:
		b.VerificationMaterial.PublicKey = &struct {
			Hint string `json:"hint"`
		}{KeyHint(signer.Public())}
	}
	b.DSSEEnvelope = env
	raw, err := marshalCompact(&b)
	if err != nil {
		return oci.Descriptor{}, err
	}
	cfg := blobDesc(oci.MediaTypeEmptyJSON, emptyJSON)
	layer := blobDesc(MediaTypeBundle, raw)
	if err := put(ctx, dst, cfg, emptyJSON); err != nil {
		return oci.Descriptor{}, err
	}
	if err := put(ctx, dst, layer, raw); err != nil {
		return oci.Descriptor{}, err
	}
	wcfg := toWire(cfg)
	wcfg.ArtifactType = MediaTypeBundle // cosign's library sets it on the config too
	s := wireDesc{MediaType: subj.MediaType, Size: subj.Size, Digest: subj.Digest}
	return pushManifest(ctx, dst, &wireManifest{
		SchemaVersion: 2,
		MediaType:     oci.MediaTypeImageManifest,
		Config:        wcfg,
		Layers:        []wireDesc{toWire(layer)},
		Annotations: map[string]string{
			AnnotationBundleContent:       "dsse-envelope",
			AnnotationBundlePredicateType: predicateType,
			AnnotationCreated:             now.UTC().Format(time.RFC3339),
		},
		Subject:      &s,
		ArtifactType: MediaTypeBundle,
	})
}

// checkBundle verifies the bundle referrer ref of subj and fills f: the
// manifest names subj and holds exactly one bundle layer; the bundle's DSSE
// envelope is signed by one of opts.Keys, or, when it carries a
// certificate, verified by opts.Certs and the certificate names one of
// opts.Identities; its statement's subject is subj. The predicate type is
// checked by the caller. f.Reason says why a check failed; f.Verified is
// left for the caller.
//
// cosign BUNDLE_SPEC: https://github.com/sigstore/cosign/blob/v3.1.3/specs/BUNDLE_SPEC.md
func checkBundle(ctx context.Context, src transport.Source, subj, ref oci.Descriptor, opts VerifyOptions, f *Finding) (*statement, error) {
	m, err := fetchManifest(ctx, src, ref)
	if err != nil {
		return nil, err
	}
	f.PredicateType = m.Annotations[AnnotationBundlePredicateType]
	if m.Subject == nil || m.Subject.Digest != subj.Digest {
		return nil, fmt.Errorf("referrer manifest's subject is not %s", subj.Digest)
	}
	if len(m.Layers) != 1 {
		return nil, fmt.Errorf("referrer manifest has %d layers, want exactly 1 bundle", len(m.Layers))
	}
	l := m.Layers[0]
	f.Layer = l.Digest
	if !IsBundleType(l.MediaType) {
		return nil, fmt.Errorf("layer media type %q is not a Sigstore bundle", l.MediaType)
	}
	raw, err := fetch(ctx, src, l)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %v", l.Digest, err)
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("bundle is not valid JSON: %v", err)
	}
	if !bundleVersions[b.MediaType] {
		return nil, fmt.Errorf("bundle media type %q is not a Sigstore bundle v0.1 to v0.3", b.MediaType)
	}
	if b.VerificationMaterial.PublicKey != nil {
		f.KeyHint = b.VerificationMaterial.PublicKey.Hint
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("bundle holds no DSSE envelope (a message signature is not an image signature)")
	}
	withCert := len(b.VerificationMaterial.Certificate) > 0 || len(b.VerificationMaterial.X509CertificateChain) > 0
	if withCert && opts.Certs != nil {
		if err := checkCertified(raw, nil, opts, f); err != nil {
			return nil, err
		}
		return checkEnvelope(b.DSSEEnvelope, subj.Digest, f, "manifest annotation")
	}
	if len(opts.Keys) == 0 {
		return nil, fmt.Errorf("signed with a key, not a certificate: verifying it needs --key")
	}
	return checkAttestation(b.DSSEEnvelope, opts.Keys, subj.Digest, f, "manifest annotation")
}

// checkCertified verifies a bundle signed with a certificate through
// opts.Certs (artifact: the signed message of a message signature), then
// that the certificate names one of opts.Identities, recording the signer
// in f.
func checkCertified(bundle, artifact []byte, opts VerifyOptions, f *Finding) error {
	c, err := opts.Certs.VerifyBundle(bundle, artifact)
	if err != nil {
		return err
	}
	f.Certificate = c
	return matchAny(opts.Identities, c)
}
