"""Typed exceptions from gRPC status codes.

The server attaches the OCI error code (distribution-spec v1.1.1 "Error Codes":
https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes)
as a google.rpc.ErrorInfo detail in domain "stevedore.dev"; it becomes ``reason``.
"""

from __future__ import annotations

from typing import Optional

import grpc
from google.rpc import error_details_pb2, status_pb2

ERROR_DOMAIN = "stevedore.dev"


class StevedoreError(Exception):
    """A failed call. ``code`` is the gRPC status code, ``reason`` the OCI error
    code (``MANIFEST_UNKNOWN``, ``BLOB_UNKNOWN``, ``DIGEST_INVALID``...) or None."""

    def __init__(self, message: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
                 reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        name = self.code.name if self.code is not None else "UNKNOWN"
        if self.reason:
            return f"{name} ({self.reason}): {self.message}"
        return f"{name}: {self.message}"


class NotFoundError(StevedoreError):
    """The manifest, blob, tag or repository does not exist (NOT_FOUND)."""


class InvalidArgumentError(StevedoreError):
    """A malformed reference, digest or range (INVALID_ARGUMENT)."""


class AlreadyExistsError(StevedoreError):
    """The object exists and must not be replaced (ALREADY_EXISTS)."""


class PermissionDeniedError(StevedoreError):
    """Credentials lack permission (PERMISSION_DENIED)."""


class UnauthenticatedError(StevedoreError):
    """Credentials are missing or wrong (UNAUTHENTICATED)."""


class ResourceExhaustedError(StevedoreError):
    """Retry later (RESOURCE_EXHAUSTED): ``reason`` ``TOOMANYREQUESTS`` when a
    registry rate-limited the server or shed load, ``INSUFFICIENT_STORAGE`` when
    the server's or a registry's storage is full."""


class FailedPreconditionError(StevedoreError):
    """Content over a bound, such as a manifest over 4 MiB (FAILED_PRECONDITION)."""


class UnimplementedError(StevedoreError):
    """Something stevedore does not do (UNIMPLEMENTED)."""


class UnavailableError(StevedoreError):
    """The server or a registry behind it could not be reached (UNAVAILABLE)."""


class DataLossError(StevedoreError):
    """Content did not match its digest or size (DATA_LOSS)."""


class DeadlineExceededError(StevedoreError):
    """The call's deadline passed (DEADLINE_EXCEEDED)."""


class CancelledError(StevedoreError):
    """The call was cancelled (CANCELLED)."""


class InternalError(StevedoreError):
    """A server bug or an unclassified failure (INTERNAL, UNKNOWN, ...)."""


_BY_CODE = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
}


def error_class(code: grpc.StatusCode) -> type[StevedoreError]:
    """The exception class for a status code; InternalError for the rest."""
    return _BY_CODE.get(code, InternalError)


def _reason(err: grpc.RpcError) -> Optional[str]:
    """The ErrorInfo reason in the status details trailer, if any."""
    trailers = getattr(err, "trailing_metadata", None)
    if trailers is None:
        return None
    try:
        items = trailers() or ()
    except Exception:  # a call that never started has no trailers
        return None
    for key, value in items:
        if key != "grpc-status-details-bin":
            continue
        st = status_pb2.Status()
        try:
            st.ParseFromString(value)
        except Exception:
            return None
        for detail in st.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Is(info.DESCRIPTOR) and detail.Unpack(info) and info.domain == ERROR_DOMAIN:
                return info.reason
    return None


def from_rpc_error(err: grpc.RpcError) -> StevedoreError:
    """Converts a gRPC error into the matching StevedoreError subclass."""
    code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
    details = err.details() if hasattr(err, "details") else str(err)
    return error_class(code)(details or "", code, _reason(err))
