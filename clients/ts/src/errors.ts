// Typed errors from gRPC status codes. The server attaches the OCI error code
// (distribution-spec v1.1.1 "Error Codes":
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes)
// as a google.rpc.ErrorInfo detail in domain "stevedore.dev"; it becomes `reason`.
import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** The google.rpc.ErrorInfo domain of every error the stevedore API returns. */
export const ERROR_DOMAIN = "stevedore.dev";

/**
 * A failed call. `code` is the gRPC status code, `reason` the OCI error code
 * (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `DIGEST_INVALID`, ...) when the server
 * sent one. `cause` is the ConnectError, if any.
 */
export class StevedoreError extends Error {
  readonly code: Code;
  readonly reason: string | undefined;

  constructor(message: string, code: Code, reason?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.reason = reason;
  }
}

/** The manifest, blob, tag or repository does not exist. */
export class NotFoundError extends StevedoreError {}
/** A malformed reference, digest or range. */
export class InvalidArgumentError extends StevedoreError {}
/** The object exists and must not be replaced. */
export class AlreadyExistsError extends StevedoreError {}
/** Credentials lack permission. */
export class PermissionDeniedError extends StevedoreError {}
/** Credentials are missing or wrong. */
export class UnauthenticatedError extends StevedoreError {}
/**
 * Retry later: `reason` is `TOOMANYREQUESTS` when a registry rate-limited the
 * server or shed load, `INSUFFICIENT_STORAGE` when the server's or a
 * registry's storage is full.
 */
export class ResourceExhaustedError extends StevedoreError {}
/** Content over a bound, such as a manifest over 4 MiB. */
export class FailedPreconditionError extends StevedoreError {}
/** Something stevedore does not do. */
export class UnimplementedError extends StevedoreError {}
/** The server, or a registry behind it, could not be reached. */
export class UnavailableError extends StevedoreError {}
/** Content did not match its digest or size. */
export class DataLossError extends StevedoreError {}
/** The call's deadline passed. */
export class DeadlineExceededError extends StevedoreError {}
/** The call was cancelled (an AbortSignal fired). */
export class CanceledError extends StevedoreError {}
/** A server bug or an unclassified failure. */
export class InternalError extends StevedoreError {}

const byCode = new Map<Code, typeof StevedoreError>([
  [Code.NotFound, NotFoundError],
  [Code.InvalidArgument, InvalidArgumentError],
  [Code.AlreadyExists, AlreadyExistsError],
  [Code.PermissionDenied, PermissionDeniedError],
  [Code.Unauthenticated, UnauthenticatedError],
  [Code.ResourceExhausted, ResourceExhaustedError],
  [Code.FailedPrecondition, FailedPreconditionError],
  [Code.Unimplemented, UnimplementedError],
  [Code.Unavailable, UnavailableError],
  [Code.DataLoss, DataLossError],
  [Code.DeadlineExceeded, DeadlineExceededError],
  [Code.Canceled, CanceledError],
]);

/** The error class for a status code; InternalError for the rest. */
export function errorClass(code: Code): typeof StevedoreError {
  return byCode.get(code) ?? InternalError;
}

/** Converts any error a call threw into the matching StevedoreError subclass. */
export function toStevedoreError(err: unknown): StevedoreError {
  if (err instanceof StevedoreError) {
    return err;
  }
  const ce = ConnectError.from(err);
  const Class = errorClass(ce.code);
  return new Class(ce.rawMessage, ce.code, reasonOf(ce), { cause: err });
}

/** The reason of the ErrorInfo detail in our domain, if the server sent one. */
function reasonOf(err: ConnectError): string | undefined {
  for (const d of err.details) {
    if ("type" in d && typeof d.type === "string" && d.value instanceof Uint8Array && d.type === "google.rpc.ErrorInfo") {
      const info = decodeErrorInfo(d.value);
      if (info.domain === ERROR_DOMAIN) {
        return info.reason;
      }
    }
  }
  return undefined;
}

// google.rpc.ErrorInfo is three fields; decoding them by hand spares the
// package a generated copy of google/rpc/error_details.proto.
// (reason = 1, domain = 2, metadata = 3: https://github.com/googleapis/googleapis/blob/master/google/rpc/error_details.proto)
function decodeErrorInfo(bytes: Uint8Array): { reason: string; domain: string } {
  const r = new BinaryReader(bytes);
  const info = { reason: "", domain: "" };
  try {
    while (r.pos < r.len) {
      const [field, wireType] = r.tag();
      if (field === 1 && wireType === WireType.LengthDelimited) {
        info.reason = r.string();
      } else if (field === 2 && wireType === WireType.LengthDelimited) {
        info.domain = r.string();
      } else {
        r.skip(wireType);
      }
    }
  } catch {
    // A malformed detail only costs the reason.
  }
  return info;
}
