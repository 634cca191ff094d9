package stevedoreclient

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Error is a failed RPC. errors.Is matches it against the engine error class
// its status maps to (errdef.ErrNotFound, ...), and status.Code / status.FromError
// still see the original gRPC status.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Reason is the OCI error code the server attached as a google.rpc.ErrorInfo
	// (e.g. MANIFEST_UNKNOWN, BLOB_UNKNOWN, DIGEST_INVALID); empty when none.
	Reason string
	// Message is the server's error text.
	Message string

	class error
	st    *status.Status
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("stevedore: %s (%s): %s", e.Code, e.Reason, e.Message)
	}
	return fmt.Sprintf("stevedore: %s: %s", e.Code, e.Message)
}

// Unwrap returns the engine error class, or nil for codes that have none
// (Internal, Unknown, Aborted, ...).
func (e *Error) Unwrap() error { return e.class }

// GRPCStatus returns the status the server sent, for status.FromError.
func (e *Error) GRPCStatus() *status.Status { return e.st }

// errorDomain is service.ErrorDomain, repeated so that clients need not link
// the server.
const errorDomain = "stevedore.dev"

// FromStatus converts an error returned by a stevedore.v1 RPC into an *Error
// that matches the engine's sentinel errors: the inverse of the server's one
// table from error class to gRPC code (service/errors.go). A nil error stays
// nil and an error that carries no gRPC status is returned unchanged.
//
// Codes the server uses for two classes are told apart by the OCI code:
// DataLoss is ErrSizeMismatch for SIZE_INVALID and ErrDigestMismatch otherwise;
// FailedPrecondition with SIZE_INVALID is ErrTooLarge; ResourceExhausted is
// ErrNoSpace for INSUFFICIENT_STORAGE (a full disk at the server or a
// registry) and ErrTooManyRequests otherwise. Canceled (the call was
// cancelled, or the server saw its client go) is context.Canceled.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{Code: st.Code(), Message: st.Message(), st: st}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			e.Reason = info.GetReason()
			break
		}
	}
	e.class = classOf(e.Code, e.Reason)
	return e
}

// classOf is the inverse table. Cancellation and deadlines map back to the
// context errors so callers can tell their own cancellation from a failure.
func classOf(code codes.Code, reason string) error {
	switch code {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case codes.NotFound:
		return errdef.ErrNotFound
	case codes.InvalidArgument:
		return errdef.ErrInvalid
	case codes.DataLoss:
		if reason == errdef.CodeSizeInvalid {
			return errdef.ErrSizeMismatch
		}
		return errdef.ErrDigestMismatch
	case codes.FailedPrecondition:
		if reason == errdef.CodeSizeInvalid {
			return errdef.ErrTooLarge
		}
		return nil
	case codes.Unimplemented:
		return errdef.ErrUnsupported
	case codes.Unauthenticated:
		return errdef.ErrUnauthorized
	case codes.PermissionDenied:
		return errdef.ErrDenied
	case codes.Unavailable:
		return errdef.ErrUnavailable
	case codes.ResourceExhausted:
		if reason == errdef.CodeInsufficientStorage {
			return errdef.ErrNoSpace
		}
		return errdef.ErrTooManyRequests
	case codes.AlreadyExists:
		return errdef.ErrAlreadyExists
	default:
		return nil
	}
}
