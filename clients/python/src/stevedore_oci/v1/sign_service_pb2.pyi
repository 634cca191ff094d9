from google.api import annotations_pb2 as _annotations_pb2
from stevedore_oci.v1 import image_service_pb2 as _image_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignatureFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNATURE_FORMAT_UNSPECIFIED: _ClassVar[SignatureFormat]
    SIGNATURE_FORMAT_BUNDLE: _ClassVar[SignatureFormat]
    SIGNATURE_FORMAT_LEGACY: _ClassVar[SignatureFormat]
    SIGNATURE_FORMAT_NOTATION: _ClassVar[SignatureFormat]
SIGNATURE_FORMAT_UNSPECIFIED: SignatureFormat
SIGNATURE_FORMAT_BUNDLE: SignatureFormat
SIGNATURE_FORMAT_LEGACY: SignatureFormat
SIGNATURE_FORMAT_NOTATION: SignatureFormat

class GenerateKeyPairRequest(_message.Message):
    __slots__ = ("key_id", "password")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    password: str
    def __init__(self, key_id: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class GenerateKeyPairResponse(_message.Message):
    __slots__ = ("key_id", "public_key_pem", "key_hint")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_PEM_FIELD_NUMBER: _ClassVar[int]
    KEY_HINT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key_pem: str
    key_hint: str
    def __init__(self, key_id: _Optional[str] = ..., public_key_pem: _Optional[str] = ..., key_hint: _Optional[str] = ...) -> None: ...

class SignRequest(_message.Message):
    __slots__ = ("ref", "key_id", "password", "format", "annotations", "recursive")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    ref: str
    key_id: str
    password: str
    format: SignatureFormat
    annotations: _containers.ScalarMap[str, str]
    recursive: bool
    def __init__(self, ref: _Optional[str] = ..., key_id: _Optional[str] = ..., password: _Optional[str] = ..., format: _Optional[_Union[SignatureFormat, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., recursive: _Optional[bool] = ...) -> None: ...

class SignResponse(_message.Message):
    __slots__ = ("signatures",)
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    signatures: _containers.RepeatedCompositeFieldContainer[Signature]
    def __init__(self, signatures: _Optional[_Iterable[_Union[Signature, _Mapping]]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("subject", "manifest", "format", "tag")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    subject: _image_service_pb2.Descriptor
    manifest: _image_service_pb2.Descriptor
    format: SignatureFormat
    tag: str
    def __init__(self, subject: _Optional[_Union[_image_service_pb2.Descriptor, _Mapping]] = ..., manifest: _Optional[_Union[_image_service_pb2.Descriptor, _Mapping]] = ..., format: _Optional[_Union[SignatureFormat, str]] = ..., tag: _Optional[str] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("ref", "public_keys", "key_ids", "format", "annotations", "certificate_identities", "certificate_trust", "notation_trust")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEYS_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TRUST_FIELD_NUMBER: _ClassVar[int]
    NOTATION_TRUST_FIELD_NUMBER: _ClassVar[int]
    ref: str
    public_keys: _containers.RepeatedScalarFieldContainer[str]
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    format: SignatureFormat
    annotations: _containers.ScalarMap[str, str]
    certificate_identities: _containers.RepeatedCompositeFieldContainer[CertificateIdentity]
    certificate_trust: CertificateTrust
    notation_trust: NotationTrust
    def __init__(self, ref: _Optional[str] = ..., public_keys: _Optional[_Iterable[str]] = ..., key_ids: _Optional[_Iterable[str]] = ..., format: _Optional[_Union[SignatureFormat, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., certificate_identities: _Optional[_Iterable[_Union[CertificateIdentity, _Mapping]]] = ..., certificate_trust: _Optional[_Union[CertificateTrust, _Mapping]] = ..., notation_trust: _Optional[_Union[NotationTrust, _Mapping]] = ...) -> None: ...

class NotationTrust(_message.Message):
    __slots__ = ("trust_policy", "trust_store", "scope")
    TRUST_POLICY_FIELD_NUMBER: _ClassVar[int]
    TRUST_STORE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    trust_policy: str
    trust_store: _containers.RepeatedCompositeFieldContainer[NotationTrustStore]
    scope: str
    def __init__(self, trust_policy: _Optional[str] = ..., trust_store: _Optional[_Iterable[_Union[NotationTrustStore, _Mapping]]] = ..., scope: _Optional[str] = ...) -> None: ...

class NotationTrustStore(_message.Message):
    __slots__ = ("type", "name", "certificates")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    type: str
    name: str
    certificates: str
    def __init__(self, type: _Optional[str] = ..., name: _Optional[str] = ..., certificates: _Optional[str] = ...) -> None: ...

class CertificateIdentity(_message.Message):
    __slots__ = ("subject", "subject_regexp", "issuer", "issuer_regexp", "github_workflow_trigger", "github_workflow_sha", "github_workflow_name", "github_workflow_repository", "github_workflow_ref")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_REGEXP_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    ISSUER_REGEXP_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_TRIGGER_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_SHA_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_REF_FIELD_NUMBER: _ClassVar[int]
    subject: str
    subject_regexp: str
    issuer: str
    issuer_regexp: str
    github_workflow_trigger: str
    github_workflow_sha: str
    github_workflow_name: str
    github_workflow_repository: str
    github_workflow_ref: str
    def __init__(self, subject: _Optional[str] = ..., subject_regexp: _Optional[str] = ..., issuer: _Optional[str] = ..., issuer_regexp: _Optional[str] = ..., github_workflow_trigger: _Optional[str] = ..., github_workflow_sha: _Optional[str] = ..., github_workflow_name: _Optional[str] = ..., github_workflow_repository: _Optional[str] = ..., github_workflow_ref: _Optional[str] = ...) -> None: ...

class CertificateTrust(_message.Message):
    __slots__ = ("trusted_root", "certificate_chain", "insecure_ignore_tlog", "insecure_ignore_sct")
    TRUSTED_ROOT_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_CHAIN_FIELD_NUMBER: _ClassVar[int]
    INSECURE_IGNORE_TLOG_FIELD_NUMBER: _ClassVar[int]
    INSECURE_IGNORE_SCT_FIELD_NUMBER: _ClassVar[int]
    trusted_root: str
    certificate_chain: str
    insecure_ignore_tlog: bool
    insecure_ignore_sct: bool
    def __init__(self, trusted_root: _Optional[str] = ..., certificate_chain: _Optional[str] = ..., insecure_ignore_tlog: _Optional[bool] = ..., insecure_ignore_sct: _Optional[bool] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("verified", "subject", "findings")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    subject: _image_service_pb2.Descriptor
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    def __init__(self, verified: _Optional[bool] = ..., subject: _Optional[_Union[_image_service_pb2.Descriptor, _Mapping]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("format", "manifest", "tag", "layer", "predicate_type", "annotations", "key_hint", "key", "verified", "reason", "certificate", "check", "trust_policy")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    PREDICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    KEY_HINT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    CHECK_FIELD_NUMBER: _ClassVar[int]
    TRUST_POLICY_FIELD_NUMBER: _ClassVar[int]
    format: SignatureFormat
    manifest: str
    tag: str
    layer: str
    predicate_type: str
    annotations: _containers.ScalarMap[str, str]
    key_hint: str
    key: str
    verified: bool
    reason: str
    certificate: SignerCertificate
    check: str
    trust_policy: str
    def __init__(self, format: _Optional[_Union[SignatureFormat, str]] = ..., manifest: _Optional[str] = ..., tag: _Optional[str] = ..., layer: _Optional[str] = ..., predicate_type: _Optional[str] = ..., annotations: _Optional[_Mapping[str, str]] = ..., key_hint: _Optional[str] = ..., key: _Optional[str] = ..., verified: _Optional[bool] = ..., reason: _Optional[str] = ..., certificate: _Optional[_Union[SignerCertificate, _Mapping]] = ..., check: _Optional[str] = ..., trust_policy: _Optional[str] = ...) -> None: ...

class SignerCertificate(_message.Message):
    __slots__ = ("subject", "issuer", "ca", "github_workflow_trigger", "github_workflow_sha", "github_workflow_name", "github_workflow_repository", "github_workflow_ref")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    CA_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_TRIGGER_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_SHA_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    GITHUB_WORKFLOW_REF_FIELD_NUMBER: _ClassVar[int]
    subject: str
    issuer: str
    ca: str
    github_workflow_trigger: str
    github_workflow_sha: str
    github_workflow_name: str
    github_workflow_repository: str
    github_workflow_ref: str
    def __init__(self, subject: _Optional[str] = ..., issuer: _Optional[str] = ..., ca: _Optional[str] = ..., github_workflow_trigger: _Optional[str] = ..., github_workflow_sha: _Optional[str] = ..., github_workflow_name: _Optional[str] = ..., github_workflow_repository: _Optional[str] = ..., github_workflow_ref: _Optional[str] = ...) -> None: ...

class AttestRequest(_message.Message):
    __slots__ = ("ref", "key_id", "password", "predicate_type", "predicate", "format")
    REF_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PREDICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PREDICATE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ref: str
    key_id: str
    password: str
    predicate_type: str
    predicate: str
    format: SignatureFormat
    def __init__(self, ref: _Optional[str] = ..., key_id: _Optional[str] = ..., password: _Optional[str] = ..., predicate_type: _Optional[str] = ..., predicate: _Optional[str] = ..., format: _Optional[_Union[SignatureFormat, str]] = ...) -> None: ...

class AttestResponse(_message.Message):
    __slots__ = ("attestation",)
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    attestation: Signature
    def __init__(self, attestation: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...

class VerifyAttestationRequest(_message.Message):
    __slots__ = ("ref", "public_keys", "key_ids", "format", "annotations", "predicate_type", "certificate_identities", "certificate_trust")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEYS_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    PREDICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_IDENTITIES_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_TRUST_FIELD_NUMBER: _ClassVar[int]
    ref: str
    public_keys: _containers.RepeatedScalarFieldContainer[str]
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    format: SignatureFormat
    annotations: _containers.ScalarMap[str, str]
    predicate_type: str
    certificate_identities: _containers.RepeatedCompositeFieldContainer[CertificateIdentity]
    certificate_trust: CertificateTrust
    def __init__(self, ref: _Optional[str] = ..., public_keys: _Optional[_Iterable[str]] = ..., key_ids: _Optional[_Iterable[str]] = ..., format: _Optional[_Union[SignatureFormat, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., predicate_type: _Optional[str] = ..., certificate_identities: _Optional[_Iterable[_Union[CertificateIdentity, _Mapping]]] = ..., certificate_trust: _Optional[_Union[CertificateTrust, _Mapping]] = ...) -> None: ...

class VerifyAttestationResponse(_message.Message):
    __slots__ = ("verified", "subject", "findings")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    subject: _image_service_pb2.Descriptor
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    def __init__(self, verified: _Optional[bool] = ..., subject: _Optional[_Union[_image_service_pb2.Descriptor, _Mapping]] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ...) -> None: ...

class TreeRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: str
    def __init__(self, ref: _Optional[str] = ...) -> None: ...

class TreeResponse(_message.Message):
    __slots__ = ("subject", "signatures", "attestations", "sboms", "other")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    ATTESTATIONS_FIELD_NUMBER: _ClassVar[int]
    SBOMS_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    subject: _image_service_pb2.Descriptor
    signatures: _containers.RepeatedCompositeFieldContainer[TreeEntry]
    attestations: _containers.RepeatedCompositeFieldContainer[TreeEntry]
    sboms: _containers.RepeatedCompositeFieldContainer[TreeEntry]
    other: _containers.RepeatedCompositeFieldContainer[TreeEntry]
    def __init__(self, subject: _Optional[_Union[_image_service_pb2.Descriptor, _Mapping]] = ..., signatures: _Optional[_Iterable[_Union[TreeEntry, _Mapping]]] = ..., attestations: _Optional[_Iterable[_Union[TreeEntry, _Mapping]]] = ..., sboms: _Optional[_Iterable[_Union[TreeEntry, _Mapping]]] = ..., other: _Optional[_Iterable[_Union[TreeEntry, _Mapping]]] = ...) -> None: ...

class TreeEntry(_message.Message):
    __slots__ = ("manifest", "format", "tag", "artifact_type", "predicate_type", "layers")
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PREDICATE_TYPE_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    manifest: _image_service_pb2.Descriptor
    format: SignatureFormat
    tag: str
    artifact_type: str
    predicate_type: str
    layers: _containers.RepeatedCompositeFieldContainer[_image_service_pb2.Descriptor]
    def __init__(self, manifest: _Optional[_Union[_image_service_pb2.Descriptor, _Mapping]] = ..., format: _Optional[_Union[SignatureFormat, str]] = ..., tag: _Optional[str] = ..., artifact_type: _Optional[str] = ..., predicate_type: _Optional[str] = ..., layers: _Optional[_Iterable[_Union[_image_service_pb2.Descriptor, _Mapping]]] = ...) -> None: ...
