package registry

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// ResponseError is a registry's answer that was not the one the operation
// needed: the request, the HTTP status and the OCI error envelope, if any.
// Its class (errdef) follows from the status and error codes; see Unwrap.
type ResponseError struct {
	Method     string
	URL        string
	StatusCode int
	// Errors is the body's {"errors": [...]} envelope; empty for HEAD or a
	// registry that sent none.
	Errors []ErrorInfo
}

// ErrorInfo is one entry of the distribution-spec error envelope
// (v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes).
type ErrorInfo struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// Error formats the failure as "GET URL: 404 MANIFEST_UNKNOWN: manifest unknown".
func (e *ResponseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.URL, e.StatusCode)
	if len(e.Errors) == 0 {
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" " + t)
		}
		return b.String()
	}
	for i, ei := range e.Errors {
		if i > 0 {
			b.WriteString(";")
		}
		if ei.Code != "" {
			b.WriteString(" " + ei.Code)
		}
		if ei.Message != "" {
			if ei.Code != "" {
				b.WriteString(":")
			}
			b.WriteString(" " + ei.Message)
		}
	}
	return b.String()
}

// Unwrap returns the errdef class. The status decides where it is specific
// (401, 403, 404, 413, 429, 507, 5xx); otherwise the first error code does,
// and a remaining client error is ErrInvalid.
func (e *ResponseError) Unwrap() error {
	switch s := e.StatusCode; {
	case s == http.StatusUnauthorized:
		return errdef.ErrUnauthorized
	case s == http.StatusForbidden:
		return errdef.ErrDenied
	case s == http.StatusNotFound:
		return errdef.ErrNotFound
	case s == http.StatusRequestEntityTooLarge:
		return errdef.ErrTooLarge
	case s == http.StatusTooManyRequests:
		return errdef.ErrTooManyRequests
	case s == http.StatusInsufficientStorage:
		return errdef.ErrNoSpace
	case s >= 500:
		// A 503 that says TOOMANYREQUESTS is a registry shedding load: busy,
		// not broken.
		if s == http.StatusServiceUnavailable && e.firstCode() == errdef.CodeTooManyRequests {
			return errdef.ErrTooManyRequests
		}
		return errdef.ErrUnavailable
	}
	switch e.firstCode() {
	case errdef.CodeUnsupported:
		return errdef.ErrUnsupported
	case errdef.CodeDenied:
		return errdef.ErrDenied
	case errdef.CodeUnauthorized:
		return errdef.ErrUnauthorized
	case errdef.CodeTooManyRequests:
		return errdef.ErrTooManyRequests
	case errdef.CodeNameUnknown, errdef.CodeManifestUnknown, errdef.CodeBlobUnknown, errdef.CodeBlobUploadUnknown:
		return errdef.ErrNotFound
	}
	switch s := e.StatusCode; {
	case s == http.StatusMethodNotAllowed:
		// Registries answer 405 for operations they disable (deletes, pushes to a mirror).
		return errdef.ErrUnsupported
	case s >= 400:
		return errdef.ErrInvalid
	}
	// A success or redirect status the operation did not expect: the registry
	// speaks a dialect we do not handle.
	return errdef.ErrUnsupported
}

// firstCode is the code of the envelope's first error, "" when it has none.
func (e *ResponseError) firstCode() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// maxErrorBody bounds how much of an error response is read for its envelope.
const maxErrorBody = 64 << 10

// newResponseError reads the error envelope from resp (bounded) and closes its body.
//
// distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
func newResponseError(resp *http.Response) *ResponseError {
	defer resp.Body.Close()
	e := &ResponseError{Method: resp.Request.Method, URL: redactURL(resp.Request.URL.String()), StatusCode: resp.StatusCode}
	if resp.Request.Method == http.MethodHead {
		return e
	}
	var env struct {
		Errors []ErrorInfo `json:"errors"`
	}
	// A body that is not the envelope (an HTML proxy page) is ignored: the
	// status line already says what happened.
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&env); err == nil {
		e.Errors = env.Errors
	}
	return e
}

// expect returns resp when its status is one of codes; otherwise it consumes
// resp and returns the *ResponseError describing it.
func expect(resp *http.Response, codes ...int) (*http.Response, error) {
	for _, c := range codes {
		if resp.StatusCode == c {
			return resp, nil
		}
	}
	return nil, newResponseError(resp)
}

// redactURL drops query parameters that may carry secrets (pre-signed
// redirect URLs, upload state) from URLs that end up in error messages.
func redactURL(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i]
	}
	return s
}
