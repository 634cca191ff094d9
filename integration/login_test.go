package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestLoginLogout: `stevedore login` against a distribution registry
// behind htpasswd writes a config.json that crane and skopeo pull with
// (DOCKER_CONFIG set, REGISTRY_AUTH_FILE unset), keeping the file's other
// fields; a wrong password writes nothing; `stevedore logout` removes the
// entry so the peers are refused again.
func TestLoginLogout(t *testing.T) {
	const user, pass = "loginuser", "pa:ss word"
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := startDistribution(t, "distribution-login", distOptions{Htpasswd: htpasswd})
	if err != nil {
		t.Fatal(err)
	}
	// Seed the private repository with credentials of its own.
	ref := reg.Host + "/private/login:v1"
	layer := filepath.Join(t.TempDir(), "layer.tar")
	if err := writeLayerTar(layer, "login", 2); err != nil {
		t.Fatal(err)
	}
	seed := []string{"DOCKER_CONFIG=" + dockerConfig(t, reg.Host, user, pass)}
	mustRun(t, seed, "crane", "append", "--oci-empty-base", "-f", layer, "-t", ref)
	want := strings.TrimSpace(string(mustRun(t, seed, "crane", "digest", ref)))

	cfgDir := t.TempDir()
	cfg := filepath.Join(cfgDir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"auths":{"elsewhere.example":{"auth":"eDp5"}},"psFormat":"keep me"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + cfgDir, "REGISTRY_AUTH_FILE=", "XDG_RUNTIME_DIR=" + t.TempDir()}
	login := func(password string) result {
		t.Helper()
		r, err := runStdin(env, password+"\n", stevedoreBin, "login", reg.Host, "-u", user, "--password-stdin")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	if r := login("wrong"); r.Code != 1 || !strings.Contains(string(r.Stderr), "401") {
		t.Errorf("login with a wrong password: exit %d, stderr %s", r.Code, r.Stderr)
	}
	if b, _ := os.ReadFile(cfg); strings.Contains(string(b), reg.Host) {
		t.Errorf("a failed login wrote credentials: %s", b)
	}

	if r := login(pass); r.Code != 0 || !strings.Contains(string(r.Stdout), "Login Succeeded") {
		t.Fatalf("login: exit %d, stdout %s, stderr %s", r.Code, r.Stdout, r.Stderr)
	}
	st, err := os.Stat(cfg)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	var doc map[string]json.RawMessage
	b, _ := os.ReadFile(cfg)
	if err := json.Unmarshal(b, &doc); err != nil || string(doc["psFormat"]) != `"keep me"` || !strings.Contains(string(doc["auths"]), "elsewhere.example") {
		t.Errorf("login lost the file's other fields (%v): %s", err, b)
	}
	if got := strings.TrimSpace(string(mustRun(t, env, "crane", "digest", ref))); got != want {
		t.Errorf("crane digest after login: %s, want %s", got, want)
	}
	var sk struct{ Digest string }
	if err := json.Unmarshal(mustRun(t, env, "skopeo", "inspect", "--tls-verify=false", "docker://"+ref), &sk); err != nil || sk.Digest != want {
		t.Errorf("skopeo inspect after login: %q (%v), want %s", sk.Digest, err, want)
	}
	mustRun(t, env, "skopeo", "copy", "--src-tls-verify=false", "docker://"+ref, "oci:"+filepath.Join(t.TempDir(), "pulled")+":v1")

	mustRun(t, env, stevedoreBin, "logout", reg.Host)
	if r, err := run(env, "crane", "digest", ref); err != nil || r.Code == 0 {
		t.Errorf("crane digest after logout: exit %d (%v), want a refusal", r.Code, err)
	}
	if b, _ := os.ReadFile(cfg); strings.Contains(string(b), reg.Host) || !strings.Contains(string(b), "elsewhere.example") {
		t.Errorf("after logout: %s", b)
	}
	if r, err := run(env, stevedoreBin, "logout", reg.Host); err != nil || r.Code != 0 || !strings.Contains(string(r.Stderr), "Not logged in") {
		t.Errorf("second logout: exit %d (%v), stderr %s", r.Code, err, r.Stderr)
	}
}

// runStdin is run with stdin given.
func runStdin(env []string, stdin, bin string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		return r, err
	}
	return r, nil
}
