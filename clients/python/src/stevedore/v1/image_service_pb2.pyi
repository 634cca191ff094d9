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
COPY_EVENT_KIND_UNSPECIFIED: CopyEventKind
COPY_EVENT_KIND_BLOB_STARTED: CopyEventKind
COPY_EVENT_KIND_BLOB_BYTES: CopyEventKind
COPY_EVENT_KIND_BLOB_SKIPPED: CopyEventKind
COPY_EVENT_KIND_BLOB_DONE: CopyEventKind
COPY_EVENT_KIND_IMAGE_SKIPPED: CopyEventKind
COPY_EVENT_KIND_IMAGE_DONE: CopyEventKind
COPY_EVENT_KIND_RESULT: CopyEventKind

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
    __slots__ = ("ref", "offset", "length")
    REF_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    ref: str
    offset: int
    length: int
    def __init__(self, ref: _Optional[str] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("source", "destination", "platform", "concurrency")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    source: str
    destination: str
    platform: str
    concurrency: int
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ..., platform: _Optional[str] = ..., concurrency: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("source", "destination", "digest", "media_type", "size", "blobs_copied", "blobs_skipped", "manifests_copied", "manifests_skipped", "bytes")
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
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ..., digest: _Optional[str] = ..., media_type: _Optional[str] = ..., size: _Optional[int] = ..., blobs_copied: _Optional[int] = ..., blobs_skipped: _Optional[int] = ..., manifests_copied: _Optional[int] = ..., manifests_skipped: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...
