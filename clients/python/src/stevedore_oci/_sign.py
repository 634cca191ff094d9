"""SignService calls: keys on the server, cosign-compatible signatures.

A mixin of ``Client``. Passwords are sensitive: use TLS credentials for any
server not on loopback.
"""

from __future__ import annotations

from typing import Iterable, Optional

from stevedore_oci.v1 import sign_service_pb2 as spb


class _Sign:
    sign_stub: "object"

    def generate_key_pair(self, key_id: str = "", password: str = "") -> spb.GenerateKeyPairResponse:
        """Creates an ECDSA P-256 key pair in the server's key directory (the
        private key never leaves it); returns its id and public key PEM."""
        return self._unary(self.sign_stub.GenerateKeyPair,  # type: ignore[attr-defined]
                           spb.GenerateKeyPairRequest(key_id=key_id, password=password))

    def sign(self, ref: str, key_id: str, password: str, **fields: object) -> spb.SignResponse:
        """Signs the digest ``ref`` resolves to; ``fields`` are further
        SignRequest fields (``format``, ``annotations``, ``recursive``)."""
        req = spb.SignRequest(ref=ref, key_id=key_id, password=password, **fields)  # type: ignore[arg-type]
        return self._unary(self.sign_stub.Sign, req)  # type: ignore[attr-defined]

    def verify(self, ref: str, public_keys: Iterable[str] = (), key_ids: Iterable[str] = (),
               certificate_identities: Iterable[spb.CertificateIdentity] = (),
               certificate_trust: Optional[spb.CertificateTrust] = None,
               notation_trust: Optional[spb.NotationTrust] = None,
               **fields: object) -> spb.VerifyResponse:
        """Checks ``ref``'s signatures against the trusted keys (PEM text or
        server key ids), or, for keyless and certificate signatures, against
        ``certificate_identities`` (cosign's ``--certificate-identity`` and
        ``--certificate-oidc-issuer``) and ``certificate_trust`` (a trusted
        root or CA chain; default Sigstore's public-good root), or, for
        Notary Project signatures, against ``notation_trust`` (notation's
        trust policy and trust store). A failed check is ``verified ==
        False`` with a finding per signature saying why (``check`` names
        it); errors mean it could not run."""
        req = spb.VerifyRequest(ref=ref, public_keys=public_keys, key_ids=key_ids,  # type: ignore[arg-type]
                                certificate_identities=certificate_identities,
                                certificate_trust=certificate_trust, notation_trust=notation_trust, **fields)
        return self._unary(self.sign_stub.Verify, req)  # type: ignore[attr-defined]

    def attest(self, ref: str, key_id: str, password: str, predicate_type: str, predicate: str,
               **fields: object) -> spb.AttestResponse:
        """Signs an in-toto statement carrying ``predicate`` (JSON text)."""
        req = spb.AttestRequest(ref=ref, key_id=key_id, password=password, predicate_type=predicate_type,
                                predicate=predicate, **fields)  # type: ignore[arg-type]
        return self._unary(self.sign_stub.Attest, req)  # type: ignore[attr-defined]

    def verify_attestation(self, ref: str, predicate_type: Optional[str] = None, public_keys: Iterable[str] = (),
                           key_ids: Iterable[str] = (),
                           certificate_identities: Iterable[spb.CertificateIdentity] = (),
                           certificate_trust: Optional[spb.CertificateTrust] = None,
                           **fields: object) -> spb.VerifyAttestationResponse:
        """``verify`` for attestations of ``predicate_type``."""
        req = spb.VerifyAttestationRequest(ref=ref, predicate_type=predicate_type or "", public_keys=public_keys,
                                           key_ids=key_ids, certificate_identities=certificate_identities,
                                           certificate_trust=certificate_trust, **fields)  # type: ignore[arg-type]
        return self._unary(self.sign_stub.VerifyAttestation, req)  # type: ignore[attr-defined]

    def tree(self, ref: str) -> spb.TreeResponse:
        """What is attached to ``ref``, by kind; nothing is verified."""
        return self._unary(self.sign_stub.Tree, spb.TreeRequest(ref=ref))  # type: ignore[attr-defined]
