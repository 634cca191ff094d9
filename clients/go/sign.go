package stevedoreclient

import (
	"context"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// GenerateKeyPair creates an ECDSA P-256 key pair in the server's key
// directory, the private key encrypted with password; an empty keyID lets
// the server derive one. The private key never leaves the server.
func (c *Client) GenerateKeyPair(ctx context.Context, keyID, password string) (*stevedorev1.GenerateKeyPairResponse, error) {
	return unary(ctx, c.Signing.GenerateKeyPair, &stevedorev1.GenerateKeyPairRequest{KeyId: keyID, Password: password})
}

// Sign signs the digest req.Ref resolves to with a key of the server's key
// directory and stores the signature next to the image (cosign's formats).
func (c *Client) Sign(ctx context.Context, req *stevedorev1.SignRequest) (*stevedorev1.SignResponse, error) {
	return unary(ctx, c.Signing.Sign, req)
}

// Verify checks the signatures of req.Ref against the trusted keys, or, for
// keyless and certificate signatures, req.CertificateIdentities and
// req.CertificateTrust (cosign's --certificate-* flags and --trusted-root),
// or, for Notary Project signatures, req.NotationTrust (notation's trust
// policy and trust store). A failed verification is a report with Verified false (each finding's
// Check names what failed), not an error; errors mean the check could not
// run.
func (c *Client) Verify(ctx context.Context, req *stevedorev1.VerifyRequest) (*stevedorev1.VerifyResponse, error) {
	return unary(ctx, c.Signing.Verify, req)
}

// Attest signs an in-toto statement with req.Predicate about req.Ref.
func (c *Client) Attest(ctx context.Context, req *stevedorev1.AttestRequest) (*stevedorev1.AttestResponse, error) {
	return unary(ctx, c.Signing.Attest, req)
}

// VerifyAttestation is Verify for attestations of req.PredicateType.
func (c *Client) VerifyAttestation(ctx context.Context, req *stevedorev1.VerifyAttestationRequest) (*stevedorev1.VerifyAttestationResponse, error) {
	return unary(ctx, c.Signing.VerifyAttestation, req)
}

// Tree lists what is attached to ref (signatures, attestations, SBOMs,
// other referrers), verifying nothing.
func (c *Client) Tree(ctx context.Context, ref string) (*stevedorev1.TreeResponse, error) {
	return unary(ctx, c.Signing.Tree, &stevedorev1.TreeRequest{Ref: ref})
}
