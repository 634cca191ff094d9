// Package notation verifies and makes Notary Project signatures (notation's
// JWS and COSE envelopes over an OCI artifact descriptor) with the Notary
// Project's own libraries, notation-go and notation-core-go: verification
// against a notation trust policy (trustpolicy.json) and an X.509 trust
// store (ca, signingAuthority and tsa stores), signing with a local key
// and its certificate chain. It implements sign.NotationVerifier and
// sign.NotationSigner; engine/sign finds the signature manifests (referrers
// API or tag schema) and pushes them.
//
// Verification is offline: the revocation of the signing and timestamping
// chains (OCSP, CRL) is not looked up, whatever the trust policy's
// revocation setting — as if every certificate named no responder (see
// docs/REFERENCES.md). Everything else a trust policy asks for is checked.
// Plugins are never run: a signature that needs a verification plugin
// fails as inconclusive.
//
// Specs (v1.1.0): signature
// https://github.com/notaryproject/specifications/blob/v1.1.0/specs/signature-specification.md,
// envelopes https://github.com/notaryproject/specifications/blob/v1.1.0/specs/signature-envelope-jws.md
// and https://github.com/notaryproject/specifications/blob/v1.1.0/specs/signature-envelope-cose.md,
// trust store and policy https://github.com/notaryproject/specifications/blob/v1.1.0/specs/trust-store-trust-policy.md.
package notation
