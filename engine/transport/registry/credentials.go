package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Credential is what a registry is authenticated with. The zero value means
// anonymous access.
type Credential struct {
	// Username and Password are sent as Basic credentials, to the registry
	// or to its token realm.
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token (docker login's
	// "identitytoken"); when set, tokens are requested with the OAuth2 form.
	IdentityToken string
	// RegistryToken is a bearer token sent to the registry as is.
	RegistryToken string
}

// IsZero reports whether c holds no credential.
func (c Credential) IsZero() bool { return c == Credential{} }

// dockerHubKeys are the names Docker Hub credentials are stored under; the
// first is the one docker login writes.
var dockerHubKeys = []string{"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"}

// DefaultCredentials finds the credential for host as docker and podman do:
//   - docker's config.json ($DOCKER_CONFIG/config.json, else
//     ~/.docker/config.json): credHelpers[host], then credsStore, then the
//     "auths" entry (base64 "auth" user:pass, or username/password,
//     identitytoken, registrytoken), helpers run as docker-credential-<name>
//     (a credsStore helper that is not installed is skipped);
//   - then containers auth.json ($REGISTRY_AUTH_FILE, else
//     $XDG_RUNTIME_DIR/containers/auth.json, then
//     ~/.config/containers/auth.json).
//
// Docker Hub matches any of its names (https://index.docker.io/v1/,
// docker.io, index.docker.io, registry-1.docker.io). Only host-level entries
// match; auth.json entries for a namespace (host/org) are ignored. Missing
// files mean anonymous access; a malformed file is an error matching
// errdef.ErrInvalid.
//
// config.json: https://docs.docker.com/reference/cli/docker/login/#credential-stores
// auth.json:   https://github.com/containers/image/blob/v5.34.0/docs/containers-auth.json.5.md
func DefaultCredentials(ctx context.Context, host string) (Credential, error) {
	home, _ := os.UserHomeDir()
	dockerDir := os.Getenv("DOCKER_CONFIG")
	if dockerDir == "" && home != "" {
		dockerDir = filepath.Join(home, ".docker")
	}
	if dockerDir != "" {
		c, found, err := fromDockerConfig(ctx, filepath.Join(dockerDir, "config.json"), host)
		if err != nil || found {
			return c, err
		}
	}
	var files []string
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		files = append(files, f)
	} else {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			files = append(files, filepath.Join(d, "containers", "auth.json"))
		}
		if home != "" {
			files = append(files, filepath.Join(home, ".config", "containers", "auth.json"))
		}
	}
	for _, f := range files {
		c, found, err := fromDockerConfig(ctx, f, host)
		if err != nil || found {
			return c, err
		}
	}
	return Credential{}, nil
}

// configFile is the part of docker's config.json (and containers' auth.json,
// which shares its "auths") that holds credentials.
type configFile struct {
	Auths       map[string]authEntry `json:"auths"`
	CredHelpers map[string]string    `json:"credHelpers"`
	CredsStore  string               `json:"credsStore"`
}

type authEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// maxConfigFile bounds a credentials file read.
const maxConfigFile = 4 << 20

// fromDockerConfig looks host up in one config file. found is false when the
// file does not exist or has nothing for host.
func fromDockerConfig(ctx context.Context, path, host string) (c Credential, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credential{}, false, nil
	}
	if err != nil {
		return Credential{}, false, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigFile))
	if err != nil {
		return Credential{}, false, err
	}
	var cf configFile
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &cf); err != nil {
			return Credential{}, false, fmt.Errorf("%s: %v: %w", path, err, errdef.ErrInvalid)
		}
	}
	if helper, ok := lookupHost(cf.CredHelpers, host); ok && helper != "" {
		c, err := fromHelper(ctx, helper, host)
		return c, !c.IsZero(), err
	}
	// A credsStore whose helper is not installed (a config copied from
	// another machine) is skipped, so anonymous pulls still work.
	if _, lookErr := exec.LookPath("docker-credential-" + cf.CredsStore); cf.CredsStore != "" && lookErr == nil {
		c, err := fromHelper(ctx, cf.CredsStore, host)
		if err != nil || !c.IsZero() {
			return c, true, err
		}
	}
	e, ok := lookupHost(cf.Auths, host)
	if !ok {
		return Credential{}, false, nil
	}
	c = Credential{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
	if e.Auth != "" {
		dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Auth))
		if err != nil {
			return Credential{}, false, fmt.Errorf("%s: auths entry for %s: \"auth\" is not base64: %w", path, host, errdef.ErrInvalid)
		}
		user, pass, ok := strings.Cut(string(dec), ":")
		if !ok {
			return Credential{}, false, fmt.Errorf("%s: auths entry for %s: \"auth\" is not user:password: %w", path, host, errdef.ErrInvalid)
		}
		c.Username, c.Password = user, pass
	}
	return c, !c.IsZero(), nil
}

// lookupHost finds host's entry in a map keyed as docker writes keys: bare
// hosts or URLs ("https://host/v1/"). An exact key wins over a normalised one.
func lookupHost[V any](m map[string]V, host string) (V, bool) {
	var zero V
	if len(m) == 0 {
		return zero, false
	}
	want := []string{host}
	if isDockerHub(host) {
		want = dockerHubKeys
	}
	for _, k := range want {
		if v, ok := m[k]; ok {
			return v, true
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when two spellings of a host exist
	norm := normalizeHost(host)
	for _, k := range keys {
		if kh, ok := keyHost(k); ok && normalizeHost(kh) == norm {
			return m[k], true
		}
	}
	return zero, false
}

// keyHost extracts the host from a config key, rejecting keys for a
// namespace below the host ("quay.io/org").
func keyHost(k string) (string, bool) {
	s := strings.ToLower(k)
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "http://")
	h, path, _ := strings.Cut(s, "/")
	switch strings.Trim(path, "/") {
	case "", "v1", "v2":
		return h, true
	}
	return "", false
}

func isDockerHub(host string) bool {
	switch strings.ToLower(host) {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return true
	}
	return false
}

func normalizeHost(h string) string {
	if isDockerHub(h) {
		return "docker.io"
	}
	return strings.ToLower(h)
}

// fromHelper runs docker-credential-<helper> get for host. "Not found" is
// a zero Credential, not an error.
//
// Helper protocol: https://github.com/docker/docker-credential-helpers/blob/v0.9.13/README.md#development
func fromHelper(ctx context.Context, helper, host string) (Credential, error) {
	serverURL := host
	if isDockerHub(host) {
		serverURL = dockerHubKeys[0]
	}
	prog := "docker-credential-" + helper
	got, err := client.Get(func(args ...string) client.Program {
		return &helperCmd{cmd: exec.CommandContext(ctx, prog, args...)}
	}, serverURL)
	if credentials.IsErrCredentialsNotFound(err) {
		return Credential{}, nil
	}
	if err != nil {
		return Credential{}, fmt.Errorf("credential helper %s for %s: %w", prog, host, err)
	}
	if got.Username == "<token>" {
		// docker's convention for an identity token kept in a helper.
		return Credential{IdentityToken: got.Secret}, nil
	}
	return Credential{Username: got.Username, Password: got.Secret}, nil
}

// helperCmd adapts exec.Cmd to client.Program, so that the helper runs under
// ctx and its stderr is kept in the error rather than printed.
type helperCmd struct{ cmd *exec.Cmd }

func (h *helperCmd) Output() ([]byte, error) { return h.cmd.Output() }
func (h *helperCmd) Input(in io.Reader)      { h.cmd.Stdin = in }
