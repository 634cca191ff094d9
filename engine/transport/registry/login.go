package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/stevedore-dev/stevedore/engine/errdef"
)

// Login checks cred against host the way docker login does: GET /v2/, then
// answer its challenge (Basic, or a token from the bearer realm, asked for
// with no scope) and GET /v2/ again, which must succeed. A registry that
// does not challenge at all accepts any credential. A rejected credential
// matches errdef.ErrUnauthorized.
//
// distribution-spec v1.1.1 §Determining support:
// https://github.com/opencontainers/distribution-spec/blob/v1.1.1/spec.md#determining-support
// Token flow: https://github.com/distribution/distribution/blob/v3.0.0/docs/content/spec/auth/token.md#how-to-authenticate
func Login(ctx context.Context, host string, cred Credential, opts Options) error {
	opts.Credentials = func(context.Context, string) (Credential, error) { return cred, nil }
	r := New(host, "", opts)
	fail := func(err error) error { return fmt.Errorf("logging in to %s: %w", host, err) }
	base, err := r.baseURL(ctx)
	if err != nil {
		return fail(err)
	}
	ping := func(authz string) (*http.Response, error) {
		return r.retry(ctx, &request{method: http.MethodGet, url: base + "/v2/"}, func(req *http.Request) error {
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			return nil
		})
	}
	resp, err := ping("")
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode == http.StatusOK {
		drain(resp)
		return nil
	}
	if resp.StatusCode != http.StatusUnauthorized {
		_, err := expect(resp, http.StatusOK)
		return fail(err)
	}
	var ch *challenge
	for _, c := range parseChallenges(resp.Header.Values("WWW-Authenticate")) {
		if c.scheme == "bearer" {
			ch = &c
			break
		}
		if c.scheme == "basic" && ch == nil {
			ch = &c
		}
	}
	drain(resp)
	var authz string
	switch {
	case ch == nil:
		return fail(fmt.Errorf("the registry answered 401 with no Basic or Bearer challenge: %w", errdef.ErrUnsupported))
	case ch.scheme == "basic":
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred.Username+":"+cred.Password))
	default:
		tok, err := r.auth.fetchToken(ctx, ch, cred, nil)
		if err != nil {
			return fail(err)
		}
		authz = "Bearer " + tok.value
	}
	if resp, err = ping(authz); err != nil {
		return fail(err)
	}
	if resp, err = expect(resp, http.StatusOK); err != nil {
		return fail(err)
	}
	drain(resp)
	return nil
}

// DockerConfigPath returns the docker config file credentials are written
// to: $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func DockerConfigPath() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding docker's config.json: %w", err)
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// SaveCredentials records cred for host in docker's config.json, where
// docker, crane, skopeo, oras and DefaultCredentials find it. As docker
// does, a credHelpers entry for host, else a credsStore, stores the secret
// through docker-credential-<name> and leaves an empty auths entry in the
// file; otherwise auths[host] gets the base64 "user:password" (or the
// identity token). Every other field of the file is kept; it is replaced
// atomically with mode 0600. It returns where the secret went: the file's
// path or the helper's program name.
//
// config.json: https://docs.docker.com/reference/cli/docker/login/#credential-stores
func SaveCredentials(ctx context.Context, host string, cred Credential) (string, error) {
	path, err := DockerConfigPath()
	if err != nil {
		return "", err
	}
	doc, auths, helper, err := readConfigForWrite(path, host)
	if err != nil {
		return "", err
	}
	key := configKey(host)
	entry := map[string]string{}
	where := path
	if helper != "" {
		c := &credentials.Credentials{ServerURL: key, Username: cred.Username, Secret: cred.Password}
		if cred.IdentityToken != "" {
			c.Username, c.Secret = "<token>", cred.IdentityToken // docker's convention
		}
		if err := client.Store(helperProgram(ctx, helper), c); err != nil {
			return "", fmt.Errorf("credential helper docker-credential-%s storing %s: %w", helper, host, err)
		}
		where = "docker-credential-" + helper
	} else {
		if cred.Username != "" || cred.Password != "" {
			entry["auth"] = base64.StdEncoding.EncodeToString([]byte(cred.Username + ":" + cred.Password))
		}
		if cred.IdentityToken != "" {
			entry["identitytoken"] = cred.IdentityToken
		}
	}
	removeHostKeys(auths, host)
	raw, err := json.Marshal(entry)
	if err != nil {
		return "", err
	}
	auths[key] = raw
	if err := writeConfig(path, doc, auths); err != nil {
		return "", err
	}
	return where, nil
}

// RemoveCredentials forgets host's credential: erased from the helper that
// would store it, and its auths entries (under any spelling of the host)
// removed from config.json. Nothing to remove matches errdef.ErrNotFound.
func RemoveCredentials(ctx context.Context, host string) error {
	path, err := DockerConfigPath()
	if err != nil {
		return err
	}
	doc, auths, helper, err := readConfigForWrite(path, host)
	if err != nil {
		return err
	}
	erased := false
	if helper != "" {
		err := client.Erase(helperProgram(ctx, helper), configKey(host))
		switch {
		case err == nil:
			erased = true
		case !credentials.IsErrCredentialsNotFound(err):
			return fmt.Errorf("credential helper docker-credential-%s erasing %s: %w", helper, host, err)
		}
	}
	n := len(auths)
	removeHostKeys(auths, host)
	if len(auths) != n {
		if err := writeConfig(path, doc, auths); err != nil {
			return err
		}
		erased = true
	}
	if !erased {
		return fmt.Errorf("no credential for %s in %s: %w", host, path, errdef.ErrNotFound)
	}
	return nil
}

// readConfigForWrite reads path (missing means empty) keeping every field
// as raw JSON, and works out which helper, if any, holds host's secret: a
// credHelpers entry, else credsStore, as docker decides.
func readConfigForWrite(path, host string) (doc, auths map[string]json.RawMessage, helper string, err error) {
	doc, auths = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return doc, auths, "", nil
	case err != nil:
		return nil, nil, "", err
	case len(raw) > maxConfigFile:
		return nil, nil, "", fmt.Errorf("%s: larger than %d bytes: %w", path, maxConfigFile, errdef.ErrTooLarge)
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, nil, "", fmt.Errorf("%s: %v: %w", path, err, errdef.ErrInvalid)
		}
	}
	if a, ok := doc["auths"]; ok && string(a) != "null" {
		if err := json.Unmarshal(a, &auths); err != nil {
			return nil, nil, "", fmt.Errorf("%s: \"auths\": %v: %w", path, err, errdef.ErrInvalid)
		}
	}
	var cf configFile
	_ = json.Unmarshal(raw, &cf) // the fields that matter were checked above
	if h, ok := lookupHost(cf.CredHelpers, host); ok && h != "" {
		helper = h
	} else {
		helper = cf.CredsStore
	}
	if helper != "" {
		if _, err := exec.LookPath("docker-credential-" + helper); err != nil {
			return nil, nil, "", fmt.Errorf("%s names credential helper %q for %s, but docker-credential-%s is not installed: %w", path, helper, host, helper, errdef.ErrUnavailable)
		}
	}
	return doc, auths, helper, nil
}

// configKey is the auths key (and helper server URL) docker uses for host.
func configKey(host string) string {
	if isDockerHub(host) {
		return dockerHubKeys[0]
	}
	return host
}

// removeHostKeys deletes every auths key that names host, however spelled
// ("host", "https://host/v1/"), so no stale secret survives beside the new one.
func removeHostKeys(auths map[string]json.RawMessage, host string) {
	norm := normalizeHost(host)
	for k := range auths {
		if kh, ok := keyHost(k); ok && normalizeHost(kh) == norm {
			delete(auths, k)
		}
	}
}

// writeConfig replaces path with doc (auths substituted) the way containerd
// commits content: temp file in the same directory, mode 0600, fsync,
// rename, so a crash leaves the old file or the new one, never half. A
// symlinked config.json (dotfile managers) is written through to its target.
func writeConfig(path string, doc, auths map[string]json.RawMessage) (err error) {
	rawAuths, err := json.Marshal(auths)
	if err != nil {
		return err
	}
	doc["auths"] = rawAuths
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return err
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config.json-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(append(out, '\n')); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// helperProgram runs docker-credential-<helper> under ctx.
//
// Helper protocol: https://github.com/docker/docker-credential-helpers/blob/v0.9.13/README.md#development
func helperProgram(ctx context.Context, helper string) client.ProgramFunc {
	return func(args ...string) client.Program {
		return &helperCmd{cmd: exec.CommandContext(ctx, "docker-credential-"+helper, args...)}
	}
}
