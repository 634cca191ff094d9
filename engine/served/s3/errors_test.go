package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// apiError builds what the SDK returns for an error response: an operation
// error around an HTTP response error around the decoded API error.
func apiError(status int, code string) error {
	var inner error = &smithy.GenericAPIError{Code: code, Message: "test"}
	if code == "" {
		inner = errors.New("no body")
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner},
	}}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"NoSuchKey", apiError(404, "NoSuchKey"), errdef.ErrNotFound},
		{"HEAD 404", apiError(404, "NotFound"), errdef.ErrNotFound},
		{"NoSuchBucket", apiError(404, "NoSuchBucket"), errdef.ErrNotFound},
		{"bare 404", apiError(404, ""), errdef.ErrNotFound},
		{"PreconditionFailed", apiError(412, "PreconditionFailed"), errdef.ErrAlreadyExists},
		{"bare 412", apiError(412, ""), errdef.ErrAlreadyExists},
		{"ConditionalRequestConflict", apiError(409, "ConditionalRequestConflict"), errdef.ErrAlreadyExists},
		{"AccessDenied", apiError(403, "AccessDenied"), errdef.ErrDenied},
		{"bare 403", apiError(403, ""), errdef.ErrDenied},
		{"SignatureDoesNotMatch", apiError(403, "SignatureDoesNotMatch"), errdef.ErrUnauthorized},
		{"InvalidAccessKeyId", apiError(403, "InvalidAccessKeyId"), errdef.ErrUnauthorized},
		{"SlowDown", apiError(503, "SlowDown"), errdef.ErrTooManyRequests},
		{"InternalError", apiError(500, "InternalError"), errdef.ErrUnavailable},
		{"bare 502", apiError(502, ""), errdef.ErrUnavailable},
		{"EntityTooLarge", apiError(400, "EntityTooLarge"), errdef.ErrTooLarge},
		{"InvalidRange", apiError(416, "InvalidRange"), errdef.ErrInvalid},
		{"NotImplemented", apiError(501, "NotImplemented"), errdef.ErrUnsupported},
		{"connection refused", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, errdef.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			if !errors.Is(got, tc.want) {
				t.Fatalf("classify(%v) = %v, want it to match %v", tc.err, got, tc.want)
			}
			var oe *smithy.OperationError
			if !errors.As(got, &oe) {
				t.Fatalf("classify dropped the SDK error from the chain: %v", got)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		err := &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: fmt.Errorf("send: %w", context.Canceled)}
		if got := classify(err); !errors.Is(got, context.Canceled) || errors.Is(got, errdef.ErrUnavailable) {
			t.Fatalf("classify = %v, want context.Canceled alone", got)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if classify(nil) != nil {
			t.Fatal("classify(nil) != nil")
		}
	})
}
