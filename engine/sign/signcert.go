package sign

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"reflect"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// SigningCert is a certificate for the signing key, stored with each
// signature so verifiers check it against a CA instead of trusting the key
// (cosign sign --certificate, --certificate-chain): a private CA's or a
// self-managed certificate.
type SigningCert struct {
	// Leaf is the certificate (DER).
	Leaf []byte
	// Chain is its issuers up to the root (DER), leaf's issuer first,
	// recorded with the leaf as cosign records it.
	Chain [][]byte
}

// ParseSigningCert reads a PEM certificate and an optional PEM chain and
// checks that the certificate is for signer's key.
func ParseSigningCert(certPEM, chainPEM []byte, signer crypto.Signer) (*SigningCert, error) {
	leaf, err := pemCerts(string(certPEM))
	if err != nil || len(leaf) != 1 {
		return nil, fmt.Errorf("certificate: want one PEM CERTIFICATE (%v): %w", err, errdef.ErrInvalid)
	}
	c, err := x509.ParseCertificate(leaf[0])
	if err != nil {
		return nil, fmt.Errorf("certificate: %v: %w", err, errdef.ErrInvalid)
	}
	if !reflect.DeepEqual(c.PublicKey, signer.Public()) {
		return nil, fmt.Errorf("certificate is not for the signing key: %w", errdef.ErrInvalid)
	}
	chain, err := pemCerts(string(chainPEM))
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %v: %w", err, errdef.ErrInvalid)
	}
	for i, der := range chain {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("certificate chain [%d]: %v: %w", i, err, errdef.ErrInvalid)
		}
	}
	return &SigningCert{Leaf: leaf[0], Chain: chain}, nil
}

// intermediates is Chain without self-signed roots.
func (c *SigningCert) intermediates() [][]byte {
	var out [][]byte
	for _, der := range c.Chain {
		if x, err := x509.ParseCertificate(der); err == nil && !bytes.Equal(x.RawIssuer, x.RawSubject) {
			out = append(out, der)
		}
	}
	return out
}

// annotate adds the legacy certificate and chain annotations to ann.
func (c *SigningCert) annotate(ann map[string]string) {
	if c == nil {
		return
	}
	ann[AnnotationCertificate] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf}))
	var chain []byte
	for _, der := range c.Chain {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if len(chain) > 0 {
		ann[AnnotationChain] = string(chain)
	}
}
