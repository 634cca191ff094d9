package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// loginServer is a registry whose /v2/ wants user:pass, by Basic auth or
// through a token realm.
func loginServer(t *testing.T, scheme string) string {
	t.Helper()
	const tok = "tok-123"
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		good := ok && u == "user" && p == "pass"
		switch {
		case r.URL.Path == "/token":
			if !good {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": tok})
		case r.URL.Path == "/v2/" && scheme == "open":
		case r.URL.Path == "/v2/" && scheme == "basic" && good:
		case r.URL.Path == "/v2/" && scheme == "bearer" && r.Header.Get("Authorization") == "Bearer "+tok:
		case r.URL.Path == "/v2/" && scheme == "basic":
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/v2/" && scheme == "bearer":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		scheme, pass string
		want         error
	}{
		{"basic", "pass", nil},
		{"basic", "wrong", errdef.ErrUnauthorized},
		{"bearer", "pass", nil},
		{"bearer", "wrong", errdef.ErrUnauthorized},
		{"open", "anything", nil},
	} {
		t.Run(tc.scheme+"/"+tc.pass, func(t *testing.T) {
			host := loginServer(t, tc.scheme)
			err := Login(context.Background(), host, Credential{Username: "user", Password: tc.pass}, Options{MaxRetries: 1})
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Login: %v, want %v", err, tc.want)
			}
			// A login asks for a token with no scope: the message names
			// the token server and says what went wrong, not "for :".
			if tc.scheme == "bearer" && err != nil && (strings.Contains(err.Error(), "for :") || !strings.Contains(err.Error(), "token from "+host) || !strings.Contains(err.Error(), "credentials were refused")) {
				t.Errorf("Login: %v", err)
			}
		})
	}
}

func TestSaveAndRemoveCredentials(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "none.json"))
	path := filepath.Join(dir, "config.json")
	orig := `{"auths":{"other.io":{"auth":"b3RoZXI6cHc="},"https://reg.example:5000/v1/":{"auth":"b2xkOm9sZA=="}},"psFormat":"table {{.ID}}","proxies":{"default":{"httpProxy":"http://p:3128"}}}`
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	where, err := SaveCredentials(ctx, "reg.example:5000", Credential{Username: "alice", Password: "s3cret:x"})
	if err != nil || where != path {
		t.Fatalf("SaveCredentials: %q, %v", where, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json mode %v (%v), want 0600", st.Mode(), err)
	}
	var doc map[string]json.RawMessage
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if string(doc["psFormat"]) != `"table {{.ID}}"` || !strings.Contains(string(doc["proxies"]), "httpProxy") {
		t.Errorf("other fields lost: %s", raw)
	}
	if strings.Contains(string(raw), "https://reg.example:5000/v1/") {
		t.Errorf("the old spelling of the host survived: %s", raw)
	}
	for host, want := range map[string]Credential{
		"reg.example:5000": {Username: "alice", Password: "s3cret:x"},
		"other.io":         {Username: "other", Password: "pw"},
	} {
		if got, err := DefaultCredentials(ctx, host); err != nil || got != want {
			t.Errorf("DefaultCredentials(%s) = %+v, %v; want %+v", host, got, err, want)
		}
	}
	if err := RemoveCredentials(ctx, "reg.example:5000"); err != nil {
		t.Fatal(err)
	}
	if got, _ := DefaultCredentials(ctx, "reg.example:5000"); !got.IsZero() {
		t.Errorf("after RemoveCredentials: %+v", got)
	}
	if got, _ := DefaultCredentials(ctx, "other.io"); got.Username != "other" {
		t.Errorf("RemoveCredentials took other.io too: %+v", got)
	}
	if err := RemoveCredentials(ctx, "reg.example:5000"); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("second RemoveCredentials: %v, want ErrNotFound", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".config.json-*"))
	if len(leftovers) != 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
}

// TestSaveCredentialsHelper: a credHelpers entry sends the secret to
// docker-credential-<name> (a script keeping it in a file), not config.json.
func TestSaveCredentialsHelper(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := t.TempDir()
	store := filepath.Join(dir, "helper-store")
	script := `#!/bin/sh
case "$1" in
store) cat > "` + store + `" ;;
get) if [ -s "` + store + `" ]; then sed 's/"ServerURL"[^,]*,//' "` + store + `"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) if [ -s "` + store + `" ]; then : > "` + store + `"; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-test"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "none.json"))
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"credHelpers":{"reg.example":"test"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	where, err := SaveCredentials(ctx, "reg.example", Credential{Username: "bob", Password: "hunter2"})
	if err != nil || where != "docker-credential-test" {
		t.Fatalf("SaveCredentials: %q, %v", where, err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "aHVudGVyMg") || strings.Contains(string(raw), "hunter2") {
		t.Errorf("secret written to config.json: %s", raw)
	}
	if got, err := DefaultCredentials(ctx, "reg.example"); err != nil || got.Username != "bob" || got.Password != "hunter2" {
		t.Errorf("DefaultCredentials: %+v, %v", got, err)
	}
	if err := RemoveCredentials(ctx, "reg.example"); err != nil {
		t.Fatal(err)
	}
	if got, err := DefaultCredentials(ctx, "reg.example"); err != nil || !got.IsZero() {
		t.Errorf("after RemoveCredentials: %+v, %v", got, err)
	}
}

func TestSaveCredentialsMissingHelper(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"no-such-helper-xyz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := SaveCredentials(context.Background(), "reg.example", Credential{Username: "u", Password: "p"})
	if !errors.Is(err, errdef.ErrUnavailable) || !strings.Contains(err.Error(), "docker-credential-no-such-helper-xyz") {
		t.Errorf("SaveCredentials: %v, want a missing-helper error", err)
	}
}
