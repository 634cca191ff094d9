package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	stevedorev1 "github.com/stevedore-dev/stevedore/gen/stevedore/v1"
)

// registryRequests sums stevedore_registry_requests_total from the REST
// port's /metrics: how many requests the OCI port has served.
func registryRequests(t *testing.T, s *stevedoreServer) int {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "stevedore_registry_requests_total{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

// TestOneStore: what crane pushes to the OCI port, the API reads in the
// store — as store:REPO and as the registry's own address — with no request
// reaching the OCI port, and the bytes are the ones pushed.
func TestOneStore(t *testing.T) {
	s, err := startStevedore(t, "stevedore-one-store", serveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer.tar")
	if err := writeLayerTar(layer, "one-store", 3); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSpace(string(mustRun(t, nil, "crane", "append", "--oci-empty-base", "-f", layer, "-t", s.Registry+"/team/app:v1")))
	_, manifestDigest, _ := strings.Cut(out, "@")
	var m struct{ Layers []struct{ Digest string } }
	if err := json.Unmarshal(mustRun(t, nil, "crane", "manifest", s.Registry+"/team/app:v1"), &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("manifest: %v %+v", err, m)
	}
	layerDigest := m.Layers[0].Digest
	tarBytes, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}

	before := registryRequests(t, s)
	v := newGRPCView(s)
	for _, ref := range []string{"store:team/app", s.Registry + "/team/app", "docker://localhost:" + portOf(s.Registry) + "/team/app"} {
		info, err := v.Inspect(ref+":v1", "")
		if err != nil || info.Digest != manifestDigest {
			t.Errorf("Inspect %s:v1 = %+v, %v; want %s", ref, info, err, manifestDigest)
		}
		var blob bytes.Buffer
		if _, err := grpcBlob(v.c, ref+"@"+layerDigest, 0, 0, &blob); err != nil {
			t.Fatalf("GetBlob %s@%s: %v", ref, layerDigest, err)
		}
		sum := sha256.Sum256(blob.Bytes())
		if "sha256:"+hex.EncodeToString(sum[:]) != layerDigest {
			t.Errorf("GetBlob %s: bytes hash to %x, want %s", ref, sum, layerDigest)
		}
	}
	_ = tarBytes
	if after := registryRequests(t, s); after != before {
		t.Errorf("the API made %d requests to its own OCI port; want none", after-before)
	}
}

// portOf is the port of host:port.
func portOf(hostport string) string {
	_, p, _ := strings.Cut(hostport, ":")
	return p
}

// TestOneIdentity runs the same matrix — read, write, delete × own, other,
// public — for alice (all rights on alice/*, pull on public/*) and bob (pull
// on public/* only) on the OCI port, over gRPC and over REST: every port
// gives the same verdict, and it is the rules' verdict.
func TestOneIdentity(t *testing.T) {
	dir := t.TempDir()
	var htpasswd strings.Builder
	for _, u := range []string{"root", "alice", "bob"} {
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
	rules := `rules:
  - {repository: "**", users: [root], actions: ["*"]}
  - {repository: "alice/**", users: [alice], actions: ["*"]}
  - {repository: "public/**", users: [alice, bob], actions: [pull]}
`
	s := startAuthStevedore(t, "--htpasswd", write("htpasswd", htpasswd.String()), "--auth-rules", write("rules.yaml", rules))
	h := s.Registry
	env := func(user string) []string {
		home := t.TempDir()
		return []string{"HOME=" + home, "DOCKER_CONFIG=" + dockerConfig(t, h, user, user+"-pass")}
	}
	layer := filepath.Join(dir, "layer.tar")
	if err := writeLayerTar(layer, "identity", 2); err != nil {
		t.Fatal(err)
	}
	repos := []string{"alice/app", "bob/app", "public/base"}
	seed := func(tag string) {
		for _, r := range repos {
			mustRun(t, env("root"), "crane", "append", "--oci-empty-base", "-f", layer, "-t", h+"/"+r+":"+tag)
		}
	}
	seed("v1")
	target := map[string]map[string]string{ // user → own/other/public → repository
		"alice": {"own": "alice/app", "other": "bob/app", "public": "public/base"},
		"bob":   {"own": "bob/app", "other": "alice/app", "public": "public/base"},
	}
	allowed := func(user, action, repo string) bool {
		switch {
		case strings.HasPrefix(repo, "alice/"):
			return user == "alice"
		case strings.HasPrefix(repo, "public/"):
			return action == "read"
		}
		return false
	}

	// Each port's way of reading, writing and deleting; err is nil when the
	// port allowed it, errDenied when it refused for rights.
	type port func(user, action, repo, tag string) (denied bool, detail string)
	ociPort := func(user, action, repo, tag string) (bool, string) {
		var r result
		var err error
		switch action {
		case "read":
			r, err = run(env(user), "crane", "digest", h+"/"+repo+":v1")
		case "write":
			r, err = run(env(user), "crane", "append", "--oci-empty-base", "-f", layer, "-t", h+"/"+repo+":"+tag)
		case "delete":
			r, err = run(env(user), "crane", "delete", h+"/"+repo+":"+tag)
		}
		if err != nil {
			t.Fatal(err)
		}
		return r.Code != 0 && regexp.MustCompile(`DENIED|UNAUTHORIZED|403|401`).Match(r.Stderr), string(r.Stderr)
	}
	basic := func(user string) string {
		return "Basic " + b64(user+":"+user+"-pass")
	}
	grpcPort := func(user, action, repo, tag string) (bool, string) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", basic(user))
		c := stevedorev1.NewImageServiceClient(s.Conn)
		var err error
		switch action {
		case "read":
			_, err = c.Inspect(ctx, &stevedorev1.InspectRequest{Ref: "store:" + repo + ":v1"})
		case "write":
			var cs stevedorev1.ImageService_CopyClient
			if cs, err = c.Copy(ctx, &stevedorev1.CopyRequest{Source: "store:public/base:v1", Destination: "store:" + repo + ":" + tag}); err == nil {
				for err == nil {
					_, err = cs.Recv()
				}
				if err == io.EOF {
					err = nil
				}
			}
		case "delete":
			_, err = c.Untag(ctx, &stevedorev1.UntagRequest{Ref: "store:" + repo + ":" + tag})
		}
		return status.Code(err) == codes.PermissionDenied, fmt.Sprint(err)
	}
	restPort := func(user, action, repo, tag string) (bool, string) {
		var req *http.Request
		switch action {
		case "read":
			req, _ = http.NewRequest(http.MethodGet, "http://"+s.HTTP+"/v1/images:inspect?ref=store:"+repo+":v1", nil)
		case "write":
			body := `{"source":"store:public/base:v1","destination":"store:` + repo + `:` + tag + `"}`
			req, _ = http.NewRequest(http.MethodPost, "http://"+s.HTTP+"/v1/copy", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
		case "delete":
			req, _ = http.NewRequest(http.MethodDelete, "http://"+s.HTTP+"/v1/tags?ref=store:"+repo+":"+tag, nil)
		}
		req.Header.Set("Authorization", basic(user))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// A streaming route (copy) answers 200 and reports its error in the body.
		return resp.StatusCode == http.StatusForbidden || bytes.Contains(b, []byte(`"code":7`)), fmt.Sprintf("%s %s", resp.Status, b)
	}
	ports := []struct {
		name string
		do   port
	}{{"oci", ociPort}, {"grpc", grpcPort}, {"rest", restPort}}
	cases := 0
	for _, action := range []string{"read", "write", "delete"} {
		for _, user := range []string{"alice", "bob"} {
			for _, which := range []string{"own", "other", "public"} {
				repo := target[user][which]
				want := !allowed(user, action, repo)
				cases++
				for _, p := range ports {
					tag := "w-" + p.name + "-" + user
					if action == "delete" {
						// Something to delete, put there by root.
						mustRun(t, env("root"), "crane", "tag", h+"/"+repo+":v1", tag)
					}
					denied, detail := p.do(user, action, repo, tag)
					if denied != want {
						t.Errorf("%s %s %s (%s) on %s: denied=%v, want %v: %s", user, action, which, repo, p.name, denied, want, detail)
					}
				}
			}
		}
	}
	t.Logf("%d cases × %d ports", cases, len(ports))
	// Nothing alice may not read is listed to her.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", basic("alice"))
	page, err := stevedorev1.NewImageServiceClient(s.Conn).ListRepositories(ctx, &stevedorev1.ListRepositoriesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.GetRepositories() {
		if r.GetName() == "bob/app" {
			t.Errorf("alice's ListRepositories shows bob/app")
		}
	}
}

// b64 is standard base64, for Basic credentials.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
