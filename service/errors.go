package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/oci"
	"github.com/stevedore-dev/stevedore/engine/sign"
	"github.com/stevedore-dev/stevedore/engine/transport"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error this API returns.
const ErrorDomain = "stevedore.dev"

// OCI error codes carried as the ErrorInfo reason: the one set in errdef
// (distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes,
// plus the registry-specific INSUFFICIENT_STORAGE).
const (
	codeBlobUnknown         = errdef.CodeBlobUnknown
	codeDigestInvalid       = errdef.CodeDigestInvalid
	codeManifestInvalid     = errdef.CodeManifestInvalid
	codeManifestUnknown     = errdef.CodeManifestUnknown
	codeNameInvalid         = errdef.CodeNameInvalid
	codeNameUnknown         = errdef.CodeNameUnknown
	codeSizeInvalid         = errdef.CodeSizeInvalid
	codeUnauthorized        = errdef.CodeUnauthorized
	codeDenied              = errdef.CodeDenied
	codeUnsupported         = errdef.CodeUnsupported
	codeTooManyRequests     = errdef.CodeTooManyRequests
	codeInsufficientStorage = errdef.CodeInsufficientStorage
)

// subject is what an RPC was about; the error classes alone do not say whether
// "not found" means a manifest, a blob or a repository, and the OCI code does.
type subject int

const (
	subjectManifest   subject = iota // Inspect, GetManifest
	subjectBlob                      // GetBlob
	subjectRepository                // ListTags
	subjectFile                      // ReadFile's path: no OCI code
)

// classes is the one table from engine error class to gRPC code and OCI
// code, checked in order (cancellation first: it is the truth even when a
// transport dressed it up as something else). An empty OCI code means none
// fits, and no ErrorInfo is attached.
//
// ErrTooLarge (a manifest over the 4 MiB bound) is FailedPrecondition, not
// ResourceExhausted: the gateway turns ResourceExhausted into HTTP 429, which
// tells clients to retry, and retrying cannot shrink the manifest.
// Digest and size mismatches are DataLoss: on this API (reads only) the bytes
// always come from a store or a remote, never from the caller.
var classes = []struct {
	err  error
	code codes.Code
	oci  func(subject) string
}{
	{context.Canceled, codes.Canceled, none},
	{context.DeadlineExceeded, codes.DeadlineExceeded, none},
	{errdef.ErrNotFound, codes.NotFound, unknownCode},
	{errdef.ErrInvalid, codes.InvalidArgument, invalidCode},
	{errdef.ErrDigestMismatch, codes.DataLoss, fixed(codeDigestInvalid)},
	{errdef.ErrSizeMismatch, codes.DataLoss, fixed(codeSizeInvalid)},
	{errdef.ErrTooLarge, codes.FailedPrecondition, fixed(codeSizeInvalid)},
	{errdef.ErrUnsupported, codes.Unimplemented, fixed(codeUnsupported)},
	{errdef.ErrUnauthorized, codes.Unauthenticated, fixed(codeUnauthorized)},
	{errdef.ErrDenied, codes.PermissionDenied, fixed(codeDenied)},
	{errdef.ErrUnavailable, codes.Unavailable, none},
	{errdef.ErrTooManyRequests, codes.ResourceExhausted, fixed(codeTooManyRequests)},
	// A full disk here (writing a layout or archive) or at a registry: the
	// retry the gateway's 429 invites succeeds once space is freed.
	{errdef.ErrNoSpace, codes.ResourceExhausted, fixed(codeInsufficientStorage)},
	{syscall.ENOSPC, codes.ResourceExhausted, fixed(codeInsufficientStorage)},
	{errdef.ErrAlreadyExists, codes.AlreadyExists, none},
	// A verdict reached where a verified image was needed (a policy check).
	{sign.ErrUnverified, codes.FailedPrecondition, none},
}

func none(subject) string { return "" }

func fixed(code string) func(subject) string { return func(subject) string { return code } }

func unknownCode(s subject) string {
	switch s {
	case subjectFile:
		return ""
	case subjectBlob:
		return codeBlobUnknown
	case subjectRepository:
		return codeNameUnknown
	default:
		return codeManifestUnknown
	}
}

// invalidCode covers what the engine finds invalid after the reference parsed
// (checkRef catches malformed references first): a manifest that does not
// decode, or a blob range outside the blob, for which OCI has no code.
func invalidCode(s subject) string {
	if s == subjectManifest {
		return codeManifestInvalid
	}
	return ""
}

// toStatus converts an engine error into a gRPC status error. An error that
// already is a status passes through unchanged; anything unclassified is
// Internal.
func toStatus(err error, s subject) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			return newStatus(c.code, c.oci(s), err.Error())
		}
	}
	return newStatus(codes.Internal, "", err.Error())
}

// newStatus builds a status carrying reason as a google.rpc.ErrorInfo detail
// when there is one.
func newStatus(code codes.Code, reason, msg string) error {
	st := status.New(code, msg)
	if reason == "" {
		return st.Err()
	}
	if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain}); err == nil {
		st = withInfo
	}
	return st.Err()
}

// parseRef parses a request's ref field: parseField for the field most
// requests name their image by.
func parseRef(ref string, needDigest bool) (transport.Ref, error) {
	return parseField("ref", ref, needDigest)
}

// parseField parses the reference in a request's field once, at the edge,
// rejecting a missing or malformed one before the engine runs: only here
// is it known that the caller's reference — not a manifest fetched on its
// behalf — was invalid: NAME_INVALID, or DIGEST_INVALID when the digest
// part is what is wrong. The message names the field. needDigest demands a
// REPO@DIGEST reference (blobs).
func parseField(field, ref string, needDigest bool) (transport.Ref, error) {
	if ref == "" {
		return transport.Ref{}, newStatus(codes.InvalidArgument, codeNameInvalid, field+" is required")
	}
	r, err := transport.ParseRef(ref)
	if err != nil {
		reason := codeNameInvalid
		if i := strings.LastIndexByte(ref, '@'); i >= 0 && oci.ValidateDigest(digest.Digest(ref[i+1:])) != nil {
			reason = codeDigestInvalid
		}
		return r, newStatus(codes.InvalidArgument, reason, field+": "+err.Error())
	}
	if needDigest && r.DigestName() == "" {
		return r, newStatus(codes.InvalidArgument, codeDigestInvalid,
			field+": invalid reference "+ref+": a blob is named by digest (REPO@sha256:...)")
	}
	return r, nil
}

// parseOptional is parseField for a field that may be left empty, which
// gives the zero Ref.
func parseOptional(field, ref string) (transport.Ref, error) {
	if ref == "" {
		return transport.Ref{}, nil
	}
	return parseField(field, ref, false)
}

// parseFields parses a repeated reference field.
func parseFields(field string, refs []string) ([]transport.Ref, error) {
	out := make([]transport.Ref, len(refs))
	for i, ref := range refs {
		var err error
		if out[i], err = parseField(fmt.Sprintf("%s[%d]", field, i), ref, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}
