package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// startAuthStevedore is startStevedore for a server with auth on, whose /v2/
// answers 401 to the anonymous readiness probe.
func startAuthStevedore(t *testing.T, args ...string) *stevedoreServer {
	t.Helper()
	var addrs [3]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = a
	}
	s := &stevedoreServer{GRPC: addrs[0], HTTP: addrs[1], Registry: addrs[2], Data: t.TempDir()}
	args = append(append([]string{"serve", "--grpc-addr", s.GRPC, "--http-addr", s.HTTP, "--registry-addr", s.Registry, "--data", s.Data}, testAccess...), args...)
	var err error
	if s.proc, err = startProc(t, "stevedore-serve-auth", nil, stevedoreBin, args...); err != nil {
		t.Fatal(err)
	}
	if s.Conn, err = grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Conn.Close() })
	health := healthpb.NewHealthClient(s.Conn)
	err = s.proc.waitReady(30*time.Second, func(ctx context.Context) error {
		if _, err := health.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			return err
		}
		if err := httpStatusIs(ctx, "http://"+s.HTTP+"/healthz", http.StatusOK); err != nil {
			return err
		}
		return httpStatusIs(ctx, "http://"+s.Registry+"/v2/", http.StatusUnauthorized)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServeAuth runs `stevedore serve` with auth on — alice may do
// everything, bob may only pull — and checks that anonymous and bob's pushes
// are refused, that crane, oras, skopeo and regctl log in with their usual
// commands and push, and that gRPC and REST want a token.
func TestServeAuth(t *testing.T) {
	needTools(t, "regctl")
	dir := t.TempDir()
	var htpasswd strings.Builder
	for _, u := range []string{"alice", "bob"} {
		h, err := bcrypt.GenerateFromPassword([]byte(u+"-pass"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, h)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := startAuthStevedore(t,
		"--htpasswd", write("htpasswd", htpasswd.String()),
		"--auth-rules", write("rules.yaml", "rules:\n  - repository: \"**\"\n    users: [alice]\n    actions: [\"*\"]\n  - repository: \"**\"\n    users: [bob]\n    actions: [pull]\n"),
		"--disable-delete")
	h := s.Registry
	layer := filepath.Join(dir, "layer.tar")
	if err := writeLayerTar(layer, "serve-auth", 2); err != nil {
		t.Fatal(err)
	}
	// Each identity gets its own HOME and config files, so nothing leaks.
	envFor := func(user string) []string {
		home := t.TempDir()
		env := []string{"HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker"), "REGISTRY_AUTH_FILE=" + filepath.Join(home, "auth.json")}
		if user != "" {
			env[1] = "DOCKER_CONFIG=" + dockerConfig(t, h, user, user+"-pass")
		}
		return env
	}
	alice, bob, anon := envFor("alice"), envFor("bob"), envFor("")

	ref := h + "/crane/app:v1"
	out := strings.TrimSpace(string(mustRun(t, alice, "crane", "append", "--oci-empty-base", "-f", layer, "-t", ref)))
	_, want, _ := strings.Cut(out, "@")

	t.Run("anonymous push refused", func(t *testing.T) {
		r, err := run(anon, "crane", "append", "--oci-empty-base", "-f", layer, "-t", h+"/anon/app:v1")
		if err != nil || r.Code == 0 || !strings.Contains(string(r.Stderr), "UNAUTHORIZED") {
			t.Errorf("anonymous push: exit %d, %v\n%s", r.Code, err, r.Stderr)
		}
	})
	t.Run("bob pulls, cannot push or delete", func(t *testing.T) {
		if got := strings.TrimSpace(string(mustRun(t, bob, "crane", "digest", ref))); got != want {
			t.Errorf("bob pulls %s, want %s", got, want)
		}
		r, err := run(bob, "crane", "append", "--oci-empty-base", "-f", layer, "-t", h+"/bob/app:v1")
		if err != nil || r.Code == 0 || !strings.Contains(string(r.Stderr), "DENIED") {
			t.Errorf("bob push: exit %d, %v\n%s", r.Code, err, r.Stderr)
		}
		r, err = run(alice, "crane", "delete", h+"/crane/app@"+want)
		if err != nil || r.Code == 0 || !strings.Contains(string(r.Stderr), "UNSUPPORTED") {
			t.Errorf("delete with --disable-delete: exit %d, %v\n%s", r.Code, err, r.Stderr)
		}
	})

	for _, c := range []struct {
		tool        string
		login, push [][]string // commands, run in order
		digest      []string   // prints the pushed manifest's digest
	}{
		{"crane",
			[][]string{{"crane", "auth", "login", h, "-u", "alice", "-p", "alice-pass"}},
			[][]string{{"crane", "copy", ref, h + "/t/crane:v1"}},
			[]string{"crane", "digest", h + "/t/crane:v1"}},
		{"oras",
			[][]string{{"oras", "login", "--plain-http", h, "-u", "alice", "-p", "alice-pass"}},
			[][]string{{"oras", "copy", "--from-plain-http", "--to-plain-http", ref, h + "/t/oras:v1"}},
			[]string{"oras", "resolve", "--plain-http", h + "/t/oras:v1"}},
		{"skopeo",
			[][]string{{"skopeo", "login", "--tls-verify=false", h, "-u", "alice", "-p", "alice-pass"}},
			[][]string{{"skopeo", "copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://" + ref, "docker://" + h + "/t/skopeo:v1"}},
			[]string{"skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://" + h + "/t/skopeo:v1"}},
		{"regctl",
			[][]string{{"regctl", "registry", "set", h, "--tls", "disabled"}, {"regctl", "registry", "login", h, "-u", "alice", "-p", "alice-pass"}},
			[][]string{{"regctl", "image", "copy", ref, h + "/t/regctl:v1"}},
			[]string{"regctl", "image", "digest", h + "/t/regctl:v1"}},
	} {
		t.Run(c.tool+" login and push", func(t *testing.T) {
			env := envFor("") // no credentials but what the login stores
			for _, cmd := range append(c.login, c.push...) {
				if cmd[0] == "regctl" && cmd[2] == "set" {
					// It saves the setting, then fails its anonymous ping
					// with "unauthorized", as it should here.
					if _, err := run(env, cmd[0], cmd[1:]...); err != nil {
						t.Fatal(err)
					}
					continue
				}
				mustRun(t, env, cmd[0], cmd[1:]...)
			}
			if got := strings.TrimSpace(string(mustRun(t, env, c.digest[0], c.digest[1:]...))); got != want {
				t.Errorf("%s pulls back %s, want %s", c.tool, got, want)
			}
		})
	}

	// The API reads the registry's own content as the caller: a registry
	// token works for what its scope grants, and nothing else.
	layout := "store:crane/app:v1"
	tok := fetchToken(t, h, "alice", "alice-pass", "repository:crane/app:pull")
	unscoped := fetchToken(t, h, "alice", "alice-pass")
	t.Run("gRPC wants a token", func(t *testing.T) {
		c := stevedorev1.NewImageServiceClient(s.Conn)
		_, err := c.Inspect(t.Context(), &stevedorev1.InspectRequest{Ref: layout})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("Inspect without a token: %v", err)
		}
		ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
		for _, ref := range []string{layout, h + "/crane/app:v1"} {
			r, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: ref})
			if err != nil || r.GetDigest() != want {
				t.Errorf("Inspect %s with a token: %v %v", ref, r.GetDigest(), err)
			}
		}
		ctx = metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+unscoped)
		if _, err := c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: layout}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("Inspect with a token scoped to nothing: %v", err)
		}
	})
	t.Run("REST wants a token", func(t *testing.T) {
		u := "http://" + s.HTTP + "/v1/images:inspect?ref=" + url.QueryEscape(layout)
		for _, c := range []struct {
			authz string
			want  int
		}{{"", http.StatusUnauthorized}, {"Bearer " + tok, http.StatusOK}} {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if c.authz != "" {
				req.Header.Set("Authorization", c.authz)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("REST inspect (with token: %v): %s %s", c.authz != "", resp.Status, b)
			}
		}
	})
}

// fetchToken gets a registry token the way docker clients do, for scopes
// (repository:NAME:ACTIONS).
func fetchToken(t *testing.T, host, user, pass string, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {"stevedore"}, "scope": scopes}
	req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/token?"+q.Encode(), nil)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK || tr.Token == "" {
		t.Fatalf("GET /token: %s %v", resp.Status, err)
	}
	return tr.Token
}
