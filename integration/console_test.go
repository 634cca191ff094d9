package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"
)

// consoleWeb is the console's source folder, beside this package.
const consoleWeb = "../service/console/web"

// consoleExpect is what the browser suite checks the console against: the
// servers to drive and what the CLI (the oracle) says of the seeded images.
type consoleExpect struct {
	URL      string `json:"url"`
	Registry string `json:"registry"`
	// Signed and Multi are the repositories of the signed image (v1 signed
	// with a trusted key, SBOM and attestation attached; v2 built on it,
	// unsigned; other signed with a key the server does not hold) and of
	// the two-platform index (tag v1).
	Signed string `json:"signed"`
	Multi  string `json:"multi"`
	// Bulk is the prefix of the many small repositories.
	Bulk  string `json:"bulk"`
	Repos int    `json:"repos"`
	// Verify is `stevedore verify --key release.pub` per tag of Signed.
	Verify map[string]bool `json:"verify"`
	// Files is `stevedore ls --json` of Signed:v2, Cat `stevedore cat` of
	// some of its files.
	Files   []json.RawMessage `json:"files"`
	Cat     map[string]string `json:"cat"`
	BigFile string            `json:"bigFile"`
	SBOM    string            `json:"sbom"`
	// Auth is the second server, with --htpasswd: alice may do everything,
	// bob may only pull team/**.
	Auth struct {
		URL     string            `json:"url"`
		Users   map[string]string `json:"users"`
		Public  string            `json:"public"`
		Private string            `json:"private"`
	} `json:"auth"`
	// Screenshots, when set, is where the suite saves the main pages.
	Screenshots string `json:"screenshots,omitempty"`
}

// TestConsole drives the web console in a real browser (Debian's chromium,
// through playwright-core; service/console/web/test/console.test.mjs) against
// two `stevedore serve`: one seeded with a multi-platform image, a signed
// image with an SBOM and an attestation and 1,000 small repositories, the
// other with --htpasswd and two users. Each page is checked against the API,
// the file browser against `stevedore ls` and `cat`, the signed badge
// against `stevedore verify`. STEVEDORE_CONSOLE_SCREENSHOTS=DIR also saves
// screenshots of the main pages there (scripts/screenshots.sh).
func TestConsole(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not on PATH: the console's browser tests need Node 20 (make test installs nothing for it)")
	}
	chromium := os.Getenv("STEVEDORE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("no chromium at %s (apt-get install chromium; scripts/install-tools.sh does): %v", chromium, err)
	}
	consoleDeps(t)

	dir := t.TempDir()
	data := t.TempDir()
	keys := filepath.Join(data, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	pw := []string{"COSIGN_PASSWORD=pw"}
	mustRun(t, pw, stevedoreBin, "generate-key-pair", "--output-prefix", filepath.Join(keys, "release"))
	mustRun(t, pw, stevedoreBin, "generate-key-pair", "--output-prefix", filepath.Join(dir, "other"))

	s, err := startStevedore(t, "stevedore-console", serveOptions{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	exp := consoleExpect{URL: "http://" + s.HTTP, Registry: s.Registry, Signed: "apps/signed", Multi: "apps/multi", Bulk: "bulk/", Repos: 1000,
		Screenshots: os.Getenv("STEVEDORE_CONSOLE_SCREENSHOTS")}
	seedConsoleImages(t, s.Registry, dir, keys, &exp)
	start := time.Now()
	if err := pushMany(s.Registry, "", exp.Bulk, exp.Repos); err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %d repositories in %v", exp.Repos, time.Since(start).Round(time.Millisecond))

	// The second server: auth on, two users.
	var htpasswd strings.Builder
	exp.Auth.Users = map[string]string{"alice": "alice-pass", "bob": "bob-pass"}
	for _, u := range []string{"alice", "bob"} {
		h, err := bcrypt.GenerateFromPassword([]byte(exp.Auth.Users[u]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, h)
	}
	writeFile(t, filepath.Join(dir, "htpasswd"), htpasswd.String())
	writeFile(t, filepath.Join(dir, "rules.yaml"), "rules:\n  - repository: \"**\"\n    users: [alice]\n    actions: [\"*\"]\n  - repository: \"team/**\"\n    users: [bob]\n    actions: [pull]\n")
	a := startAuthStevedore(t, "--htpasswd", filepath.Join(dir, "htpasswd"), "--auth-rules", filepath.Join(dir, "rules.yaml"))
	exp.Auth.URL, exp.Auth.Public, exp.Auth.Private = "http://"+a.HTTP, "team/app", "private/app"
	basic := "Basic " + basicAuth("alice", "alice-pass")
	for _, repo := range []string{exp.Auth.Public, exp.Auth.Private} {
		if _, err := pushSmall(a.Registry, basic, repo, "v1", []byte(repo)); err != nil {
			t.Fatal(err)
		}
	}

	expect := filepath.Join(dir, "expect.json")
	b, _ := json.MarshalIndent(exp, "", "  ")
	writeFile(t, expect, string(b))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "--test-reporter=spec", "test/console.test.mjs")
	cmd.Dir = consoleWeb
	cmd.Env = append(os.Environ(), "CONSOLE_EXPECT="+expect, "CONSOLE_CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser suite:\n%s", out)
	if err != nil {
		t.Fatalf("browser suite failed: %v", err)
	}
}

// TestConsoleOff checks that `serve --no-ui` serves the API only, and
// that with the console on, its page and the API share the REST port.
func TestConsoleOff(t *testing.T) {
	for _, tc := range []struct {
		args []string
		page int
	}{{nil, http.StatusOK}, {[]string{"--no-ui"}, http.StatusNotFound}} {
		s, err := startStevedore(t, "stevedore-ui", serveOptions{Args: tc.args})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for path, want := range map[string]int{"/": tc.page, "/console.json": tc.page, "/assets/app.js": tc.page, "/v1/repositories": http.StatusOK} {
			if err := httpStatusIs(ctx, "http://"+s.HTTP+path, want); err != nil {
				t.Errorf("%v: %v", tc.args, err)
			}
		}
	}
}

// consoleDeps installs the console's npm packages (playwright-core among
// them, which never downloads a browser) unless they are there.
func consoleDeps(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(consoleWeb, "node_modules", "playwright-core", "package.json")); err == nil {
		return
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = consoleWeb
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", consoleWeb, err, out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// seedConsoleImages pushes the images the pages are checked on, with the
// CLI, and records what the CLI says of them.
func seedConsoleImages(t *testing.T, reg, dir, keys string, exp *consoleExpect) {
	t.Helper()
	pw := []string{"COSIGN_PASSWORD=pw"}
	signed, multi := reg+"/"+exp.Signed, reg+"/"+exp.Multi

	// v1: a few files and one big enough that the preview shows only its start.
	v1 := filepath.Join(dir, "v1")
	big := make([]byte, 3<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rnd.IntN(256))
	}
	for p, c := range map[string][]byte{
		"etc/motd": []byte("hello from v1\n"), "etc/os-release": []byte("NAME=console-test\nVERSION=1\n"),
		"bin/tool": bytes.Repeat([]byte("tool "), 4000), "data/big.bin": big,
	} {
		if err := os.MkdirAll(filepath.Join(v1, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(v1, p), string(c))
	}
	sd(t, "build", v1, "-t", signed+":v1", "--env", "MODE=prod", "--label", "org.example.team=console", "--entrypoint", "/bin/tool")
	// v2 on v1: overwrites a file, adds one, deletes one (a whiteout), so
	// the size report has wasted bytes and the diff has every kind.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, f := range []struct{ name, body string }{{"etc/motd", "hello from v2\n"}, {"etc/new.conf", "added=yes\n"}, {"bin/.wh.tool", ""}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(f.body))
	}
	_ = tw.Close()
	writeFile(t, filepath.Join(dir, "v2.tar"), tb.String())
	sd(t, "build", filepath.Join(dir, "v2.tar"), "--base", signed+":v1", "-t", signed+":v2")
	sd(t, "tag", signed+":v2", "other")
	mustRun(t, pw, stevedoreBin, "sign", "--key", filepath.Join(keys, "release.key"), signed+":v1")
	mustRun(t, pw, stevedoreBin, "sign", "--key", filepath.Join(dir, "other.key"), signed+":other")
	writeFile(t, filepath.Join(dir, "prov.json"), `{"buildType":"https://example.com/console-test","builder":{"id":"integration"}}`)
	mustRun(t, pw, stevedoreBin, "attest", "--key", filepath.Join(keys, "release.key"), "--predicate", filepath.Join(dir, "prov.json"),
		"--type", "https://slsa.dev/provenance/v1", signed+":v1")
	exp.SBOM = `{"spdxVersion":"SPDX-2.3","name":"console-test","packages":[]}` + "\n"
	writeFile(t, filepath.Join(dir, "sbom.spdx.json"), exp.SBOM)
	runIn(t, dir, stevedoreBin, "artifact", "attach", signed+":v1", "--artifact-type", "application/spdx+json", "sbom.spdx.json")

	// A two-platform index.
	for _, arch := range []string{"amd64", "arm64"} {
		d := filepath.Join(dir, "multi-"+arch)
		if err := os.MkdirAll(filepath.Join(d, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "etc", "arch"), arch+"\n")
		sd(t, "build", d, "--platform", "linux/"+arch, "-t", multi+":"+arch)
	}
	sd(t, "index", "create", "-t", multi+":v1", multi+":amd64", multi+":arm64")

	// The oracles.
	exp.Verify = map[string]bool{}
	for _, tag := range []string{"v1", "v2", "other"} {
		r, err := run(nil, stevedoreBin, "verify", "--key", filepath.Join(keys, "release.pub"), signed+":"+tag)
		if err != nil {
			t.Fatal(err)
		}
		exp.Verify[tag] = r.Code == 0
	}
	if err := json.Unmarshal(sd(t, "ls", "--json", signed+":v2"), &exp.Files); err != nil {
		t.Fatal(err)
	}
	exp.Cat = map[string]string{}
	for _, p := range []string{"/etc/motd", "/etc/os-release", "/etc/new.conf"} {
		exp.Cat[p] = string(sd(t, "cat", signed+":v2", p))
	}
	exp.BigFile = "/data/big.bin"
}

// pushMany pushes n small images, repositories PREFIXrepo-0000 onwards,
// straight to the registry port (three requests a blob, eight at once):
// the CLI would take a process each.
func pushMany(reg, auth, prefix string, n int) error {
	var g errgroup.Group
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			repo := fmt.Sprintf("%srepo-%04d", prefix, i)
			d, err := pushSmall(reg, auth, repo, "v1", bytes.Repeat([]byte(repo+"\n"), 1+i%50))
			if err != nil || i%10 != 0 {
				return err
			}
			return putManifestTag(reg, auth, repo, "v2", d)
		})
	}
	return g.Wait()
}

// smallManifests keeps each pushed manifest, by digest, for retagging.
var smallManifests sync.Map

// pushSmall pushes a one-layer image holding /hello (content) and returns
// its manifest digest.
func pushSmall(reg, auth, repo, tag string, content []byte) (string, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	_ = tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)})
	_, _ = tw.Write(content)
	_ = tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":"2023-11-14T22:13:20Z","config":{"Env":["REPO=%s"]},"rootfs":{"type":"layers","diff_ids":["%s"]},"history":[{"created":"2023-11-14T22:13:20Z","created_by":"integration pushSmall"}]}`, repo, digest.FromBytes(raw.Bytes()).String())
	for _, b := range [][]byte{gz.Bytes(), []byte(config)} {
		if err := pushBlob(reg, auth, repo, b); err != nil {
			return "", err
		}
	}
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%d}]}`,
		digest.FromBytes([]byte(config)).String(), len(config), digest.FromBytes(gz.Bytes()).String(), gz.Len())
	d := digest.FromBytes([]byte(manifest)).String()
	smallManifests.Store(d, manifest)
	return d, putManifestTag(reg, auth, repo, tag, d)
}

func putManifestTag(reg, auth, repo, tag, dgst string) error {
	m, _ := smallManifests.Load(dgst)
	_, err := registryDo(http.MethodPut, "http://"+reg+"/v2/"+repo+"/manifests/"+tag, auth, "application/vnd.oci.image.manifest.v1+json", []byte(m.(string)), http.StatusCreated)
	return err
}

// pushBlob uploads b in one POST and one PUT (distribution-spec v1.1.1
// §Pushing a blob in one go, POST then PUT).
func pushBlob(reg, auth, repo string, b []byte) error {
	resp, err := registryDo(http.MethodPost, "http://"+reg+"/v2/"+repo+"/blobs/uploads/", auth, "", nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = "http://" + reg + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	_, err = registryDo(http.MethodPut, loc+sep+"digest="+digest.FromBytes(b).String(), auth, "application/octet-stream", b, http.StatusCreated)
	return err
}

func registryDo(method, url, auth, contentType string, body []byte, want int) (*http.Response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, msg)
	}
	return resp, nil
}

// basicAuth is the value of a Basic Authorization header, without the scheme.
func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
