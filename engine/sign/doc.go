// Package sign signs and verifies images and attestations in the two formats
// cosign writes, natively (stdlib crypto, scrypt, nacl/secretbox; cosign is
// never run): the Sigstore bundle v0.3 stored as an OCI 1.1 referrer (cosign
// v3's default) and the legacy simple-signing manifest at the tag
// sha256-<hex>.sig (and .att for attestations). Keys are cosign's files: an
// encrypted ECDSA P-256 private key and a PKIX public key.
//
// Specs: Sigstore bundle https://github.com/sigstore/protobuf-specs/blob/v0.3.2/protos/sigstore_bundle.proto,
// DSSE v1.0 https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md,
// in-toto Statement v1 https://github.com/in-toto/attestation/blob/v1.0/spec/v1/statement.md,
// cosign's formats https://github.com/sigstore/cosign/blob/v3.1.3/specs/SIGNATURE_SPEC.md and
// https://github.com/sigstore/cosign/blob/v3.1.3/specs/BUNDLE_SPEC.md,
// OCI referrers https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#listing-referrers.
//
// The functions take transports, not references: the caller (CLI, service)
// opens the repository or layout. Signing needs a Repo (read and write);
// verifying needs only a transport.Source.
package sign
