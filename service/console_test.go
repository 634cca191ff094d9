package service

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConsoleRoutes(t *testing.T) {
	token := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="stevedore"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	c, err := NewConsole(ConsoleConfig{Auth: true, Registry: "127.0.0.1:5000"}, token)
	if err != nil {
		t.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Api", "yes") })
	guard := HTTPGuard{Listen: "127.0.0.1:8080", CSRF: true}
	h := guard.Wrap(c.Wrap(api))

	tests := []struct {
		name, method, path, host string
		header                   map[string]string
		status                   int
		contentType              string // prefix; empty: not checked
		console                  bool   // the console's security headers are set
	}{
		{name: "page", method: "GET", path: "/", status: 200, contentType: "text/html", console: true},
		{name: "page by name", method: "GET", path: "/index.html", status: 200, contentType: "text/html", console: true},
		{name: "script", method: "GET", path: "/assets/app.js", status: 200, contentType: "text/javascript", console: true},
		{name: "styles", method: "GET", path: "/assets/app.css", status: 200, contentType: "text/css", console: true},
		{name: "head", method: "HEAD", path: "/assets/app.js", status: 200, console: true},
		{name: "missing asset", method: "GET", path: "/assets/nope.js", status: 404, console: true},
		{name: "config", method: "GET", path: "/console.json", status: 200, contentType: "application/json", console: true},
		{name: "no posting to the page", method: "POST", path: "/", header: map[string]string{"Content-Type": "application/json"}, status: 405, console: true},
		{name: "API passes through", method: "GET", path: "/v1/repositories", status: 200},
		{name: "token without a challenge", method: "GET", path: "/token", status: 401},
		{name: "foreign host", method: "GET", path: "/", host: "evil.test:8080", status: http.StatusMisdirectedRequest},
		{name: "cross-site form post", method: "POST", path: "/v1/tags", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: http.StatusUnsupportedMediaType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			req.Host = "127.0.0.1:8080"
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); tc.contentType != "" && !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			csp := rec.Header().Get("Content-Security-Policy")
			if tc.console != (csp != "") {
				t.Errorf("CSP %q on a console response: %v", csp, tc.console)
			}
			if tc.console {
				for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("CSP %q lacks %s", csp, want)
					}
				}
				if strings.Contains(csp, "unsafe") {
					t.Errorf("CSP %q allows something unsafe", csp)
				}
				if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("X-Content-Type-Options %q", got)
				}
			}
			if tc.path == "/token" && rec.Header().Get("WWW-Authenticate") != "" {
				t.Error("the token endpoint's Basic challenge reached the browser")
			}
		})
	}
}

func TestConsoleCaching(t *testing.T) {
	c, err := NewConsole(ConsoleConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Wrap(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/assets/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	req := httptest.NewRequest("GET", "/assets/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("revalidation: %d with %d bytes, want 304 and none", rec.Code, rec.Body.Len())
	}
	// Without auth there is no /token here: it goes to the API.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/token", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/token without auth: %d", rec.Code)
	}
}

func TestConsoleConfig(t *testing.T) {
	keys := t.TempDir()
	for _, f := range []string{"release.pub", "release.key", "ci.pub", "Bad Name.pub", ".hidden.pub"} {
		if err := os.WriteFile(filepath.Join(keys, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  ConsoleConfig
		want consoleInfo
	}{
		{"keys", ConsoleConfig{Auth: true, Registry: "r:5000", KeyDir: keys}, consoleInfo{ConsoleConfig{Auth: true, Registry: "r:5000"}, []string{"ci", "release"}}},
		{"no key directory yet", ConsoleConfig{TLS: true, DeleteDisabled: true, KeyDir: filepath.Join(keys, "missing")}, consoleInfo{ConsoleConfig{TLS: true, DeleteDisabled: true}, []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewConsole(tc.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			c.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/console.json", nil))
			var got consoleInfo
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.TrustedKeys, ",") != strings.Join(tc.want.TrustedKeys, ",") || got.Auth != tc.want.Auth ||
				got.Registry != tc.want.Registry || got.TLS != tc.want.TLS || got.DeleteDisabled != tc.want.DeleteDisabled {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if strings.Contains(rec.Body.String(), keys) {
				t.Error("the key directory's path is served")
			}
		})
	}
}
