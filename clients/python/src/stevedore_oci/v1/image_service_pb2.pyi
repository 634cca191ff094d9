import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CopyEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COPY_EVENT_KIND_UNSPECIFIED: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_BLOB_STARTED: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_BLOB_BYTES: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_BLOB_SKIPPED: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_BLOB_DONE: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_IMAGE_SKIPPED: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_IMAGE_DONE: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_RESULT: _ClassVar[CopyEventKind]
    COPY_EVENT_KIND_BLOB_MOUNTED: _ClassVar[CopyEventKind]
COPY_EVENT_KIND_UNSPECIFIED: CopyEventKind
COPY_EVENT_KIND_BLOB_STARTED: CopyEventKind
COPY_EVENT_KIND_BLOB_BYTES: CopyEventKind
COPY_EVENT_KIND_BLOB_SKIPPED: CopyEventKind
COPY_EVENT_KIND_BLOB_DONE: CopyEventKind
COPY_EVENT_KIND_IMAGE_SKIPPED: CopyEventKind
COPY_EVENT_KIND_IMAGE_DONE: CopyEventKind
COPY_EVENT_KIND_RESULT: CopyEventKind
COPY_EVENT_KIND_BLOB_MOUNTED: CopyEventKind

class ListRepositoriesRequest(_message.Message):
    __slots__ = ("prefix", "page_size", "page_token")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    page_size: int
    page_token: str
    def __init__(self, prefix: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class RepositoryInfo(_message.Message):
    __slots__ = ("name", "tag_count", "stored_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TAG_COUNT_FIELD_NUMBER: _ClassVar[int]
    STORED_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    tag_count: int
    stored_bytes: int
    def __init__(self, name: _Optional[str] = ..., tag_count: _Optional[int] = ..., stored_bytes: _Optional[int] = ...) -> None: ...

class ListRepositoriesResponse(_message.Message):
    __slots__ = ("repositories", "next_page_token")
    REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    repositories: _containers.RepeatedCompositeFieldContainer[RepositoryInfo]
    next_page_token: str
    def __init__(self, repositories: _Optional[_Iterable[_Union[RepositoryInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteRepositoryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteRepositoryResponse(_message.Message):
    __slots__ = ("manifests_deleted", "tags_deleted")
    MANIFESTS_DELETED_FIELD_NUMBER: _ClassVar[int]
    TAGS_DELETED_FIELD_NUMBER: _ClassVar[int]
    manifests_deleted: int
    tags_deleted: int
    def __init__(self, manifests_deleted: _Optional[int] = ..., tags_deleted: _Optional[int] = ...) -> None: ...

class StorageUsageRequest(_message.Message):
    __slots__ = ("prefix",)
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    def __init__(self, prefix: _Optional[str] = ...) -> None: ...

class RepositoryUsage(_message.Message):
    __slots__ = ("name", "blobs", "bytes", "shared_bytes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BLOBS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SHARED_BYTES_FIELD_NUMBER: _ClassVar[int]
    name: str
    blobs: int
    bytes: int
    shared_bytes: int
    def __init__(self, name: _Optional[str] = ..., blobs: _Optional[int] = ..., bytes: _Optional[int] = ..., shared_bytes: _Optional[int] = ...) -> None: ...

class StorageUsageResponse(_message.Message):
    __slots__ = ("total_bytes", "shared_bytes", "repositories", "quotas")
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHARED_BYTES_FIELD_NUMBER: _ClassVar[int]
    REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    QUOTAS_FIELD_NUMBER: _ClassVar[int]
    total_bytes: int
    shared_bytes: int
    repositories: _containers.RepeatedCompositeFieldContainer[RepositoryUsage]
    quotas: _containers.RepeatedCompositeFieldContainer[QuotaUsage]
    def __init__(self, total_bytes: _Optional[int] = ..., shared_bytes: _Optional[int] = ..., repositories: _Optional[_Iterable[_Union[RepositoryUsage, _Mapping]]] = ..., quotas: _Optional[_Iterable[_Union[QuotaUsage, _Mapping]]] = ...) -> None: ...

class QuotaUsage(_message.Message):
    __slots__ = ("name", "repositories", "max_bytes", "used_bytes", "max_repositories", "repository_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    repositories: str
    max_bytes: int
    used_bytes: int
    max_repositories: int
    repository_count: int
    def __init__(self, name: _Optional[str] = ..., repositories: _Optional[str] = ..., max_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., max_repositories: _Optional[int] = ..., repository_count: _Optional[int] = ...) -> None: ...

class RunGCRequest(_message.Message):
    __slots__ = ("dry_run", "grace_seconds")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    grace_seconds: int
    def __init__(self, dry_run: _Optional[bool] = ..., grace_seconds: _Optional[int] = ...) -> None: ...

class GCSkip(_message.Message):
    __slots__ = ("repository", "error")
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    repository: str
    error: str
    def __init__(self, repository: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class RunGCResponse(_message.Message):
    __slots__ = ("dry_run", "repositories", "reachable", "removed", "removed_bytes", "freed_bytes", "young", "skipped")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    FREED_BYTES_FIELD_NUMBER: _ClassVar[int]
    YOUNG_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    repositories: int
    reachable: int
    removed: int
    removed_bytes: int
    freed_bytes: int
    young: int
    skipped: _containers.RepeatedCompositeFieldContainer[GCSkip]
    def __init__(self, dry_run: _Optional[bool] = ..., repositories: _Optional[int] = ..., reachable: _Optional[int] = ..., removed: _Optional[int] = ..., removed_bytes: _Optional[int] = ..., freed_bytes: _Optional[int] = ..., young: _Optional[int] = ..., skipped: _Optional[_Iterable[_Union[GCSkip, _Mapping]]] = ...) -> None: ...

class InspectRequest(_message.Message):
    __slots__ = ("ref", "platform")
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platform: str
    def __init__(self, ref: _Optional[str] = ..., platform: _Optional[str] = ...) -> None: ...

class InspectResponse(_message.Message):
    __slots__ = ("ref", "digest", "media_type", "platforms", "manifest_digest", "artifact_type", "annotations", "config", "layers")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    digest: str
    media_type: str
    platforms: _containers.RepeatedCompositeFieldContainer[Platform]
    manifest_digest: str
    artifact_type: str
    annotations: _containers.ScalarMap[str, str]
    config: ImageConfig
    layers: _containers.RepeatedCompositeFieldContainer[Descriptor]
    def __init__(self, ref: _Optional[str] = ..., digest: _Optional[str] = ..., media_type: _Optional[str] = ..., platforms: _Optional[_Iterable[_Union[Platform, _Mapping]]] = ..., manifest_digest: _Optional[str] = ..., artifact_type: _Optional[str] = ..., annotations: _Optional[_Mapping[str, str]] = ..., config: _Optional[_Union[ImageConfig, _Mapping]] = ..., layers: _Optional[_Iterable[_Union[Descriptor, _Mapping]]] = ...) -> None: ...

class Platform(_message.Message):
    __slots__ = ("os", "architecture", "variant", "os_version", "os_features")
    OS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    OS_VERSION_FIELD_NUMBER: _ClassVar[int]
    OS_FEATURES_FIELD_NUMBER: _ClassVar[int]
    os: str
    architecture: str
    variant: str
    os_version: str
    os_features: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, os: _Optional[str] = ..., architecture: _Optional[str] = ..., variant: _Optional[str] = ..., os_version: _Optional[str] = ..., os_features: _Optional[_Iterable[str]] = ...) -> None: ...

class ImageConfig(_message.Message):
    __slots__ = ("created", "author", "os", "architecture", "variant", "user", "env", "entrypoint", "cmd", "working_dir", "labels", "exposed_ports")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATED_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    CMD_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    created: _timestamp_pb2.Timestamp
    author: str
    os: str
    architecture: str
    variant: str
    user: str
    env: _containers.RepeatedScalarFieldContainer[str]
    entrypoint: _containers.RepeatedScalarFieldContainer[str]
    cmd: _containers.RepeatedScalarFieldContainer[str]
    working_dir: str
    labels: _containers.ScalarMap[str, str]
    exposed_ports: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., os: _Optional[str] = ..., architecture: _Optional[str] = ..., variant: _Optional[str] = ..., user: _Optional[str] = ..., env: _Optional[_Iterable[str]] = ..., entrypoint: _Optional[_Iterable[str]] = ..., cmd: _Optional[_Iterable[str]] = ..., working_dir: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., exposed_ports: _Optional[_Iterable[str]] = ...) -> None: ...

class Descriptor(_message.Message):
    __slots__ = ("media_type", "digest", "size", "annotations", "artifact_type", "platform")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    media_type: str
    digest: str
    size: int
    annotations: _containers.ScalarMap[str, str]
    artifact_type: str
    platform: Platform
    def __init__(self, media_type: _Optional[str] = ..., digest: _Optional[str] = ..., size: _Optional[int] = ..., annotations: _Optional[_Mapping[str, str]] = ..., artifact_type: _Optional[str] = ..., platform: _Optional[_Union[Platform, _Mapping]] = ...) -> None: ...

class GetManifestRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: str
    def __init__(self, ref: _Optional[str] = ...) -> None: ...

class GetManifestResponse(_message.Message):
    __slots__ = ("digest", "media_type", "raw")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    digest: str
    media_type: str
    raw: bytes
    def __init__(self, digest: _Optional[str] = ..., media_type: _Optional[str] = ..., raw: _Optional[bytes] = ...) -> None: ...

class ListTagsRequest(_message.Message):
    __slots__ = ("repository",)
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    repository: str
    def __init__(self, repository: _Optional[str] = ...) -> None: ...

class ListTagsResponse(_message.Message):
    __slots__ = ("tags",)
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tags: _Optional[_Iterable[str]] = ...) -> None: ...

class GetBlobRequest(_message.Message):
    __slots__ = ("ref", "offset", "length", "verify")
    REF_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    VERIFY_FIELD_NUMBER: _ClassVar[int]
    ref: str
    offset: int
    length: int
    verify: bool
    def __init__(self, ref: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ..., verify: _Optional[bool] = ...) -> None: ...

class GetBlobResponse(_message.Message):
    __slots__ = ("offset", "data", "size")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    size: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class CopyRequest(_message.Message):
    __slots__ = ("source", "destination", "platform", "concurrency", "referrers", "platforms", "sparse", "format", "compress", "chunk_size", "verify_policy", "policy_keys", "sign_with_key_id", "sign_password", "sign_format")
    class PolicyKeysEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    REFERRERS_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    SPARSE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    VERIFY_POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICY_KEYS_FIELD_NUMBER: _ClassVar[int]
    SIGN_WITH_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGN_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SIGN_FORMAT_FIELD_NUMBER: _ClassVar[int]
    source: str
    destination: str
    platform: str
    concurrency: int
    referrers: bool
    platforms: _containers.RepeatedScalarFieldContainer[str]
    sparse: bool
    format: str
    compress: str
    chunk_size: int
    verify_policy: str
    policy_keys: _containers.ScalarMap[str, str]
    sign_with_key_id: str
    sign_password: str
    sign_format: str
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ..., platform: _Optional[str] = ..., concurrency: _Optional[int] = ..., referrers: _Optional[bool] = ..., platforms: _Optional[_Iterable[str]] = ..., sparse: _Optional[bool] = ..., format: _Optional[str] = ..., compress: _Optional[str] = ..., chunk_size: _Optional[int] = ..., verify_policy: _Optional[str] = ..., policy_keys: _Optional[_Mapping[str, str]] = ..., sign_with_key_id: _Optional[str] = ..., sign_password: _Optional[str] = ..., sign_format: _Optional[str] = ...) -> None: ...

class CopyResponse(_message.Message):
    __slots__ = ("kind", "descriptor", "bytes", "result")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    kind: CopyEventKind
    descriptor: Descriptor
    bytes: int
    result: CopyResult
    def __init__(self, kind: _Optional[_Union[CopyEventKind, str]] = ..., descriptor: _Optional[_Union[Descriptor, _Mapping]] = ..., bytes: _Optional[int] = ..., result: _Optional[_Union[CopyResult, _Mapping]] = ...) -> None: ...

class CopyResult(_message.Message):
    __slots__ = ("source", "destination", "digest", "media_type", "size", "blobs_copied", "blobs_skipped", "manifests_copied", "manifests_skipped", "bytes", "source_digest", "blobs_mounted", "referrers", "signatures")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    BLOBS_COPIED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    MANIFESTS_COPIED_FIELD_NUMBER: _ClassVar[int]
    MANIFESTS_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    BLOBS_MOUNTED_FIELD_NUMBER: _ClassVar[int]
    REFERRERS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    source: str
    destination: str
    digest: str
    media_type: str
    size: int
    blobs_copied: int
    blobs_skipped: int
    manifests_copied: int
    manifests_skipped: int
    bytes: int
    source_digest: str
    blobs_mounted: int
    referrers: int
    signatures: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ..., digest: _Optional[str] = ..., media_type: _Optional[str] = ..., size: _Optional[int] = ..., blobs_copied: _Optional[int] = ..., blobs_skipped: _Optional[int] = ..., manifests_copied: _Optional[int] = ..., manifests_skipped: _Optional[int] = ..., bytes: _Optional[int] = ..., source_digest: _Optional[str] = ..., blobs_mounted: _Optional[int] = ..., referrers: _Optional[int] = ..., signatures: _Optional[_Iterable[str]] = ...) -> None: ...

class MirrorRequest(_message.Message):
    __slots__ = ("config", "dry_run", "concurrency", "verify_policy", "policy_keys")
    class PolicyKeysEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    VERIFY_POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICY_KEYS_FIELD_NUMBER: _ClassVar[int]
    config: str
    dry_run: bool
    concurrency: int
    verify_policy: str
    policy_keys: _containers.ScalarMap[str, str]
    def __init__(self, config: _Optional[str] = ..., dry_run: _Optional[bool] = ..., concurrency: _Optional[int] = ..., verify_policy: _Optional[str] = ..., policy_keys: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MirrorResponse(_message.Message):
    __slots__ = ("image", "summary")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    image: MirrorImage
    summary: MirrorSummary
    def __init__(self, image: _Optional[_Union[MirrorImage, _Mapping]] = ..., summary: _Optional[_Union[MirrorSummary, _Mapping]] = ...) -> None: ...

class MirrorImage(_message.Message):
    __slots__ = ("source", "source_digest", "destination", "previous_digest", "action", "reason", "bytes", "blobs_copied", "blobs_skipped", "blobs_mounted", "referrers", "note", "error_code", "registry_code", "error_origin", "error_message", "seconds")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOBS_COPIED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_MOUNTED_FIELD_NUMBER: _ClassVar[int]
    REFERRERS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    source: str
    source_digest: str
    destination: str
    previous_digest: str
    action: str
    reason: str
    bytes: int
    blobs_copied: int
    blobs_skipped: int
    blobs_mounted: int
    referrers: int
    note: str
    error_code: str
    registry_code: str
    error_origin: str
    error_message: str
    seconds: float
    def __init__(self, source: _Optional[str] = ..., source_digest: _Optional[str] = ..., destination: _Optional[str] = ..., previous_digest: _Optional[str] = ..., action: _Optional[str] = ..., reason: _Optional[str] = ..., bytes: _Optional[int] = ..., blobs_copied: _Optional[int] = ..., blobs_skipped: _Optional[int] = ..., blobs_mounted: _Optional[int] = ..., referrers: _Optional[int] = ..., note: _Optional[str] = ..., error_code: _Optional[str] = ..., registry_code: _Optional[str] = ..., error_origin: _Optional[str] = ..., error_message: _Optional[str] = ..., seconds: _Optional[float] = ...) -> None: ...

class MirrorSummary(_message.Message):
    __slots__ = ("dry_run", "images", "copied", "skipped", "failed", "would_copy", "bytes", "blobs_copied", "blobs_skipped", "seconds")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    COPIED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    WOULD_COPY_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOBS_COPIED_FIELD_NUMBER: _ClassVar[int]
    BLOBS_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    images: int
    copied: int
    skipped: int
    failed: int
    would_copy: int
    bytes: int
    blobs_copied: int
    blobs_skipped: int
    seconds: float
    def __init__(self, dry_run: _Optional[bool] = ..., images: _Optional[int] = ..., copied: _Optional[int] = ..., skipped: _Optional[int] = ..., failed: _Optional[int] = ..., would_copy: _Optional[int] = ..., bytes: _Optional[int] = ..., blobs_copied: _Optional[int] = ..., blobs_skipped: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class ListSyncJobsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSyncJobsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[SyncJob]
    def __init__(self, jobs: _Optional[_Iterable[_Union[SyncJob, _Mapping]]] = ...) -> None: ...

class SyncJob(_message.Message):
    __slots__ = ("name", "schedule", "running", "running_since", "next_run", "runs", "failures", "last_run", "destinations")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    RUNNING_SINCE_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    schedule: str
    running: bool
    running_since: _timestamp_pb2.Timestamp
    next_run: _timestamp_pb2.Timestamp
    runs: int
    failures: int
    last_run: SyncRun
    destinations: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., schedule: _Optional[str] = ..., running: _Optional[bool] = ..., running_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_run: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., runs: _Optional[int] = ..., failures: _Optional[int] = ..., last_run: _Optional[_Union[SyncRun, _Mapping]] = ..., destinations: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncRun(_message.Message):
    __slots__ = ("trigger", "started", "finished", "summary", "error")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    trigger: str
    started: _timestamp_pb2.Timestamp
    finished: _timestamp_pb2.Timestamp
    summary: MirrorSummary
    error: str
    def __init__(self, trigger: _Optional[str] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., summary: _Optional[_Union[MirrorSummary, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class GetSyncStatusRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetSyncStatusResponse(_message.Message):
    __slots__ = ("job", "images")
    JOB_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    job: SyncJob
    images: _containers.RepeatedCompositeFieldContainer[MirrorImage]
    def __init__(self, job: _Optional[_Union[SyncJob, _Mapping]] = ..., images: _Optional[_Iterable[_Union[MirrorImage, _Mapping]]] = ...) -> None: ...

class RunSyncNowRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RunSyncNowResponse(_message.Message):
    __slots__ = ("image", "summary")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    image: MirrorImage
    summary: MirrorSummary
    def __init__(self, image: _Optional[_Union[MirrorImage, _Mapping]] = ..., summary: _Optional[_Union[MirrorSummary, _Mapping]] = ...) -> None: ...

class RunRetentionRequest(_message.Message):
    __slots__ = ("dry_run",)
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    def __init__(self, dry_run: _Optional[bool] = ...) -> None: ...

class RetentionAction(_message.Message):
    __slots__ = ("repository", "tag", "digest", "reason")
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    repository: str
    tag: str
    digest: str
    reason: str
    def __init__(self, repository: _Optional[str] = ..., tag: _Optional[str] = ..., digest: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RetentionSkip(_message.Message):
    __slots__ = ("repository", "error")
    REPOSITORY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    repository: str
    error: str
    def __init__(self, repository: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class RunRetentionResponse(_message.Message):
    __slots__ = ("dry_run", "removed", "kept", "repositories", "tags_kept", "skipped", "gc")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    KEPT_FIELD_NUMBER: _ClassVar[int]
    REPOSITORIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_KEPT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    GC_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    removed: _containers.RepeatedCompositeFieldContainer[RetentionAction]
    kept: _containers.RepeatedCompositeFieldContainer[RetentionAction]
    repositories: int
    tags_kept: int
    skipped: _containers.RepeatedCompositeFieldContainer[RetentionSkip]
    gc: RunGCResponse
    def __init__(self, dry_run: _Optional[bool] = ..., removed: _Optional[_Iterable[_Union[RetentionAction, _Mapping]]] = ..., kept: _Optional[_Iterable[_Union[RetentionAction, _Mapping]]] = ..., repositories: _Optional[int] = ..., tags_kept: _Optional[int] = ..., skipped: _Optional[_Iterable[_Union[RetentionSkip, _Mapping]]] = ..., gc: _Optional[_Union[RunGCResponse, _Mapping]] = ...) -> None: ...

class ListFilesRequest(_message.Message):
    __slots__ = ("ref", "platform", "layer")
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platform: str
    layer: int
    def __init__(self, ref: _Optional[str] = ..., platform: _Optional[str] = ..., layer: _Optional[int] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files",)
    FILES_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    def __init__(self, files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("path", "type", "mode", "size", "uid", "gid", "linkname", "mtime", "layer", "layer_digest")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    GID_FIELD_NUMBER: _ClassVar[int]
    LINKNAME_FIELD_NUMBER: _ClassVar[int]
    MTIME_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    LAYER_DIGEST_FIELD_NUMBER: _ClassVar[int]
    path: str
    type: str
    mode: int
    size: int
    uid: int
    gid: int
    linkname: str
    mtime: _timestamp_pb2.Timestamp
    layer: int
    layer_digest: str
    def __init__(self, path: _Optional[str] = ..., type: _Optional[str] = ..., mode: _Optional[int] = ..., size: _Optional[int] = ..., uid: _Optional[int] = ..., gid: _Optional[int] = ..., linkname: _Optional[str] = ..., mtime: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., layer: _Optional[int] = ..., layer_digest: _Optional[str] = ...) -> None: ...

class ReadFileRequest(_message.Message):
    __slots__ = ("ref", "platform", "path")
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platform: str
    path: str
    def __init__(self, ref: _Optional[str] = ..., platform: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class ReadFileResponse(_message.Message):
    __slots__ = ("offset", "data")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class ExportRequest(_message.Message):
    __slots__ = ("ref", "platform")
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platform: str
    def __init__(self, ref: _Optional[str] = ..., platform: _Optional[str] = ...) -> None: ...

class ExportResponse(_message.Message):
    __slots__ = ("offset", "data")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class ValidateRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: str
    def __init__(self, ref: _Optional[str] = ...) -> None: ...

class ValidateResponse(_message.Message):
    __slots__ = ("digest", "media_type", "checked", "problems", "valid")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    digest: str
    media_type: str
    checked: int
    problems: _containers.RepeatedCompositeFieldContainer[ValidationProblem]
    valid: bool
    def __init__(self, digest: _Optional[str] = ..., media_type: _Optional[str] = ..., checked: _Optional[int] = ..., problems: _Optional[_Iterable[_Union[ValidationProblem, _Mapping]]] = ..., valid: _Optional[bool] = ...) -> None: ...

class ValidationProblem(_message.Message):
    __slots__ = ("digest", "media_type", "message")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    digest: str
    media_type: str
    message: str
    def __init__(self, digest: _Optional[str] = ..., media_type: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class DiffRequest(_message.Message):
    __slots__ = ("ref", "other_ref", "platform")
    REF_FIELD_NUMBER: _ClassVar[int]
    OTHER_REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    other_ref: str
    platform: str
    def __init__(self, ref: _Optional[str] = ..., other_ref: _Optional[str] = ..., platform: _Optional[str] = ...) -> None: ...

class DiffResponse(_message.Message):
    __slots__ = ("a", "b", "config", "shared_layers", "added", "removed", "changed")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SHARED_LAYERS_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    a: str
    b: str
    config: _containers.RepeatedCompositeFieldContainer[ConfigFieldDiff]
    shared_layers: int
    added: _containers.RepeatedCompositeFieldContainer[FileInfo]
    removed: _containers.RepeatedCompositeFieldContainer[FileInfo]
    changed: _containers.RepeatedCompositeFieldContainer[FileChange]
    def __init__(self, a: _Optional[str] = ..., b: _Optional[str] = ..., config: _Optional[_Iterable[_Union[ConfigFieldDiff, _Mapping]]] = ..., shared_layers: _Optional[int] = ..., added: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., changed: _Optional[_Iterable[_Union[FileChange, _Mapping]]] = ...) -> None: ...

class ConfigFieldDiff(_message.Message):
    __slots__ = ("field", "a", "b")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    field: str
    a: str
    b: str
    def __init__(self, field: _Optional[str] = ..., a: _Optional[str] = ..., b: _Optional[str] = ...) -> None: ...

class FileChange(_message.Message):
    __slots__ = ("path", "what", "a", "b")
    PATH_FIELD_NUMBER: _ClassVar[int]
    WHAT_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    path: str
    what: _containers.RepeatedScalarFieldContainer[str]
    a: FileInfo
    b: FileInfo
    def __init__(self, path: _Optional[str] = ..., what: _Optional[_Iterable[str]] = ..., a: _Optional[_Union[FileInfo, _Mapping]] = ..., b: _Optional[_Union[FileInfo, _Mapping]] = ...) -> None: ...

class SizeRequest(_message.Message):
    __slots__ = ("ref", "platform")
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platform: str
    def __init__(self, ref: _Optional[str] = ..., platform: _Optional[str] = ...) -> None: ...

class SizeResponse(_message.Message):
    __slots__ = ("digest", "layers", "compressed", "uncompressed", "wasted")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    COMPRESSED_FIELD_NUMBER: _ClassVar[int]
    UNCOMPRESSED_FIELD_NUMBER: _ClassVar[int]
    WASTED_FIELD_NUMBER: _ClassVar[int]
    digest: str
    layers: _containers.RepeatedCompositeFieldContainer[LayerSize]
    compressed: int
    uncompressed: int
    wasted: int
    def __init__(self, digest: _Optional[str] = ..., layers: _Optional[_Iterable[_Union[LayerSize, _Mapping]]] = ..., compressed: _Optional[int] = ..., uncompressed: _Optional[int] = ..., wasted: _Optional[int] = ...) -> None: ...

class LayerSize(_message.Message):
    __slots__ = ("layer", "digest", "media_type", "compressed", "uncompressed", "files", "wasted")
    LAYER_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPRESSED_FIELD_NUMBER: _ClassVar[int]
    UNCOMPRESSED_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    WASTED_FIELD_NUMBER: _ClassVar[int]
    layer: int
    digest: str
    media_type: str
    compressed: int
    uncompressed: int
    files: int
    wasted: int
    def __init__(self, layer: _Optional[int] = ..., digest: _Optional[str] = ..., media_type: _Optional[str] = ..., compressed: _Optional[int] = ..., uncompressed: _Optional[int] = ..., files: _Optional[int] = ..., wasted: _Optional[int] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("ref", "platform")
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platform: str
    def __init__(self, ref: _Optional[str] = ..., platform: _Optional[str] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("created", "created_by", "author", "comment", "empty_layer", "layer", "digest", "diff_id", "size")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    EMPTY_LAYER_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    created: _timestamp_pb2.Timestamp
    created_by: str
    author: str
    comment: str
    empty_layer: bool
    layer: int
    digest: str
    diff_id: str
    size: int
    def __init__(self, created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., author: _Optional[str] = ..., comment: _Optional[str] = ..., empty_layer: _Optional[bool] = ..., layer: _Optional[int] = ..., digest: _Optional[str] = ..., diff_id: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class WriteResult(_message.Message):
    __slots__ = ("digest", "media_type", "size", "tag", "source_digest", "destination")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    digest: str
    media_type: str
    size: int
    tag: str
    source_digest: str
    destination: str
    def __init__(self, digest: _Optional[str] = ..., media_type: _Optional[str] = ..., size: _Optional[int] = ..., tag: _Optional[str] = ..., source_digest: _Optional[str] = ..., destination: _Optional[str] = ...) -> None: ...

class StringList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class MutateRequest(_message.Message):
    __slots__ = ("ref", "destination", "platforms", "env", "unset_env", "entrypoint", "cmd", "user", "working_dir", "labels", "remove_labels", "exposed_ports", "remove_exposed_ports", "volumes", "remove_volumes", "set_platform", "created", "annotations", "remove_annotations", "index_annotations", "remove_index_annotations", "remove_layers", "flatten", "recompress", "convert")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class IndexAnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    UNSET_ENV_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    CMD_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_LABELS_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    REMOVE_VOLUMES_FIELD_NUMBER: _ClassVar[int]
    SET_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    INDEX_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_INDEX_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_LAYERS_FIELD_NUMBER: _ClassVar[int]
    FLATTEN_FIELD_NUMBER: _ClassVar[int]
    RECOMPRESS_FIELD_NUMBER: _ClassVar[int]
    CONVERT_FIELD_NUMBER: _ClassVar[int]
    ref: str
    destination: str
    platforms: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.RepeatedScalarFieldContainer[str]
    unset_env: _containers.RepeatedScalarFieldContainer[str]
    entrypoint: StringList
    cmd: StringList
    user: str
    working_dir: str
    labels: _containers.ScalarMap[str, str]
    remove_labels: _containers.RepeatedScalarFieldContainer[str]
    exposed_ports: _containers.RepeatedScalarFieldContainer[str]
    remove_exposed_ports: _containers.RepeatedScalarFieldContainer[str]
    volumes: _containers.RepeatedScalarFieldContainer[str]
    remove_volumes: _containers.RepeatedScalarFieldContainer[str]
    set_platform: str
    created: _timestamp_pb2.Timestamp
    annotations: _containers.ScalarMap[str, str]
    remove_annotations: _containers.RepeatedScalarFieldContainer[str]
    index_annotations: _containers.ScalarMap[str, str]
    remove_index_annotations: _containers.RepeatedScalarFieldContainer[str]
    remove_layers: _containers.RepeatedScalarFieldContainer[int]
    flatten: bool
    recompress: str
    convert: str
    def __init__(self, ref: _Optional[str] = ..., destination: _Optional[str] = ..., platforms: _Optional[_Iterable[str]] = ..., env: _Optional[_Iterable[str]] = ..., unset_env: _Optional[_Iterable[str]] = ..., entrypoint: _Optional[_Union[StringList, _Mapping]] = ..., cmd: _Optional[_Union[StringList, _Mapping]] = ..., user: _Optional[str] = ..., working_dir: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., remove_labels: _Optional[_Iterable[str]] = ..., exposed_ports: _Optional[_Iterable[str]] = ..., remove_exposed_ports: _Optional[_Iterable[str]] = ..., volumes: _Optional[_Iterable[str]] = ..., remove_volumes: _Optional[_Iterable[str]] = ..., set_platform: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., remove_annotations: _Optional[_Iterable[str]] = ..., index_annotations: _Optional[_Mapping[str, str]] = ..., remove_index_annotations: _Optional[_Iterable[str]] = ..., remove_layers: _Optional[_Iterable[int]] = ..., flatten: _Optional[bool] = ..., recompress: _Optional[str] = ..., convert: _Optional[str] = ...) -> None: ...

class MutateResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ...) -> None: ...

class RebaseRequest(_message.Message):
    __slots__ = ("ref", "destination", "old_base", "new_base", "platforms")
    REF_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    OLD_BASE_FIELD_NUMBER: _ClassVar[int]
    NEW_BASE_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    destination: str
    old_base: str
    new_base: str
    platforms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[str] = ..., destination: _Optional[str] = ..., old_base: _Optional[str] = ..., new_base: _Optional[str] = ..., platforms: _Optional[_Iterable[str]] = ...) -> None: ...

class RebaseResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ...) -> None: ...

class CreateIndexRequest(_message.Message):
    __slots__ = ("destination", "members", "docker", "annotations")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    DOCKER_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    destination: str
    members: _containers.RepeatedScalarFieldContainer[str]
    docker: bool
    annotations: _containers.ScalarMap[str, str]
    def __init__(self, destination: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ..., docker: _Optional[bool] = ..., annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateIndexResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ...) -> None: ...

class AddToIndexRequest(_message.Message):
    __slots__ = ("ref", "members", "destination", "annotations")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    members: _containers.RepeatedScalarFieldContainer[str]
    destination: str
    annotations: _containers.ScalarMap[str, str]
    def __init__(self, ref: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ..., destination: _Optional[str] = ..., annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AddToIndexResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ...) -> None: ...

class RemoveFromIndexRequest(_message.Message):
    __slots__ = ("ref", "platforms", "destination", "annotations")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    platforms: _containers.RepeatedScalarFieldContainer[str]
    destination: str
    annotations: _containers.ScalarMap[str, str]
    def __init__(self, ref: _Optional[str] = ..., platforms: _Optional[_Iterable[str]] = ..., destination: _Optional[str] = ..., annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RemoveFromIndexResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ...) -> None: ...

class TagRequest(_message.Message):
    __slots__ = ("ref", "tags")
    REF_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ref: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ref: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class TagResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ...) -> None: ...

class UntagRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: str
    def __init__(self, ref: _Optional[str] = ...) -> None: ...

class UntagResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AppendRequest(_message.Message):
    __slots__ = ("ref", "destination", "platform", "format", "compression", "reproducible", "source_date_epoch", "env", "entrypoint", "cmd", "working_dir", "user", "labels", "exposed_ports", "annotations", "created_by", "data")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_FIELD_NUMBER: _ClassVar[int]
    REPRODUCIBLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_DATE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    ENTRYPOINT_FIELD_NUMBER: _ClassVar[int]
    CMD_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIR_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_PORTS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ref: str
    destination: str
    platform: str
    format: str
    compression: str
    reproducible: bool
    source_date_epoch: _timestamp_pb2.Timestamp
    env: _containers.RepeatedScalarFieldContainer[str]
    entrypoint: _containers.RepeatedScalarFieldContainer[str]
    cmd: _containers.RepeatedScalarFieldContainer[str]
    working_dir: str
    user: str
    labels: _containers.ScalarMap[str, str]
    exposed_ports: _containers.RepeatedScalarFieldContainer[str]
    annotations: _containers.ScalarMap[str, str]
    created_by: str
    data: bytes
    def __init__(self, ref: _Optional[str] = ..., destination: _Optional[str] = ..., platform: _Optional[str] = ..., format: _Optional[str] = ..., compression: _Optional[str] = ..., reproducible: _Optional[bool] = ..., source_date_epoch: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., env: _Optional[_Iterable[str]] = ..., entrypoint: _Optional[_Iterable[str]] = ..., cmd: _Optional[_Iterable[str]] = ..., working_dir: _Optional[str] = ..., user: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., exposed_ports: _Optional[_Iterable[str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., created_by: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class AppendResponse(_message.Message):
    __slots__ = ("result", "layers", "manifests")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    LAYERS_FIELD_NUMBER: _ClassVar[int]
    MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    result: WriteResult
    layers: _containers.RepeatedCompositeFieldContainer[AppendedLayer]
    manifests: int
    def __init__(self, result: _Optional[_Union[WriteResult, _Mapping]] = ..., layers: _Optional[_Iterable[_Union[AppendedLayer, _Mapping]]] = ..., manifests: _Optional[int] = ...) -> None: ...

class AppendedLayer(_message.Message):
    __slots__ = ("digest", "diff_id", "media_type", "size")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    DIFF_ID_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    digest: str
    diff_id: str
    media_type: str
    size: int
    def __init__(self, digest: _Optional[str] = ..., diff_id: _Optional[str] = ..., media_type: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ArtifactFileHeader(_message.Message):
    __slots__ = ("name", "media_type", "mode")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    media_type: str
    mode: int
    def __init__(self, name: _Optional[str] = ..., media_type: _Optional[str] = ..., mode: _Optional[int] = ...) -> None: ...

class PushArtifactRequest(_message.Message):
    __slots__ = ("ref", "artifact_type", "annotations", "file", "data")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ref: str
    artifact_type: str
    annotations: _containers.ScalarMap[str, str]
    file: ArtifactFileHeader
    data: bytes
    def __init__(self, ref: _Optional[str] = ..., artifact_type: _Optional[str] = ..., annotations: _Optional[_Mapping[str, str]] = ..., file: _Optional[_Union[ArtifactFileHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class PushArtifactResponse(_message.Message):
    __slots__ = ("manifest",)
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    manifest: Descriptor
    def __init__(self, manifest: _Optional[_Union[Descriptor, _Mapping]] = ...) -> None: ...

class AttachArtifactRequest(_message.Message):
    __slots__ = ("ref", "artifact_type", "annotations", "file", "data")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REF_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ref: str
    artifact_type: str
    annotations: _containers.ScalarMap[str, str]
    file: ArtifactFileHeader
    data: bytes
    def __init__(self, ref: _Optional[str] = ..., artifact_type: _Optional[str] = ..., annotations: _Optional[_Mapping[str, str]] = ..., file: _Optional[_Union[ArtifactFileHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class AttachArtifactResponse(_message.Message):
    __slots__ = ("manifest",)
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    manifest: Descriptor
    def __init__(self, manifest: _Optional[_Union[Descriptor, _Mapping]] = ...) -> None: ...

class PullArtifactRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: str
    def __init__(self, ref: _Optional[str] = ...) -> None: ...

class PullArtifactResponse(_message.Message):
    __slots__ = ("manifest", "skipped", "file", "offset", "data")
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    manifest: Descriptor
    skipped: _containers.RepeatedCompositeFieldContainer[Descriptor]
    file: PulledFile
    offset: int
    data: bytes
    def __init__(self, manifest: _Optional[_Union[Descriptor, _Mapping]] = ..., skipped: _Optional[_Iterable[_Union[Descriptor, _Mapping]]] = ..., file: _Optional[_Union[PulledFile, _Mapping]] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class PulledFile(_message.Message):
    __slots__ = ("name", "descriptor", "mode", "unpack")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    UNPACK_FIELD_NUMBER: _ClassVar[int]
    name: str
    descriptor: Descriptor
    mode: int
    unpack: bool
    def __init__(self, name: _Optional[str] = ..., descriptor: _Optional[_Union[Descriptor, _Mapping]] = ..., mode: _Optional[int] = ..., unpack: _Optional[bool] = ...) -> None: ...

class DiscoverReferrersRequest(_message.Message):
    __slots__ = ("ref", "artifact_type", "max_depth")
    REF_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    ref: str
    artifact_type: str
    max_depth: int
    def __init__(self, ref: _Optional[str] = ..., artifact_type: _Optional[str] = ..., max_depth: _Optional[int] = ...) -> None: ...

class DiscoverReferrersResponse(_message.Message):
    __slots__ = ("root",)
    ROOT_FIELD_NUMBER: _ClassVar[int]
    root: ReferrerNode
    def __init__(self, root: _Optional[_Union[ReferrerNode, _Mapping]] = ...) -> None: ...

class ReferrerNode(_message.Message):
    __slots__ = ("descriptor", "referrers")
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    REFERRERS_FIELD_NUMBER: _ClassVar[int]
    descriptor: Descriptor
    referrers: _containers.RepeatedCompositeFieldContainer[ReferrerNode]
    def __init__(self, descriptor: _Optional[_Union[Descriptor, _Mapping]] = ..., referrers: _Optional[_Iterable[_Union[ReferrerNode, _Mapping]]] = ...) -> None: ...
