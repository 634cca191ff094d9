// Package errdef defines the error classes every stevedore subsystem wraps its
// failures in. Callers test with errors.Is; the API edges (service/, registryhttp/)
// map each class to a gRPC code or an OCI error code in one place.
package errdef

import "errors"

// Sentinel error classes. Subsystems wrap them with %w (usually inside a typed
// error that adds Op and Ref) so that context is kept and the class still matches.
var (
	// ErrNotFound: the manifest, blob, tag or repository does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the caller's input is malformed (reference, digest, range, JSON).
	ErrInvalid = errors.New("invalid argument")
	// ErrDigestMismatch: bytes did not hash to the digest they were addressed by.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrSizeMismatch: a stream ended before or after the size its descriptor declared.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrTooLarge: content exceeds a configured bound (e.g. the 4 MiB manifest limit).
	ErrTooLarge = errors.New("content too large")
	// ErrUnsupported: a well-formed request for something stevedore does not do
	// (Docker schema1 manifests, an unknown transport).
	ErrUnsupported = errors.New("unsupported")
	// ErrUnauthorized: credentials are missing or wrong.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDenied: credentials are valid but lack permission.
	ErrDenied = errors.New("denied")
	// ErrUnavailable: the remote could not be reached or kept failing after retries.
	ErrUnavailable = errors.New("unavailable")
	// ErrAlreadyExists: the object is already present and must not be replaced.
	ErrAlreadyExists = errors.New("already exists")
	// ErrTooManyRequests: the remote rate-limited us and retries ran out.
	ErrTooManyRequests = errors.New("too many requests")
	// ErrNoSpace: storage is full (a registry answered 507 Insufficient
	// Storage). A local write that fails for want of space carries
	// syscall.ENOSPC instead; the API edges treat both alike.
	ErrNoSpace = errors.New("insufficient storage")
)
