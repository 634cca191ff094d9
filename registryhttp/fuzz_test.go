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

// FuzzChunkRange: the Content-Range parser never panics, and a chunk it
// accepts starts at a non-negative offset, is at least a byte long and
// agrees with Content-Length when one is given.
func FuzzChunkRange(f *testing.F) {
	for _, s := range []struct {
		cr string
		cl int64
	}{
		{"0-99", 100}, {"bytes 0-99/200", 100}, {"bytes=5-5", -1}, {"", 10}, {"5-1", 5},
		{"a-b", 1}, {"0-", 1}, {"-1-1", 3}, {"0-99999999999999999999", -1}, {"0-9223372036854775807", -1}, {" 1 - 2 ", 2},
	} {
		f.Add(s.cr, s.cl)
	}
	f.Fuzz(func(t *testing.T, cr string, cl int64) {
		r := httptest.NewRequest(http.MethodPatch, "/v2/a/blobs/uploads/x", nil)
		r.ContentLength = cl
		if cr != "" {
			r.Header.Set("Content-Range", cr)
		}
		start, size, err := chunkRange(r)
		switch {
		case err != nil:
			if re := classify(err); re.class != classRange {
				t.Fatalf("%q: error of class %v, want range", cr, re.class)
			}
		case cr == "":
			if start != -1 || size != cl {
				t.Fatalf("no Content-Range: %d, %d", start, size)
			}
		case start < 0 || size < 1 || (cl >= 0 && cl != size):
			t.Fatalf("%q with length %d: start %d, size %d", cr, cl, start, size)
		}
	})
}
