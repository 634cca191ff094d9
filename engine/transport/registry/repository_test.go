package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "localhost:5000": true, "127.0.0.1": true, "127.1.2.3:80": true,
		"[::1]:5000": true, "::1": true, "reg.localhost:1": true,
		"docker.io": false, "10.0.0.1:5000": false, "[2001:db8::1]:443": false, "localhost.example.com": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestAPIHost(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io",
		"registry-1.docker.io": "registry-1.docker.io", "ghcr.io": "ghcr.io",
	} {
		if got := New(in, "x", Options{}).apiHost; got != want {
			t.Errorf("apiHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSchemeSelection checks Insecure's HTTPS-then-HTTP probe. httptest
// servers listen on loopback, which without Insecure means plain HTTP.
func TestSchemeSelection(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"tags":["a"]}`))
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(handler)
	defer tlsSrv.Close()
	tests := []struct {
		name     string
		srv      *httptest.Server
		insecure bool
		scheme   string
		wantErr  bool
	}{
		{"loopback plain", plain, false, "http", false},
		{"insecure plain falls back", plain, true, "http", false},
		{"insecure tls unverified", tlsSrv, true, "https", false},
		{"loopback tls without insecure", tlsSrv, false, "http", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.srv.URL)
			r := New(u.Host, "t/x", Options{Insecure: tt.insecure, Credentials: anonymous, MaxRetries: 1})
			_, err := r.Tags(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if r.scheme != tt.scheme {
				t.Errorf("scheme %q, want %q", r.scheme, tt.scheme)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		scope, other string
		want         bool
	}{
		{"repository:a/b:pull,push", "repository:a/b:pull", true},
		{"repository:a/b:pull", "repository:a/b:pull,push", false},
		{"repository:a/b:pull", "repository:a/c:pull", false},
		{"repository:a/b:pull", "registry:catalog:*", false},
		{"repository:a/b:pull", "garbage", false},
	}
	for _, tt := range tests {
		if got := covers(tt.scope, tt.other); got != tt.want {
			t.Errorf("covers(%q, %q) = %v", tt.scope, tt.other, got)
		}
	}
}
