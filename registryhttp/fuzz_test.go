package registryhttp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzRoute: no request path, method or query is a server error.
func FuzzRoute(f *testing.F) {
	reg, err := New(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{
		"/v2/", "/v2/a/b/manifests/latest", "/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/x?digest=sha256:00",
		"/v2/../../etc/passwd/manifests/x", "/v2/a/referrers/sha256:0?artifactType=x", "/v2/_catalog?n=1&last=a",
		"/v2/a/tags/list?n=99999999999999999999", "/v2/a/blobs/uploads/?mount=sha256:1&from=../b",
	} {
		for _, m := range []string{"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"} {
			f.Add(m, p, []byte("{}"))
		}
	}
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !validMethod(method) {
			return
		}
		req := httptest.NewRequest("GET", "/", bytes.NewReader(body))
		req.Method, req.URL = method, u
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s = %d: %s", method, target, rec.Code, rec.Body)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
