// Package keyless verifies signatures made with a certificate — Sigstore
// keyless signatures (a short-lived Fulcio certificate, a Rekor log entry,
// RFC 3161 timestamps) and signatures by a private CA's certificate — with
// sigstore's own library, sigstore-go, offline: trust comes from a
// trusted_root.json (the public-good one is embedded) or a CA chain, never
// from the network. It implements sign.CertVerifier; engine/sign finds the
// signatures, turns legacy annotations into bundles and matches identities.
//
// It lives outside engine/ because sigstore-go's bundle and verify packages
// import Rekor v2's generated gRPC and grpc-gateway code
// (github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf), which the
// engine's import guard (engine/depcheck_test.go) keeps out of the library.
//
// Specs: Sigstore client spec §Verification
// https://github.com/sigstore/architecture-docs/blob/main/client-spec.md,
// bundle https://github.com/sigstore/protobuf-specs/blob/v0.3.2/protos/sigstore_bundle.proto,
// trusted root https://github.com/sigstore/protobuf-specs/blob/v0.3.2/protos/sigstore_trustroot.proto.
package keyless

import (
	"bytes"
	"crypto/x509"
	_ "embed" // the public-good trusted root
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// PublicGood is Sigstore's public-good trusted_root.json (Fulcio CAs, Rekor
// v1 and v2 logs, CT logs, the timestamp authority), the default trust
// material. See docs/REFERENCES.md for its source and how to refresh it.
//
//go:embed trusted_root.json
var PublicGood []byte

// Options configure a Verifier: the trust material (see sign.Trust; a nil
// TrustedRoot means PublicGood).
type Options = sign.Trust

// Verifier verifies bundles against fixed trust material.
type Verifier struct {
	trusted root.TrustedMaterial
	opts    Options
}

var _ sign.CertVerifier = (*Verifier)(nil)

// New parses the trust material of o.
func New(o Options) (*Verifier, error) {
	raw := o.TrustedRoot
	if raw == nil {
		raw = PublicGood
	}
	tr, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %v: %w", err, errdef.ErrInvalid)
	}
	v := &Verifier{trusted: tr, opts: o}
	if o.CertificateChain != nil {
		ca, err := chainCA(o.CertificateChain)
		if err != nil {
			return nil, fmt.Errorf("certificate chain: %v: %w", err, errdef.ErrInvalid)
		}
		if v.trusted, err = root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{ca},
			tr.CTLogs(), tr.TimestampingAuthorities(), tr.RekorLogs()); err != nil {
			return nil, fmt.Errorf("certificate chain: %v: %w", err, errdef.ErrInvalid)
		}
	}
	return v, nil
}

// chainCA makes a certificate authority of a PEM bundle: one self-signed
// root, any number of intermediates.
func chainCA(pemBytes []byte) (*root.FulcioCertificateAuthority, error) {
	ca := &root.FulcioCertificateAuthority{}
	rest := pemBytes
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			if ca.Root != nil {
				return nil, errors.New("more than one self-signed root")
			}
			ca.Root = c
			continue
		}
		ca.Intermediates = append(ca.Intermediates, c)
	}
	if ca.Root == nil {
		return nil, errors.New("no self-signed root certificate")
	}
	return ca, nil
}

// VerifyBundle verifies a Sigstore bundle signed with a certificate: first
// the signature over the content (so a changed payload is reported as
// such), then sigstore-go's full verification — log entries, timestamps,
// the chain at the verified times, the SCT — with every RFC 3161 timestamp
// the bundle carries required to verify. It does not match identities.
func (v *Verifier) VerifyBundle(raw, artifact []byte) (*sign.Certificate, error) {
	b, err := parseBundle(raw)
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckBundle, Err: err}
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckBundle, Err: err}
	}
	if vc.Certificate() == nil {
		return nil, &sign.CheckError{Check: sign.CheckBundle, Err: errors.New("the bundle holds a public key, not a certificate")}
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckBundle, Err: err}
	}
	msg := sc.MessageSignatureContent() != nil
	if msg && artifact == nil {
		return nil, &sign.CheckError{Check: sign.CheckBundle, Err: errors.New("a message signature needs the signed content")}
	}
	if msg {
		err = verify.VerifySignatureWithArtifacts(sc, vc, v.trusted, []io.Reader{bytes.NewReader(artifact)})
	} else {
		err = verify.VerifySignature(sc, vc, v.trusted)
	}
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckPayload, Err: err}
	}
	if err := precheckChain(vc.Certificate(), v.trusted); err != nil {
		return nil, &sign.CheckError{Check: sign.CheckChain, Err: err}
	}

	tss, err := b.Timestamps()
	if err != nil {
		return nil, &sign.CheckError{Check: sign.CheckBundle, Err: err}
	}
	var vopts []verify.VerifierOption
	if len(tss) > 0 {
		vopts = append(vopts, verify.WithSignedTimestamps(len(tss)))
	}
	switch {
	case !v.opts.IgnoreTlog:
		vopts = append(vopts, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	case len(tss) == 0:
		vopts = append(vopts, verify.WithCurrentTime())
	}
	if !v.opts.IgnoreSCT {
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	sv, err := verify.NewVerifier(v.trusted, vopts...)
	if err != nil {
		return nil, fmt.Errorf("keyless: %v", err)
	}
	art := verify.WithoutArtifactUnsafe() // the DSSE statement's subject is checked by engine/sign
	if msg {
		art = verify.WithArtifact(bytes.NewReader(artifact))
	}
	res, err := sv.Verify(b, verify.NewPolicy(art, verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, classify(err)
	}
	return certificate(res), nil
}

// parseBundle reads a bundle. A v0.3 bundle may carry a certificate chain
// where the spec has the leaf only: cosign writes one for sign
// --certificate-chain, and sigstore-go accepts it on request.
func parseBundle(raw []byte) (*bundle.Bundle, error) {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		return nil, err
	}
	var opts []bundle.Option
	if pb.GetVerificationMaterial().GetX509CertificateChain() != nil && !strings.Contains(pb.GetMediaType(), "version=0.") {
		opts = append(opts, bundle.AllowCertificateChain())
	}
	return bundle.NewBundle(&pb, opts...)
}

// precheckChain checks the leaf's chain at its own issuance time, before
// the log and timestamps are looked at, so that a changed certificate is
// reported as a chain failure rather than as a log entry that no longer
// matches it; the full verification checks the chain again at the verified
// signature times. Go's verifier does not know Fulcio's OtherName SAN, so,
// as sigstore-go does, that critical extension is not held against it.
func precheckChain(leaf *x509.Certificate, trusted root.TrustedMaterial) error {
	c := *leaf
	c.UnhandledCriticalExtensions = nil
	for _, oid := range leaf.UnhandledCriticalExtensions {
		if !oid.Equal(cryptoutils.SANOID) {
			c.UnhandledCriticalExtensions = append(c.UnhandledCriticalExtensions, oid)
		}
	}
	_, err := verify.VerifyLeafCertificate(c.NotBefore, &c, trusted)
	return err
}

// stages maps sigstore-go's wrapping of each verification step to the check
// it is (pkg/verify/signed_entity.go, Verifier.Verify).
var stages = []struct{ prefix, check string }{
	{"failed to verify log inclusion", sign.CheckTlog},
	{"failed to verify timestamps", sign.CheckTimestamp},
	{"failed to verify leaf certificate", sign.CheckChain},
	{"failed to verify signed certificate timestamp", sign.CheckSCT},
	{"failed to verify signature", sign.CheckPayload},
}

// classify names the check a sigstore-go verification error failed.
func classify(err error) error {
	msg := err.Error()
	for _, s := range stages {
		if strings.HasPrefix(msg, s.prefix) {
			return &sign.CheckError{Check: s.check, Err: err}
		}
	}
	return &sign.CheckError{Check: sign.CheckBundle, Err: err}
}

// certificate reports the verified certificate's claims and timestamps.
func certificate(res *verify.VerificationResult) *sign.Certificate {
	c := &sign.Certificate{}
	if res.Signature != nil && res.Signature.Certificate != nil {
		s := res.Signature.Certificate
		c.Subject = s.SubjectAlternativeName
		c.Issuer = s.Issuer
		c.CA = s.CertificateIssuer
		c.GitHubWorkflowTrigger = s.GithubWorkflowTrigger
		c.GitHubWorkflowSHA = s.GithubWorkflowSHA
		c.GitHubWorkflowName = s.GithubWorkflowName
		c.GitHubWorkflowRepository = s.GithubWorkflowRepository
		c.GitHubWorkflowRef = s.GithubWorkflowRef
	}
	for _, ts := range res.VerifiedTimestamps {
		kind := map[string]string{"Tlog": "tlog", "TimestampAuthority": "tsa", "CurrentTime": "now"}[ts.Type]
		c.Timestamps = append(c.Timestamps, sign.Timestamp{Kind: kind, Time: ts.Timestamp.UTC()})
	}
	return c
}

// Load is New for policy.Verifiers and other callers that want the
// interface.
func Load(t sign.Trust) (sign.CertVerifier, error) {
	v, err := New(t)
	if err != nil {
		return nil, err
	}
	return v, nil
}
