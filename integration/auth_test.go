package integration

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc/codes"
)

// dockerConfig writes a DOCKER_CONFIG directory whose config.json holds
// user:pass for host, the file docker login writes and every client reads.
func dockerConfig(t *testing.T, host, user, pass string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"auths": map[string]any{
		host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))},
	}}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAuth runs a distribution registry behind basic auth (htpasswd) and
// checks that stevedore reads credentials from DOCKER_CONFIG: the right
// password pulls, a wrong or missing one is Unauthenticated on every interface.
func TestAuth(t *testing.T) {
	const user, pass = "tester", "correct horse"
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := startDistribution(t, "distribution-auth", distOptions{Htpasswd: htpasswd})
	if err != nil {
		t.Fatal(err)
	}
	good := "DOCKER_CONFIG=" + dockerConfig(t, reg.Host, user, pass)
	bad := "DOCKER_CONFIG=" + dockerConfig(t, reg.Host, user, "wrong")
	none := "DOCKER_CONFIG=" + t.TempDir()

	layer := filepath.Join(t.TempDir(), "layer.tar")
	if err := writeLayerTar(layer, "auth", 2); err != nil {
		t.Fatal(err)
	}
	ref := reg.Host + "/private/app:v1"
	mustRun(t, []string{good}, "crane", "append", "--oci-empty-base", "-f", layer, "-t", ref)
	wantDigest := strings.TrimSpace(string(mustRun(t, []string{good}, "crane", "digest", ref)))

	t.Run("good credentials", func(t *testing.T) {
		got, err := cliView{env: []string{good}}.Inspect(ref, "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != wantDigest {
			t.Errorf("digest %s, crane says %s", got.Digest, wantDigest)
		}
	})

	badServer, err := startStevedore(t, "stevedore-serve-badcreds", serveOptions{Env: []string{bad}})
	if err != nil {
		t.Fatal(err)
	}
	views := []view{cliView{env: []string{bad}}, newGRPCView(badServer), newRESTView(badServer)}
	runErrCases(t, views, []errCase{
		{"wrong password inspect", inspectCall(ref), codes.Unauthenticated, ""},
		{"wrong password tags", tagsCall(reg.Host + "/private/app"), codes.Unauthenticated, ""},
	})
	t.Run("no credentials", func(t *testing.T) {
		runErrCases(t, []view{cliView{env: []string{none}}}, []errCase{
			{"inspect", inspectCall(ref), codes.Unauthenticated, ""},
		})
	})
}
