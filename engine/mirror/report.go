package mirror

import (
	"context"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"

	imgcopy "github.com/stevedore-dev/stevedore/engine/copy"
	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/transport/registry"
)

// Actions taken on an image.
const (
	// ActionCopied: the image was new or its tag had moved, and was copied.
	ActionCopied = "copied"
	// ActionSkipped: the destination tag already names the source's digest.
	ActionSkipped = "skipped"
	// ActionFailed: the image (or listing its repository's tags) failed.
	ActionFailed = "failed"
	// ActionWouldCopy: a dry run found the image new or moved.
	ActionWouldCopy = "would-copy"
)

// Reasons an image is (or would be) copied.
const (
	// ReasonNew: the destination has no such tag.
	ReasonNew = "new"
	// ReasonMoved: the destination tag names another digest.
	ReasonMoved = "moved"
)

// Report is the outcome of a run: one ImageReport per image, in config order.
type Report struct {
	DryRun bool `json:"dryRun"`
	// Started and Seconds time the whole run.
	Started time.Time     `json:"started"`
	Seconds float64       `json:"seconds"`
	Summary Summary       `json:"summary"`
	Images  []ImageReport `json:"images"`
}

// Summary totals a Report.
type Summary struct {
	Images       int   `json:"images"`
	Copied       int   `json:"copied"`
	Skipped      int   `json:"skipped"`
	Failed       int   `json:"failed"`
	WouldCopy    int   `json:"wouldCopy,omitempty"`
	Bytes        int64 `json:"bytes"`
	BlobsCopied  int   `json:"blobsCopied"`
	BlobsSkipped int   `json:"blobsSkipped"`
}

// Failed reports whether any image failed.
func (r *Report) Failed() bool { return r.Summary.Failed > 0 }

// ImageReport is what happened to one image. A failure to list a
// repository's tags is reported as one failed entry whose Source is the
// repository.
type ImageReport struct {
	// Source is the source reference (docker://HOST/REPO:TAG).
	Source string `json:"source"`
	// SourceDigest is the digest copied (for a platform filter, the chosen
	// platform's manifest); empty when resolving it failed.
	SourceDigest digest.Digest `json:"sourceDigest,omitempty"`
	// Destination is the destination reference.
	Destination string `json:"destination,omitempty"`
	// PreviousDigest is what the destination tag named before, when it moved.
	PreviousDigest digest.Digest `json:"previousDigest,omitempty"`
	// Action is ActionCopied, ActionSkipped, ActionFailed or ActionWouldCopy.
	Action string `json:"action"`
	// Reason is ReasonNew or ReasonMoved for a copy.
	Reason string `json:"reason,omitempty"`
	// Bytes counts blob and manifest bytes this image sent to the
	// destination; a blob another image of the run sent is not counted twice.
	Bytes int64 `json:"bytes"`
	// BlobsCopied counts blobs this image uploaded; BlobsSkipped those the
	// destination had (or another image of the run uploaded);
	// BlobsMounted those taken from another repository of the registry.
	BlobsCopied  int `json:"blobsCopied"`
	BlobsSkipped int `json:"blobsSkipped"`
	BlobsMounted int `json:"blobsMounted,omitempty"`
	// Referrers counts referrers copied or found present.
	Referrers int `json:"referrers,omitempty"`
	// Note explains a choice the run made (a platform filter it could not
	// honour exactly).
	Note string `json:"note,omitempty"`
	// Error is set when Action is ActionFailed.
	Error *ErrorInfo `json:"error,omitempty"`
	// Seconds is how long this image took.
	Seconds float64 `json:"seconds"`
}

// ErrorInfo is a failure in machine-readable form.
type ErrorInfo struct {
	// Code is the error's class: NOT_FOUND, INVALID, DIGEST_MISMATCH,
	// SIZE_MISMATCH, TOO_LARGE, UNSUPPORTED, UNAUTHORIZED, DENIED,
	// UNAVAILABLE, TOO_MANY_REQUESTS, ALREADY_EXISTS, CANCELED,
	// DEADLINE_EXCEEDED or UNKNOWN.
	Code string `json:"code"`
	// RegistryCode is the OCI error code a registry answered with, if any
	// (distribution-spec v1.1.1 §Error Codes:
	// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes).
	RegistryCode string `json:"registryCode,omitempty"`
	// Origin is "source" or "destination" when the side is known.
	Origin  string `json:"origin,omitempty"`
	Message string `json:"message"`
}

// errorCodes maps error classes to report codes, most specific first.
var errorCodes = []struct {
	err  error
	code string
}{
	{context.Canceled, "CANCELED"},
	{context.DeadlineExceeded, "DEADLINE_EXCEEDED"},
	{errdef.ErrDigestMismatch, "DIGEST_MISMATCH"},
	{errdef.ErrSizeMismatch, "SIZE_MISMATCH"},
	{errdef.ErrTooLarge, "TOO_LARGE"},
	{errdef.ErrNotFound, "NOT_FOUND"},
	{errdef.ErrInvalid, "INVALID"},
	{errdef.ErrUnsupported, "UNSUPPORTED"},
	{errdef.ErrUnauthorized, "UNAUTHORIZED"},
	{errdef.ErrDenied, "DENIED"},
	{errdef.ErrTooManyRequests, "TOO_MANY_REQUESTS"},
	{errdef.ErrUnavailable, "UNAVAILABLE"},
	{errdef.ErrAlreadyExists, "ALREADY_EXISTS"},
}

// errorInfo classifies err for the report.
func errorInfo(err error, origin string) *ErrorInfo {
	ei := &ErrorInfo{Code: "UNKNOWN", Origin: origin, Message: err.Error()}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			ei.Code = c.code
			break
		}
	}
	var re *registry.ResponseError
	if errors.As(err, &re) && len(re.Errors) > 0 {
		ei.RegistryCode = re.Errors[0].Code
	}
	var ce *imgcopy.Error
	if errors.As(err, &ce) {
		ei.Origin = ce.Origin
	}
	return ei
}

// add counts one image into s.
func (s *Summary) add(im ImageReport) {
	s.Images++
	switch im.Action {
	case ActionCopied:
		s.Copied++
	case ActionSkipped:
		s.Skipped++
	case ActionFailed:
		s.Failed++
	case ActionWouldCopy:
		s.WouldCopy++
	}
	s.Bytes += im.Bytes
	s.BlobsCopied += im.BlobsCopied
	s.BlobsSkipped += im.BlobsSkipped
}
