package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

func TestResponseError(t *testing.T) {
	tests := []struct {
		status int
		errs   []ErrorInfo
		class  error
		msg    string
	}{
		{404, []ErrorInfo{{Code: "MANIFEST_UNKNOWN", Message: "manifest unknown"}}, errdef.ErrNotFound,
			"GET https://h/v2/x/manifests/y: 404 MANIFEST_UNKNOWN: manifest unknown"},
		{404, nil, errdef.ErrNotFound, "GET https://h/v2/x/manifests/y: 404 Not Found"},
		{401, []ErrorInfo{{Code: "UNAUTHORIZED", Message: "authentication required"}}, errdef.ErrUnauthorized,
			"GET https://h/v2/x/manifests/y: 401 UNAUTHORIZED: authentication required"},
		{403, []ErrorInfo{{Code: "DENIED"}}, errdef.ErrDenied, "GET https://h/v2/x/manifests/y: 403 DENIED"},
		{429, nil, errdef.ErrTooManyRequests, "GET https://h/v2/x/manifests/y: 429 Too Many Requests"},
		{413, nil, errdef.ErrTooLarge, "GET https://h/v2/x/manifests/y: 413 Request Entity Too Large"},
		{503, nil, errdef.ErrUnavailable, "GET https://h/v2/x/manifests/y: 503 Service Unavailable"},
		{503, []ErrorInfo{{Code: "TOOMANYREQUESTS", Message: "busy"}}, errdef.ErrTooManyRequests, "GET https://h/v2/x/manifests/y: 503 TOOMANYREQUESTS: busy"},
		{507, []ErrorInfo{{Code: "INSUFFICIENT_STORAGE", Message: "full"}}, errdef.ErrNoSpace, "GET https://h/v2/x/manifests/y: 507 INSUFFICIENT_STORAGE: full"},
		{507, nil, errdef.ErrNoSpace, "GET https://h/v2/x/manifests/y: 507 Insufficient Storage"},
		{400, []ErrorInfo{{Code: "DIGEST_INVALID", Message: "bad"}, {Code: "SIZE_INVALID", Message: "worse"}}, errdef.ErrInvalid,
			"GET https://h/v2/x/manifests/y: 400 DIGEST_INVALID: bad; SIZE_INVALID: worse"},
		{400, []ErrorInfo{{Code: "NAME_INVALID"}}, errdef.ErrInvalid, "GET https://h/v2/x/manifests/y: 400 NAME_INVALID"},
		{400, []ErrorInfo{{Code: "MANIFEST_BLOB_UNKNOWN", Message: "blob unknown to registry"}}, errdef.ErrInvalid, ""},
		{400, []ErrorInfo{{Code: "BLOB_UNKNOWN"}}, errdef.ErrNotFound, ""},
		{405, nil, errdef.ErrUnsupported, ""},
		{400, []ErrorInfo{{Code: "UNSUPPORTED"}}, errdef.ErrUnsupported, ""},
		{409, nil, errdef.ErrInvalid, ""},
		{302, nil, errdef.ErrUnsupported, ""},
		{400, []ErrorInfo{{Message: "only a message"}}, errdef.ErrInvalid, "GET https://h/v2/x/manifests/y: 400 only a message"},
	}
	for _, tt := range tests {
		e := &ResponseError{Method: "GET", URL: "https://h/v2/x/manifests/y", StatusCode: tt.status, Errors: tt.errs}
		t.Run(e.Error(), func(t *testing.T) {
			if !errors.Is(e, tt.class) {
				t.Errorf("Unwrap = %v, want %v", e.Unwrap(), tt.class)
			}
			if tt.msg != "" && e.Error() != tt.msg {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.msg)
			}
		})
	}
}

func TestResponseErrorFromWire(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
	}{
		{"envelope with detail", `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"t/x"}}]}`,
			"/v2/t/x/tags/list: 404 NAME_UNKNOWN: repository name not known to registry"},
		{"html", `<html>nope</html>`, "/v2/t/x/tags/list: 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := testRepo(t, srv, Options{}).Tags(context.Background())
			var re *ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *ResponseError", err)
			}
			if want := "GET " + srv.URL + tt.want; err.Error() != want {
				t.Errorf("got %q\nwant %q", err, want)
			}
		})
	}
}
