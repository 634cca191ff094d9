package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// credEnv points every credentials location into a fresh temp dir and
// returns it; files are written by the test.
func credEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", filepath.Join(dir, "home"))
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("PATH", filepath.Join(dir, "bin"))
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// fakeHelper is docker-credential-test: it knows one server and answers
// "not found" for the rest, as real helpers do.
const fakeHelper = `#!/bin/sh
[ "$1" = get ] || exit 2
read server
case "$server" in
  helper.io) echo '{"ServerURL":"helper.io","Username":"hu","Secret":"hs"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"x","Username":"<token>","Secret":"refresh"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`

// errHelper marks a case where any error is right: an explicitly configured
// helper that is absent must fail, not fall back to anonymous access.
var errHelper = errors.New("any error")

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDefaultCredentials(t *testing.T) {
	ctx := context.Background()
	dockerJSON := `{
		"auths": {
			"https://index.docker.io/v1/": {"auth": "` + b64("hubuser:hub:pass") + `"},
			"https://reg.io/v1/": {"username": "ru", "password": "rp"},
			"id.io": {"identitytoken": "idt"},
			"quay.io/org": {"auth": "` + b64("ns:ns") + `"}
		},
		"credHelpers": {"helper.io": "test", "broken.io": "missing"}
	}`
	authJSON := `{"auths": {"podman.io": {"auth": "` + b64("pu:pp") + `"}, "reg.io": {"auth": "` + b64("shadowed:x") + `"}}}`

	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		host  string
		want  Credential
		wantE error
	}{
		{"no files", func(*testing.T, string) {}, "reg.io", Credential{}, nil},
		{"hub by docker.io", dockerHome(dockerJSON), "docker.io", Credential{Username: "hubuser", Password: "hub:pass"}, nil},
		{"hub by registry-1", dockerHome(dockerJSON), "registry-1.docker.io", Credential{Username: "hubuser", Password: "hub:pass"}, nil},
		{"url key", dockerHome(dockerJSON), "reg.io", Credential{Username: "ru", Password: "rp"}, nil},
		{"identity token", dockerHome(dockerJSON), "id.io", Credential{IdentityToken: "idt"}, nil},
		{"namespaced key ignored", dockerHome(dockerJSON), "quay.io", Credential{}, nil},
		{"unknown host", dockerHome(dockerJSON), "other.io", Credential{}, nil},
		{"cred helper", dockerHome(dockerJSON), "helper.io", Credential{Username: "hu", Password: "hs"}, nil},
		{"missing cred helper", dockerHome(dockerJSON), "broken.io", Credential{}, errHelper},
		{"DOCKER_CONFIG", func(t *testing.T, dir string) {
			t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "dc"))
			writeFile(t, filepath.Join(dir, "dc", "config.json"), dockerJSON)
		}, "reg.io", Credential{Username: "ru", Password: "rp"}, nil},
		{"creds store", dockerHome(`{"credsStore": "test"}`), "docker.io", Credential{IdentityToken: "refresh"}, nil},
		{"creds store miss falls to auths", dockerHome(`{"credsStore": "test", "auths": {"reg.io": {"auth": "` + b64("a:b") + `"}}}`), "reg.io", Credential{Username: "a", Password: "b"}, nil},
		{"creds store not installed", dockerHome(`{"credsStore": "desktop"}`), "reg.io", Credential{}, nil},
		{"auth.json in config home", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "home", ".config", "containers", "auth.json"), authJSON)
		}, "podman.io", Credential{Username: "pu", Password: "pp"}, nil},
		{"auth.json in XDG_RUNTIME_DIR", func(t *testing.T, dir string) {
			t.Setenv("XDG_RUNTIME_DIR", filepath.Join(dir, "run"))
			writeFile(t, filepath.Join(dir, "run", "containers", "auth.json"), authJSON)
		}, "podman.io", Credential{Username: "pu", Password: "pp"}, nil},
		{"REGISTRY_AUTH_FILE", func(t *testing.T, dir string) {
			t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "a.json"))
			writeFile(t, filepath.Join(dir, "a.json"), authJSON)
		}, "podman.io", Credential{Username: "pu", Password: "pp"}, nil},
		{"docker config first", func(t *testing.T, dir string) {
			dockerHome(dockerJSON)(t, dir)
			writeFile(t, filepath.Join(dir, "home", ".config", "containers", "auth.json"), authJSON)
		}, "reg.io", Credential{Username: "ru", Password: "rp"}, nil},
		{"malformed json", dockerHome(`{"auths": `), "reg.io", Credential{}, errdef.ErrInvalid},
		{"bad base64", dockerHome(`{"auths": {"reg.io": {"auth": "!!"}}}`), "reg.io", Credential{}, errdef.ErrInvalid},
		{"no colon", dockerHome(`{"auths": {"reg.io": {"auth": "` + b64("nocolon") + `"}}}`), "reg.io", Credential{}, errdef.ErrInvalid},
		{"empty file", dockerHome(``), "reg.io", Credential{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := credEnv(t)
			writeFile(t, filepath.Join(dir, "bin", "docker-credential-test"), fakeHelper)
			tt.setup(t, dir)
			got, err := DefaultCredentials(ctx, tt.host)
			if tt.wantE == errHelper {
				if err == nil {
					t.Error("want an error for a configured helper that is not installed")
				}
				return
			}
			if !errors.Is(err, tt.wantE) || (tt.wantE == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantE)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func dockerHome(content string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		writeFile(t, filepath.Join(dir, "home", ".docker", "config.json"), content)
	}
}
