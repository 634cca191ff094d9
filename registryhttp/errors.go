package registryhttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"syscall"

	"github.com/stevedore-dev/stevedore/engine/errdef"
	"github.com/stevedore-dev/stevedore/engine/served"
	"github.com/stevedore-dev/stevedore/registryhttp/internal/route"
)

// class is what went wrong, as far as the answer is concerned. Handlers
// either return a *regError naming one, or an engine error that classify
// sorts by its errdef class; the endpoint then picks the code (errorTable).
type class int

const (
	classNotFound      class = iota // what the endpoint addresses is missing (errdef.ErrNotFound)
	classInvalid                    // the endpoint's input is malformed (errdef.ErrInvalid, ErrUnsupported)
	classNameInvalid                // the repository name breaks the grammar
	classNameUnknown                // the repository does not exist
	classDigestInvalid              // a malformed digest, or content not hashing to it
	classSizeInvalid                // content shorter or longer than declared
	classTooLarge                   // over a bound (the 4 MiB manifest limit)
	classRange                      // an upload chunk out of order
	classMethod                     // the endpoint has no such method
	classDenied                     // refused by policy (the pull policy)
	classTooSlow                    // a request body slower than the minimum rate
	classBusy                       // this client is over its share (429)
	classOverloaded                 // the server as a whole is at a limit (503)
	classNoSpace                    // storage full, or under --min-free-space (507)
	classUpstreamDown               // a pull-through cache's upstream cannot answer (503)
	classInternal                   // a server fault (500)
	numClasses
)

var classNames = [numClasses]string{
	"not found", "invalid", "name invalid", "name unknown", "digest invalid", "size invalid",
	"too large", "range", "method", "denied", "too slow", "busy", "overloaded", "no space", "upstream down", "internal",
}

func (c class) String() string { return classNames[c] }

// endpoint is an endpoint of distribution-spec v1.1.1 §Endpoints (end-1 to
// end-13), split by method where the answer differs, plus those the spec
// leaves out: the catalog, cancelling an upload (added after v1.1.1) and
// paths that are no endpoint at all.
//
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
type endpoint int

const (
	endBase           endpoint = iota // end-1   GET /v2/
	endBlobGet                        // end-2   GET, HEAD /v2/<name>/blobs/<digest>
	endManifestGet                    // end-3   GET, HEAD /v2/<name>/manifests/<reference>
	endUploadStart                    // end-4a, end-4b, end-11   POST /v2/<name>/blobs/uploads/ (monolithic, mount)
	endUploadPatch                    // end-5   PATCH <location>
	endUploadPut                      // end-6   PUT <location>?digest=
	endManifestPut                    // end-7   PUT /v2/<name>/manifests/<reference>
	endTags                           // end-8a, end-8b   GET /v2/<name>/tags/list
	endManifestDelete                 // end-9   DELETE /v2/<name>/manifests/<reference>
	endBlobDelete                     // end-10  DELETE /v2/<name>/blobs/<digest>
	endReferrers                      // end-12a, end-12b   GET /v2/<name>/referrers/<digest>
	endUploadStatus                   // end-13  GET <location>
	endUploadCancel                   // DELETE <location> (distribution-spec after v1.1.1)
	endCatalog                        // GET /v2/_catalog (the Docker registry API's, outside the spec)
	endOther                          // not an endpoint
	numEndpoints
)

var endpointNames = [numEndpoints]string{
	"base", "blob GET", "manifest GET", "upload POST", "upload PATCH", "upload PUT", "manifest PUT",
	"tags", "manifest DELETE", "blob DELETE", "referrers", "upload GET", "upload DELETE", "catalog", "other",
}

func (e endpoint) String() string { return endpointNames[e] }

// endpointOf names the endpoint a request addresses.
func endpointOf(rt route.Route, method string) endpoint {
	switch rt.Kind {
	case route.Base:
		return endBase
	case route.Catalog:
		return endCatalog
	case route.Tags:
		return endTags
	case route.Referrers:
		return endReferrers
	case route.Manifest:
		switch method {
		case http.MethodPut:
			return endManifestPut
		case http.MethodDelete:
			return endManifestDelete
		}
		return endManifestGet
	case route.Blob:
		if method == http.MethodDelete {
			return endBlobDelete
		}
		return endBlobGet
	case route.Upload:
		switch {
		case rt.Ref == "" || method == http.MethodPost:
			return endUploadStart
		case method == http.MethodPatch:
			return endUploadPatch
		case method == http.MethodPut:
			return endUploadPut
		case method == http.MethodDelete:
			return endUploadCancel
		}
		return endUploadStatus
	}
	return endOther
}

// answer is an error's code and status. A 4xx answer in JSON must carry one
// of the spec's codes; where none fits (a malformed page size, a path that is
// no endpoint) code is empty and the body is plain text, which the spec
// allows ("A 4XX response code from the registry MAY return a body in any
// format"). The 5xx answers carry the registry-specific codes of errdef.
type answer struct {
	code   string
	status int
}

// errorTable is the one table from error class and endpoint to answer,
// checked in order: a row with endpoints applies to those, a row without to
// every other. Each class ends with a row without endpoints, so every pair
// has an answer (TestErrorTable walks them all).
//
// distribution-spec v1.1.1 §Error Codes, and the failure statuses of
// §Endpoints:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#endpoints
var errorTable = []struct {
	class class
	on    []endpoint
	answer
}{
	{classNotFound, []endpoint{endBlobGet, endBlobDelete}, answer{errdef.CodeBlobUnknown, http.StatusNotFound}},
	{classNotFound, []endpoint{endManifestGet, endManifestDelete}, answer{errdef.CodeManifestUnknown, http.StatusNotFound}},
	// A manifest naming content the repository lacks: §Pushing manifests.
	{classNotFound, []endpoint{endManifestPut}, answer{errdef.CodeManifestBlobUnknown, http.StatusBadRequest}},
	{classNotFound, []endpoint{endUploadPatch, endUploadPut, endUploadStatus, endUploadCancel}, answer{errdef.CodeBlobUploadUnknown, http.StatusNotFound}},
	{classNotFound, []endpoint{endOther}, answer{"", http.StatusNotFound}},
	{classNotFound, nil, answer{errdef.CodeNameUnknown, http.StatusNotFound}},

	{classInvalid, []endpoint{endManifestPut}, answer{errdef.CodeManifestInvalid, http.StatusBadRequest}},
	// A reference that cannot name a manifest names none.
	{classInvalid, []endpoint{endManifestGet, endManifestDelete}, answer{errdef.CodeManifestUnknown, http.StatusNotFound}},
	{classInvalid, []endpoint{endBlobGet, endBlobDelete, endReferrers}, answer{errdef.CodeDigestInvalid, http.StatusBadRequest}},
	{classInvalid, []endpoint{endUploadStart, endUploadPatch, endUploadPut, endUploadStatus, endUploadCancel}, answer{errdef.CodeBlobUploadInvalid, http.StatusBadRequest}},
	// A malformed n or last: the spec has no code for it.
	{classInvalid, nil, answer{"", http.StatusBadRequest}},

	{classNameInvalid, nil, answer{errdef.CodeNameInvalid, http.StatusBadRequest}},
	{classNameUnknown, nil, answer{errdef.CodeNameUnknown, http.StatusNotFound}},
	{classDigestInvalid, nil, answer{errdef.CodeDigestInvalid, http.StatusBadRequest}},
	{classSizeInvalid, []endpoint{endUploadStart, endUploadPatch, endUploadPut}, answer{errdef.CodeBlobUploadInvalid, http.StatusBadRequest}},
	{classSizeInvalid, nil, answer{errdef.CodeSizeInvalid, http.StatusBadRequest}},
	// §Pushing manifests: "413 Payload Too Large" over the registry's limit.
	{classTooLarge, nil, answer{errdef.CodeSizeInvalid, http.StatusRequestEntityTooLarge}},
	// §Pushing a blob in chunks: a chunk out of order is 416.
	{classRange, nil, answer{errdef.CodeBlobUploadInvalid, http.StatusRequestedRangeNotSatisfiable}},
	{classMethod, nil, answer{errdef.CodeUnsupported, http.StatusMethodNotAllowed}},
	{classDenied, nil, answer{errdef.CodeDenied, http.StatusForbidden}},
	{classTooSlow, nil, answer{errdef.CodeBlobUploadInvalid, http.StatusRequestTimeout}},
	{classBusy, nil, answer{errdef.CodeTooManyRequests, http.StatusTooManyRequests}},
	{classOverloaded, nil, answer{errdef.CodeTooManyRequests, http.StatusServiceUnavailable}},
	{classNoSpace, nil, answer{errdef.CodeInsufficientStorage, http.StatusInsufficientStorage}},
	// distribution's own code for it (registry/api/errcode/register.go).
	{classUpstreamDown, nil, answer{errdef.CodeUnavailable, http.StatusServiceUnavailable}},
	{classInternal, nil, answer{errdef.CodeUnknown, http.StatusInternalServerError}},
}

// lookup is the answer for c on e.
func lookup(c class, e endpoint) answer {
	for _, row := range errorTable {
		if row.class != c {
			continue
		}
		if row.on == nil {
			return row.answer
		}
		for _, x := range row.on {
			if x == e {
				return row.answer
			}
		}
	}
	return answer{errdef.CodeUnknown, http.StatusInternalServerError}
}

// rejectClasses sorts the store's refusals (served.RejectError) by their
// code.
var rejectClasses = map[string]class{
	errdef.CodeManifestInvalid:     classInvalid,
	errdef.CodeManifestBlobUnknown: classNotFound,
	errdef.CodeDigestInvalid:       classDigestInvalid,
	errdef.CodeNameInvalid:         classNameInvalid,
	errdef.CodeDenied:              classDenied, // a quota (served.QuotaBackend)
}

// regError is a failure a handler has classified.
type regError struct {
	class class
	msg   string
	// retryAfter is the Retry-After in seconds of a busy or overloaded
	// answer; 0 sends none.
	retryAfter int
}

func (e *regError) Error() string { return e.class.String() + ": " + e.msg }

// fail returns the error of class c with message msg.
func fail(c class, msg string) *regError { return &regError{class: c, msg: msg} }

// classify sorts an error by its errdef class. A *regError keeps its own;
// anything unclassified is a server fault, the only path to a 500. A
// full disk is 507 and a full descriptor table 503, wherever they surface.
func classify(err error) *regError {
	var re *regError
	var rej *served.RejectError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &rej):
		// The store's refusals name their code; the class picks the same
		// one on the endpoints that refuse pushes.
		if c, ok := rejectClasses[rej.Code]; ok {
			return fail(c, rej.Msg)
		}
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, errdef.ErrNoSpace):
		return &regError{class: classNoSpace, msg: "the registry's storage is full; retry once space is freed"}
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, errdef.ErrTooManyRequests):
		return &regError{class: classOverloaded, msg: "the registry is at capacity; retry shortly", retryAfter: 1}
	case errors.Is(err, errdef.ErrNotFound):
		// Not the error's text: the store's names server paths. Handlers
		// name what is missing with notFound.
		return fail(classNotFound, "unknown to registry")
	case errors.Is(err, errdef.ErrTooLarge):
		return fail(classTooLarge, err.Error())
	case errors.Is(err, errdef.ErrInvalid), errors.Is(err, errdef.ErrUnsupported):
		return fail(classInvalid, err.Error())
	case errors.Is(err, errdef.ErrDigestMismatch):
		return fail(classDigestInvalid, err.Error())
	case errors.Is(err, errdef.ErrDenied):
		return fail(classDenied, err.Error())
	case errors.Is(err, errdef.ErrSizeMismatch):
		return fail(classSizeInvalid, err.Error())
	}
	return &regError{class: classInternal, msg: "internal error"} // the detail goes to the log only
}

// notFound replaces the message of a missing object's error: the store's
// names server paths. Other errors pass through.
func notFound(err error, msg string) error {
	if err != nil && !errors.As(err, new(*regError)) && errors.Is(err, errdef.ErrNotFound) {
		return fail(classNotFound, msg)
	}
	return err
}

// clientGone reports whether err ended the request because its client went
// away: the connection closed (which cancels the request's context) or a
// write to it failed.
func clientGone(r *http.Request, err error, writeErr error) bool {
	if writeErr != nil {
		return true
	}
	if re := (*regError)(nil); errors.As(err, &re) && re.class == classTooSlow {
		return false // cut by us, and still there to be told why
	}
	return err != nil && r.Context().Err() != nil && errors.Is(r.Context().Err(), context.Canceled)
}

// writeError sends err's answer for endpoint e: the distribution-spec error
// envelope, or plain text where no spec code fits. Busy and overloaded
// answers say when to retry and close the connection, giving its descriptor
// back.
//
// distribution-spec v1.1.1 §Error Codes:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#error-codes
func writeError(w http.ResponseWriter, r *http.Request, e endpoint, err error) {
	re := classify(err)
	a := lookup(re.class, e)
	h := w.Header()
	h.Del("Docker-Content-Digest")
	if re.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(re.retryAfter))
	}
	if re.class == classOverloaded || re.class == classBusy || re.class == classTooSlow {
		h.Set("Connection", "close")
	}
	var body []byte
	if a.code == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff") // the message may quote the request
		body = []byte(re.msg + "\n")
	} else {
		h.Set("Content-Type", "application/json")
		type entry struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		body, _ = json.Marshal(struct {
			Errors []entry `json:"errors"`
		}{[]entry{{a.code, re.msg}}})
	}
	if r.Method != http.MethodHead {
		h.Set("Content-Length", itoa(int64(len(body))))
	}
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
