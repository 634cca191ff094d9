"""Python client for stevedore, the daemonless OCI image toolkit and service.

``Client`` wraps the stevedore.v1 gRPC API; the generated stubs are importable
as ``stevedore.v1.image_service_pb2`` and ``stevedore.v1.image_service_pb2_grpc``
for anything it does not cover. Failures raise subclasses of ``StevedoreError``.
"""

from stevedore._client import Client
from stevedore._verbs import PulledArtifact
from stevedore._errors import (
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    StevedoreError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)

__all__ = [
    "AlreadyExistsError",
    "CancelledError",
    "Client",
    "DataLossError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PulledArtifact",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "StevedoreError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
]
