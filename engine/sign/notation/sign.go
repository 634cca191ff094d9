package notation

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	corex509 "github.com/notaryproject/notation-core-go/x509"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/signer"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
)

// SigningAgent is the signing agent a stevedore signature records
// (io.cncf.notary.signingAgent).
const SigningAgent = "stevedore"

// SignerOptions configure a Signer.
type SignerOptions struct {
	// MediaType is the envelope: sign.MediaTypeJWS ("" too, notation's
	// default) or sign.MediaTypeCOSE.
	MediaType string
	// Expiry, when set, is how long the signature stays valid
	// (io.cncf.notary.expiry; notation sign --expiry).
	Expiry time.Duration
}

// Signer signs with a local key and its certificate chain, as notation's
// local signing keys do.
type Signer struct {
	s     *signer.GenericSigner
	chain []*x509.Certificate
	opts  SignerOptions
}

var _ sign.NotationSigner = (*Signer)(nil)

// ParseKey reads an unencrypted PEM private key (PKCS #8, PKCS #1 or SEC 1:
// RSA, or ECDSA P-256/384/521), notation's key file.
func ParseKey(pemBytes []byte) (crypto.PrivateKey, error) {
	k, err := corex509.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("notation key: %v: %w", err, errdef.ErrInvalid)
	}
	return k, nil
}

// ParseChain reads PEM certificates, leaf first (notation's certificate
// file).
func ParseChain(pemBytes []byte) ([]*x509.Certificate, error) {
	certs, err := parseCerts(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %v: %w", err, errdef.ErrInvalid)
	}
	return certs, nil
}

// NewSigner checks that chain (leaf first) is a code signing chain for key
// and that the envelope type is known.
func NewSigner(key crypto.PrivateKey, chain []*x509.Certificate, o SignerOptions) (*Signer, error) {
	switch o.MediaType {
	case "":
		o.MediaType = sign.MediaTypeJWS
	case sign.MediaTypeJWS, sign.MediaTypeCOSE:
	default:
		return nil, fmt.Errorf("notation envelope %q (want %s or %s): %w", o.MediaType, sign.MediaTypeJWS, sign.MediaTypeCOSE, errdef.ErrInvalid)
	}
	if o.Expiry < 0 {
		return nil, fmt.Errorf("notation expiry %s is negative: %w", o.Expiry, errdef.ErrInvalid)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("notation signing needs the key's certificate chain: %w", errdef.ErrInvalid)
	}
	now := time.Now()
	if err := corex509.ValidateCodeSigningCertChain(chain, &now); err != nil {
		return nil, fmt.Errorf("certificate chain: %v: %w", err, errdef.ErrInvalid)
	}
	s, err := signer.NewGenericSigner(key, chain)
	if err != nil {
		return nil, fmt.Errorf("notation signer: %v: %w", err, errdef.ErrInvalid)
	}
	return &Signer{s: s, chain: chain, opts: o}, nil
}

// SignNotation signs subject; annotations are the payload's user metadata.
func (s *Signer) SignNotation(ctx context.Context, subject oci.Descriptor, annotations map[string]string) (*sign.NotationEnvelope, error) {
	desc := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size, Annotations: annotations}
	env, si, err := s.s.Sign(ctx, desc, notation.SignerSignOptions{SignatureMediaType: s.opts.MediaType, ExpiryDuration: s.opts.Expiry, SigningAgent: SigningAgent})
	if err != nil {
		return nil, err
	}
	return &sign.NotationEnvelope{Envelope: env, MediaType: s.opts.MediaType, Chain: si.CertificateChain, SigningTime: si.SignedAttributes.SigningTime}, nil
}
