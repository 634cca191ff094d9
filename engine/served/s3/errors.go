package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// codeClass maps the S3 error codes we meet to error classes. The code
// decides first because one status carries several meanings (403 is both a
// bad signature and a denied policy).
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
var codeClass = map[string]error{
	"NoSuchKey":                  errdef.ErrNotFound,
	"NotFound":                   errdef.ErrNotFound, // HEAD has no body, the SDK names the 404
	"NoSuchBucket":               errdef.ErrNotFound,
	"NoSuchUpload":               errdef.ErrNotFound,
	"PreconditionFailed":         errdef.ErrAlreadyExists, // If-None-Match: * lost, or If-Match saw a newer ETag
	"ConditionalRequestConflict": errdef.ErrAlreadyExists, // a concurrent conditional write is in flight
	"AccessDenied":               errdef.ErrDenied,
	"AllAccessDisabled":          errdef.ErrDenied,
	"InvalidAccessKeyId":         errdef.ErrUnauthorized,
	"SignatureDoesNotMatch":      errdef.ErrUnauthorized,
	"ExpiredToken":               errdef.ErrUnauthorized,
	"InvalidToken":               errdef.ErrUnauthorized,
	"SlowDown":                   errdef.ErrTooManyRequests,
	"EntityTooLarge":             errdef.ErrTooLarge,
	"InvalidRange":               errdef.ErrInvalid,
	"NotImplemented":             errdef.ErrUnsupported,
	"ServiceUnavailable":         errdef.ErrUnavailable,
	"InternalError":              errdef.ErrUnavailable,
}

// statusClass is the fallback for codes codeClass does not know.
func statusClass(status int) error {
	switch {
	case status == http.StatusNotFound:
		return errdef.ErrNotFound
	case status == http.StatusPreconditionFailed, status == http.StatusConflict:
		return errdef.ErrAlreadyExists
	case status == http.StatusUnauthorized:
		return errdef.ErrUnauthorized
	case status == http.StatusForbidden:
		return errdef.ErrDenied
	case status == http.StatusRequestedRangeNotSatisfiable, status == http.StatusBadRequest:
		return errdef.ErrInvalid
	case status == http.StatusRequestEntityTooLarge:
		return errdef.ErrTooLarge
	case status == http.StatusTooManyRequests:
		return errdef.ErrTooManyRequests
	case status == http.StatusNotImplemented:
		return errdef.ErrUnsupported
	case status >= 500:
		return errdef.ErrUnavailable
	}
	return nil
}

// classify adds the errdef class to an SDK error, keeping the SDK error in
// the chain for errors.As. A request that got no response at all (refused,
// reset, DNS) is ErrUnavailable; cancellation and deadlines stay what they
// are, since callers test for them with errors.Is.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var class error
	var ae smithy.APIError
	if errors.As(err, &ae) {
		class = codeClass[ae.ErrorCode()]
	}
	var re *smithyhttp.ResponseError
	if class == nil && errors.As(err, &re) && re.Response != nil {
		class = statusClass(re.HTTPStatusCode())
	}
	if class == nil && re == nil && ae == nil {
		class = errdef.ErrUnavailable
	}
	if class == nil {
		return err
	}
	return fmt.Errorf("%w: %w", err, class)
}

// conflict reports whether err says a conditional write lost.
func conflict(err error) bool { return errors.Is(err, errdef.ErrAlreadyExists) }
