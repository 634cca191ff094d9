"""Python client for stevedore, the daemonless OCI image toolkit and service.

``Client`` wraps the stevedore.v1 gRPC API; the generated stubs are importable
as ``stevedore_oci.v1.image_service_pb2`` and
``stevedore_oci.v1.image_service_pb2_grpc`` for anything it does not cover.
Failures raise subclasses of ``StevedoreError``.

The package is ``stevedore_oci`` (distribution ``stevedore-oci``) so that it
installs next to PyPI's ``stevedore``, OpenStack's plugin loader.
"""

from stevedore_oci._client import Client
from stevedore_oci._verbs import PulledArtifact
from stevedore_oci._errors import (
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
