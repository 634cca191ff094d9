package registryhttp

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
)

// OCI error codes, each tied to its HTTP status. The route decides the code;
// the engine's error classes only pick among the route's codes.
// distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
var (
	errBlobUnknown         = &apiError{"BLOB_UNKNOWN", "blob unknown to registry", http.StatusNotFound}
	errBlobUploadInvalid   = &apiError{"BLOB_UPLOAD_INVALID", "blob upload invalid", http.StatusBadRequest}
	errBlobUploadUnknown   = &apiError{"BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", http.StatusNotFound}
	errDigestInvalid       = &apiError{"DIGEST_INVALID", "provided digest did not match uploaded content", http.StatusBadRequest}
	errManifestBlobUnknown = &apiError{"MANIFEST_BLOB_UNKNOWN", "manifest references a manifest or blob unknown to registry", http.StatusBadRequest}
	errManifestInvalid     = &apiError{"MANIFEST_INVALID", "manifest invalid", http.StatusBadRequest}
	errManifestUnknown     = &apiError{"MANIFEST_UNKNOWN", "manifest unknown to registry", http.StatusNotFound}
	errNameInvalid         = &apiError{"NAME_INVALID", "invalid repository name", http.StatusBadRequest}
	errNameUnknown         = &apiError{"NAME_UNKNOWN", "repository name not known to registry", http.StatusNotFound}
	errSizeInvalid         = &apiError{"SIZE_INVALID", "provided length did not match content length", http.StatusBadRequest}
	errUnsupported         = &apiError{"UNSUPPORTED", "the operation is unsupported", http.StatusBadRequest}

	// Statuses the spec names without a code of their own.
	errMethod            = &apiError{"UNSUPPORTED", "method not allowed", http.StatusMethodNotAllowed}
	errNotFound          = &apiError{"NOT_FOUND", "not a distribution API path", http.StatusNotFound}
	errRangeInvalid      = &apiError{"BLOB_UPLOAD_INVALID", "chunk out of order", http.StatusRequestedRangeNotSatisfiable}
	errTooLarge          = &apiError{"SIZE_INVALID", "manifest over the 4 MiB limit", http.StatusRequestEntityTooLarge}
	errPaginationInvalid = &apiError{"PAGINATION_NUMBER_INVALID", "invalid number of results requested", http.StatusBadRequest}
)

// rejectCodes maps the codes of the store's refusals (served.RejectError)
// to their entries above.
var rejectCodes = map[string]*apiError{
	served.CodeManifestInvalid:     errManifestInvalid,
	served.CodeManifestBlobUnknown: errManifestBlobUnknown,
	served.CodeDigestInvalid:       errDigestInvalid,
	served.CodeNameInvalid:         errNameInvalid,
	served.CodeDenied:              errDenied, // a quota (served.QuotaBackend)
}

// apiError is one entry of the error envelope plus the status it is sent with.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// withMessage returns a copy of e carrying a more specific message.
func (e *apiError) withMessage(msg string) *apiError {
	c := *e
	c.Message = msg
	return &c
}

// classify turns an engine error into the route's OCI code: notFound for a
// missing object, invalid for malformed input; anything else stays itself
// and becomes a 500, the only path to one.
func classify(err error, notFound, invalid *apiError) error {
	var ae *apiError
	var re *served.RejectError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &re):
		if e, ok := rejectCodes[re.Code]; ok {
			return e.withMessage(re.Msg)
		}
	case errors.Is(err, errdef.ErrNotFound) && notFound != nil:
		return notFound // its own message: the store's names server paths
	case errors.Is(err, errdef.ErrTooLarge):
		return errTooLarge.withMessage(err.Error())
	case (errors.Is(err, errdef.ErrInvalid) || errors.Is(err, errdef.ErrUnsupported)) && invalid != nil:
		return invalid.withMessage(err.Error())
	case errors.Is(err, errdef.ErrDigestMismatch):
		return errDigestInvalid.withMessage(err.Error())
	case errors.Is(err, errdef.ErrSizeMismatch):
		return errSizeInvalid.withMessage(err.Error())
	}
	return err
}

// writeError sends the distribution-spec error envelope. An error that is not
// an *apiError is a server fault: a 500 whose detail goes to the log only.
//
// distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(classify(err, nil, nil), &ae) {
		ae = &apiError{"UNKNOWN", "internal error", http.StatusInternalServerError}
	}
	body, _ := json.Marshal(struct {
		Errors []*apiError `json:"errors"`
	}{[]*apiError{ae}})
	h := w.Header()
	h.Del("Docker-Content-Digest")
	h.Set("Content-Type", "application/json")
	if r.Method != http.MethodHead {
		h.Set("Content-Length", itoa(int64(len(body))))
	}
	w.WriteHeader(ae.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
