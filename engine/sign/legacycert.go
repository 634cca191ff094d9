package sign

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Annotations of a legacy signature layer made with a certificate (cosign
// keyless, or --certificate): the certificate, its chain, the Rekor bundle
// and the RFC 3161 timestamp.
//
// cosign SIGNATURE_SPEC §Certificate and Rekor annotations:
// https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md
const (
	AnnotationCertificate = "dev.sigstore.cosign/certificate"
	AnnotationChain       = "dev.sigstore.cosign/chain"
	AnnotationRekorBundle = "dev.sigstore.cosign/bundle"
	AnnotationTimestamp   = "dev.sigstore.cosign/rfc3161timestamp"
)

// MediaTypeBundleV01 is the Sigstore bundle v0.1 media type: the version
// whose log entries may carry a signed entry timestamp without an inclusion
// proof, which is all a legacy Rekor bundle annotation holds.
const MediaTypeBundleV01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// rekorBundle is the dev.sigstore.cosign/bundle annotation: Rekor's signed
// entry timestamp and the entry it signs.
type rekorBundle struct {
	SignedEntryTimestamp string `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// Sigstore bundle v0.1 in its protobuf JSON form, the parts a legacy
// signature fills.
//
// https://github.com/sigstore/protobuf-specs/blob/v0.3.2/protos/sigstore_bundle.proto
// https://github.com/sigstore/protobuf-specs/blob/v0.3.2/protos/sigstore_rekor.proto
type (
	pbBundle struct {
		MediaType            string     `json:"mediaType"`
		VerificationMaterial pbMaterial `json:"verificationMaterial"`
		MessageSignature     *pbMessage `json:"messageSignature,omitempty"`
		DSSEEnvelope         *Envelope  `json:"dsseEnvelope,omitempty"`
	}
	pbMaterial struct {
		X509CertificateChain *struct {
			Certificates []pbRaw `json:"certificates"`
		} `json:"x509CertificateChain,omitempty"`
		TlogEntries   []pbTlogEntry `json:"tlogEntries,omitempty"`
		TimestampData *pbTimestamp  `json:"timestampVerificationData,omitempty"`
	}
	pbRaw struct {
		RawBytes []byte `json:"rawBytes"`
	}
	pbTimestamp struct {
		RFC3161Timestamps []struct {
			SignedTimestamp []byte `json:"signedTimestamp"`
		} `json:"rfc3161Timestamps"`
	}
	pbMessage struct {
		MessageDigest struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"messageDigest"`
		Signature []byte `json:"signature"`
	}
	pbTlogEntry struct {
		LogIndex string `json:"logIndex"`
		LogID    struct {
			KeyID []byte `json:"keyId"`
		} `json:"logId"`
		KindVersion struct {
			Kind    string `json:"kind"`
			Version string `json:"version"`
		} `json:"kindVersion"`
		IntegratedTime   string `json:"integratedTime"`
		InclusionPromise struct {
			SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
		} `json:"inclusionPromise"`
		CanonicalizedBody []byte `json:"canonicalizedBody"`
	}
)

// hasCertificate reports whether a legacy layer was signed with a
// certificate.
func hasCertificate(ann map[string]string) bool { return ann[AnnotationCertificate] != "" }

// legacyBundle assembles the Sigstore bundle v0.1 equivalent of a legacy
// layer signed with a certificate, so that one verifier (sigstore-go) checks
// both formats: the certificate and chain annotations become the
// certificate chain, the Rekor bundle a log entry with its signed entry
// timestamp, the RFC 3161 annotation a timestamp. A signature layer is a
// message signature over payload (sig is the decoded signature); an
// attestation layer (env set) is its DSSE envelope.
func legacyBundle(ann map[string]string, payload, sig []byte, env *Envelope) ([]byte, error) {
	b := pbBundle{MediaType: MediaTypeBundleV01}
	certs, err := pemCerts(ann[AnnotationCertificate])
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("%s annotation: want one PEM certificate: %v", AnnotationCertificate, err)
	}
	chain, err := pemCerts(ann[AnnotationChain])
	if err != nil {
		return nil, fmt.Errorf("%s annotation: %v", AnnotationChain, err)
	}
	b.VerificationMaterial.X509CertificateChain = &struct {
		Certificates []pbRaw `json:"certificates"`
	}{}
	for _, c := range append(certs, chain...) {
		b.VerificationMaterial.X509CertificateChain.Certificates = append(b.VerificationMaterial.X509CertificateChain.Certificates, pbRaw{c})
	}
	if s := ann[AnnotationRekorBundle]; s != "" {
		e, err := tlogEntry(s)
		if err != nil {
			return nil, fmt.Errorf("%s annotation: %v", AnnotationRekorBundle, err)
		}
		b.VerificationMaterial.TlogEntries = []pbTlogEntry{*e}
	}
	if s := ann[AnnotationTimestamp]; s != "" {
		if env != nil {
			// cosign timestamps a legacy attestation's whole layer, not its
			// signature, which no bundle can express.
			return nil, fmt.Errorf("RFC 3161 timestamps on legacy attestations are not supported")
		}
		var ts struct {
			SignedRFC3161Timestamp []byte `json:"SignedRFC3161Timestamp"`
		}
		if err := json.Unmarshal([]byte(s), &ts); err != nil {
			return nil, fmt.Errorf("%s annotation: %v", AnnotationTimestamp, err)
		}
		b.VerificationMaterial.TimestampData = &pbTimestamp{}
		b.VerificationMaterial.TimestampData.RFC3161Timestamps = append(b.VerificationMaterial.TimestampData.RFC3161Timestamps, struct {
			SignedTimestamp []byte `json:"signedTimestamp"`
		}{ts.SignedRFC3161Timestamp})
	}
	if env != nil {
		b.DSSEEnvelope = env
	} else {
		sum := sha256.Sum256(payload)
		b.MessageSignature = &pbMessage{Signature: sig}
		b.MessageSignature.MessageDigest.Algorithm = "SHA2_256"
		b.MessageSignature.MessageDigest.Digest = sum[:]
	}
	return json.Marshal(&b)
}

// tlogEntry converts a Rekor bundle annotation to a bundle log entry; the
// entry's kind and version are read from its body.
func tlogEntry(s string) (*pbTlogEntry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(s), &rb); err != nil {
		return nil, err
	}
	body, err := decodeB64(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %v", err)
	}
	set, err := decodeB64(rb.SignedEntryTimestamp)
	if err != nil {
		return nil, fmt.Errorf("SignedEntryTimestamp: %v", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("logID: %v", err)
	}
	var kind struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(body, &kind); err != nil || kind.Kind == "" {
		return nil, fmt.Errorf("entry body is not a Rekor entry")
	}
	e := &pbTlogEntry{
		LogIndex:          strconv.FormatInt(rb.Payload.LogIndex, 10),
		IntegratedTime:    strconv.FormatInt(rb.Payload.IntegratedTime, 10),
		CanonicalizedBody: body,
	}
	e.LogID.KeyID = logID
	e.KindVersion.Kind, e.KindVersion.Version = kind.Kind, kind.APIVersion
	e.InclusionPromise.SignedEntryTimestamp = set
	return e, nil
}

// pemCerts returns the DER of each CERTIFICATE block of s, in order.
func pemCerts(s string) ([][]byte, error) {
	var out [][]byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", b.Type)
		}
		out = append(out, b.Bytes)
	}
	if len(out) == 0 && strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("not PEM")
	}
	return out, nil
}
