package service

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	g := HTTPGuard{
		Listen: "127.0.0.1:8080", Hosts: []string{"api.example.com"}, Origins: []string{"https://console.example.com"},
		Uploads: []string{"/v1/uploads/"}, CSRF: true,
	}.Wrap(ok)
	for _, c := range []struct {
		name, method, path, host, origin, ctype, upload string
		want                                            int
	}{
		{"plain GET", "GET", "/v1/tags", "127.0.0.1:8080", "", "", "", 200},
		{"localhost", "GET", "/v1/tags", "localhost:8080", "", "", "", 200},
		{"IP literal", "GET", "/v1/tags", "[::1]:8080", "", "", "", 200},
		{"named host", "GET", "/v1/tags", "api.example.com", "", "", "", 200},
		{"no Host (HTTP/1.0)", "GET", "/v1/tags", "", "", "", "", 200},
		{"rebound DNS name", "GET", "/v1/tags", "attacker.example:8080", "", "", "", http.StatusMisdirectedRequest},
		{"JSON POST", "POST", "/v1/copy", "127.0.0.1:8080", "", "application/json; charset=utf-8", "", 200},
		{"text/plain POST", "POST", "/v1/copy", "127.0.0.1:8080", "", "text/plain", "", http.StatusUnsupportedMediaType},
		{"form POST", "POST", "/v1/copy", "127.0.0.1:8080", "", "application/x-www-form-urlencoded", "", http.StatusUnsupportedMediaType},
		{"no content type", "POST", "/v1/copy", "127.0.0.1:8080", "", "", "", http.StatusUnsupportedMediaType},
		{"cross-site form POST", "POST", "/v1/copy", "127.0.0.1:8080", "https://evil.example", "text/plain", "", http.StatusForbidden},
		{"cross-site JSON", "POST", "/v1/copy", "127.0.0.1:8080", "https://evil.example", "application/json", "", http.StatusForbidden},
		{"same-origin page", "POST", "/v1/copy", "127.0.0.1:8080", "http://127.0.0.1:8080", "application/json", "", 200},
		{"allowed origin", "GET", "/v1/tags", "127.0.0.1:8080", "https://console.example.com", "", "", 200},
		{"allowed origin preflight", "OPTIONS", "/v1/copy", "127.0.0.1:8080", "https://console.example.com", "", "", http.StatusNoContent},
		{"multipart upload", "POST", "/v1/uploads/append", "127.0.0.1:8080", "", "multipart/form-data; boundary=x", "1", 200},
		{"multipart without header", "POST", "/v1/uploads/append", "127.0.0.1:8080", "", "multipart/form-data; boundary=x", "", http.StatusUnsupportedMediaType},
		{"multipart elsewhere", "POST", "/v1/copy", "127.0.0.1:8080", "", "multipart/form-data; boundary=x", "1", http.StatusUnsupportedMediaType},
		{"DELETE", "DELETE", "/v1/repositories/x", "127.0.0.1:8080", "", "", "", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.path, strings.NewReader("{}"))
			r.Host = c.host
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			if c.upload != "" {
				r.Header.Set(UploadHeader, c.upload)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Errorf("%d, want %d: %s", w.Code, c.want, w.Body)
			}
		})
	}
	any := HTTPGuard{Listen: "0.0.0.0:5000", AnyHost: true}.Wrap(ok)
	r := httptest.NewRequest("GET", "/v2/", nil)
	r.Host = "registry.corp:5000"
	w := httptest.NewRecorder()
	any.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("a port beyond loopback refused %s: %d", r.Host, w.Code)
	}
}
