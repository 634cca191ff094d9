package sign

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// Media types, annotations and constants of cosign's legacy format.
const (
	// MediaTypeSimpleSigning is a legacy signature layer: the signed payload.
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	// MediaTypeDSSE is a legacy attestation layer: a whole DSSE envelope.
	MediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
	// AnnotationSignature holds a legacy layer's base64 signature (empty
	// for an attestation, whose signature is inside the envelope).
	AnnotationSignature = "dev.cosignproject.cosign/signature"
	// AnnotationPredicateType is a legacy attestation layer's predicate type.
	AnnotationPredicateType = "predicateType"
	// SimpleSigningType is critical.type of a legacy signature payload.
	SimpleSigningType = "cosign container image signature"
)

// simpleSigning is the payload of a legacy signature (Red Hat's "simple
// signing" format as cosign writes it).
//
// cosign SIGNATURE_SPEC: https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// legacyConfig is the synthetic image config cosign's library gives a
// signature manifest; cosign never reads it, but writing the same keeps the
// manifests alike.
type legacyConfig struct {
	Architecture string `json:"architecture"`
	Created      string `json:"created"`
	History      []struct {
		Created string `json:"created"`
	} `json:"history"`
	OS     string `json:"os"`
	RootFS struct {
		Type    string          `json:"type"`
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
	Config struct{} `json:"config"`
}

const zeroTime = "0001-01-01T00:00:00Z"

// LegacyTag is the tag of subj's legacy signatures (suffix ".sig") or
// attestations (".att"): sha256-<hex><suffix>.
func LegacyTag(subj oci.Descriptor, suffix string) string {
	return transport.FallbackTag(subj) + suffix
}

// signLegacy signs the simple-signing payload for subj and appends it to
// the signature manifest at sha256-<hex>.sig.
func signLegacy(ctx context.Context, dst Repo, subj oci.Descriptor, signer crypto.Signer, cert *SigningCert, identity string, annotations map[string]string) (oci.Descriptor, string, error) {
	var p simpleSigning
	p.Critical.Identity.DockerReference = identity
	p.Critical.Image.DockerManifestDigest = subj.Digest.String()
	p.Critical.Type = SimpleSigningType
	if len(annotations) > 0 {
		p.Optional = map[string]any{}
		for k, v := range annotations {
			p.Optional[k] = v
		}
	}
	payload, err := marshalCompact(&p)
	if err != nil {
		return oci.Descriptor{}, "", err
	}
	sig, err := signBytes(signer, payload)
	if err != nil {
		return oci.Descriptor{}, "", err
	}
	layer := blobDesc(MediaTypeSimpleSigning, payload)
	layer.Annotations = map[string]string{AnnotationSignature: base64.StdEncoding.EncodeToString(sig)}
	cert.annotate(layer.Annotations)
	tag := LegacyTag(subj, ".sig")
	d, err := appendLegacy(ctx, dst, tag, layer, payload)
	return d, tag, err
}

// appendLegacy adds layer (content raw) to the manifest at tag, creating it
// if absent, and re-tags it: cosign's read–append–re-PUT, so earlier
// signatures are kept. A layer already there (same content and
// annotations) is not added twice. Concurrent signers can lose one
// another's layer, as with cosign.
func appendLegacy(ctx context.Context, dst Repo, tag string, layer oci.Descriptor, raw []byte) (oci.Descriptor, error) {
	var layers []wireDesc
	cur, err := dst.Resolve(ctx, tag)
	switch {
	case errors.Is(err, errdef.ErrNotFound):
	case err != nil:
		return oci.Descriptor{}, err
	default:
		m, err := fetchManifest(ctx, dst, cur)
		if err != nil {
			return oci.Descriptor{}, fmt.Errorf("existing %s: %w", tag, err)
		}
		if m.IsIndex() {
			return oci.Descriptor{}, fmt.Errorf("existing %s is an index, not a signature manifest: %w", tag, errdef.ErrInvalid)
		}
		for _, l := range m.Layers {
			if l.Digest == layer.Digest && equalMaps(l.Annotations, layer.Annotations) {
				return cur, nil
			}
			layers = append(layers, toWire(l))
		}
	}
	if err := put(ctx, dst, layer, raw); err != nil {
		return oci.Descriptor{}, err
	}
	layers = append(layers, toWire(layer))
	var cfg legacyConfig
	cfg.Created = zeroTime
	cfg.RootFS.Type = "layers"
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.Digest)
		cfg.History = append(cfg.History, struct {
			Created string `json:"created"`
		}{zeroTime})
	}
	cfgRaw, err := marshalCompact(&cfg)
	if err != nil {
		return oci.Descriptor{}, err
	}
	cfgDesc := blobDesc(oci.MediaTypeImageConfig, cfgRaw)
	if err := put(ctx, dst, cfgDesc, cfgRaw); err != nil {
		return oci.Descriptor{}, err
	}
	desc, err := pushManifest(ctx, dst, &wireManifest{SchemaVersion: 2, MediaType: oci.MediaTypeImageManifest, Config: toWire(cfgDesc), Layers: layers})
	if err != nil {
		return oci.Descriptor{}, err
	}
	return desc, dst.Tag(ctx, desc, tag)
}

// checkLegacySig verifies one layer of a .sig manifest: the payload blob
// (verified against the layer digest), the signature annotation over
// sha256(payload) — by one of opts.Keys, or, for a layer with a
// certificate, through opts.Certs and opts.Identities — and the payload's
// claims: type and image digest. docker-reference is not checked, as cosign
// does not: an image copied to another repository keeps its signatures.
//
// cosign SIGNATURE_SPEC: https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md
func checkLegacySig(ctx context.Context, src transport.Source, subj, l oci.Descriptor, opts VerifyOptions, f *Finding) error {
	sigB64, ok := l.Annotations[AnnotationSignature]
	if !ok || sigB64 == "" {
		return fmt.Errorf("layer has no %s annotation", AnnotationSignature)
	}
	sig, err := decodeB64(sigB64)
	if err != nil {
		return fmt.Errorf("signature annotation: %v", err)
	}
	payload, err := fetch(ctx, src, l)
	if err != nil {
		return fmt.Errorf("payload %s: %v", l.Digest, err)
	}
	switch {
	case hasCertificate(l.Annotations) && opts.Certs != nil:
		b, err := legacyBundle(l.Annotations, payload, sig, nil)
		if err != nil {
			return checkErr(CheckBundle, err)
		}
		if err := checkCertified(b, payload, opts, f); err != nil {
			return err
		}
	case len(opts.Keys) == 0:
		return fmt.Errorf("signed with a key, not a certificate: verifying it needs --key")
	default:
		if f.Key = verifyBytes(opts.Keys, payload, sig); f.Key < 0 {
			return fmt.Errorf("signature does not verify with %s", keysPhrase(len(opts.Keys)))
		}
	}
	var p simpleSigning
	if err := json.Unmarshal(payload, &p); err != nil {
		return checkErr(CheckPayload, fmt.Errorf("payload is not simple-signing JSON: %v", err))
	}
	f.Annotations = stringMap(p.Optional)
	f.PredicateType = p.Critical.Type
	if p.Critical.Type != SimpleSigningType {
		return checkErr(CheckPayload, fmt.Errorf("payload type %q, want %q", p.Critical.Type, SimpleSigningType))
	}
	if p.Critical.Image.DockerManifestDigest != subj.Digest.String() {
		return checkErr(CheckPayload, fmt.Errorf("payload signs %s, not %s (a signature for another image)", p.Critical.Image.DockerManifestDigest, subj.Digest))
	}
	return nil
}

// checkLegacyAtt verifies one layer of a .att manifest: a DSSE envelope
// signed by one of opts.Keys (or with a certificate, as checkLegacySig)
// over a statement about subj.
func checkLegacyAtt(ctx context.Context, src transport.Source, subj, l oci.Descriptor, opts VerifyOptions, f *Finding) (*statement, error) {
	raw, err := fetch(ctx, src, l)
	if err != nil {
		return nil, fmt.Errorf("envelope %s: %v", l.Digest, err)
	}
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("envelope is not valid JSON: %v", err)
	}
	if hasCertificate(l.Annotations) && opts.Certs != nil {
		b, err := legacyBundle(l.Annotations, nil, nil, &env)
		if err != nil {
			return nil, checkErr(CheckBundle, err)
		}
		if err := checkCertified(b, nil, opts, f); err != nil {
			return nil, err
		}
		return checkEnvelope(&env, subj.Digest, f, "layer annotation")
	}
	if len(opts.Keys) == 0 {
		return nil, fmt.Errorf("signed with a key, not a certificate: verifying it needs --key")
	}
	return checkAttestation(&env, opts.Keys, subj.Digest, f, "layer annotation")
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
