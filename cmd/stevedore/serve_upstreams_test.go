package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// decode parses doc's upstreams: section as the config loader hands it over.
func decode(t *testing.T, doc string) (serveOptions, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	var o serveOptions
	return o, decodeUpstreams(&o, mapValue(n.Content[0], "upstreams"))
}

func TestDecodeUpstreams(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	auth := filepath.Join(dir, "auth.json")
	os.WriteFile(auth, []byte(`{"auths":{"mirror.example":{"auth":"dTpw"}}}`), 0o600)
	t.Setenv("HUB_TOKEN", "tok")

	// The minimal form, exactly as documented.
	o, err := decode(t, `
upstreams:
  - prefix: docker.io            # served as REGISTRY/docker.io/REPO
    urls: ["https://registry-1.docker.io"]
`)
	if err != nil {
		t.Fatal(err)
	}
	ups := o.upstreams.upstreams
	if len(ups) != 1 || ups[0].Prefix != "docker.io" || ups[0].URLs[0] != "https://registry-1.docker.io" || ups[0].TagTTL != 0 || ups[0].Credentials != nil {
		t.Fatalf("minimal form: %+v", ups)
	}

	o, err = decode(t, `
upstreams:
  - prefix: docker.io
    urls: ["https://mirror.example", "https://registry-1.docker.io"]
    tagTTL: 10m
    insecure: true
    credentials: {username: bob, passwordFile: `+pass+`}
  - prefix: ghcr.io
    urls: ["https://ghcr.io"]
    credentials: {username: bot, passwordEnv: HUB_TOKEN}
  - prefix: mirror
    urls: ["https://mirror.example"]
    credentials: {file: `+auth+`}
  - prefix: ecr
    urls: ["https://1.dkr.ecr.example"]
    credentials: {helper: ecr-login}
`)
	if err != nil {
		t.Fatal(err)
	}
	ups = o.upstreams.upstreams
	if len(ups) != 4 || ups[0].TagTTL != 10*time.Minute || !ups[0].Insecure || len(ups[0].URLs) != 2 {
		t.Fatalf("full form: %+v", ups)
	}
	for i, want := range []string{"bob:s3cret", "bot:tok", "u:p"} {
		c, err := ups[i].Credentials(context.Background(), "mirror.example")
		if err != nil || c.Username+":"+c.Password != want {
			t.Errorf("upstream %d credential %+v, %v; want %s", i, c, err, want)
		}
	}

	for name, tc := range map[string]struct{ doc, want string }{
		"unknown key":       {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    ttl: 1m\n", `line 4: upstreams[0]: unknown key "ttl"`},
		"unknown cred key":  {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    credentials: {user: x}\n", `line 4: upstreams[0].credentials: unknown key "user"`},
		"not a list":        {"upstreams:\n  prefix: a\n", "line 2: upstreams: want a list"},
		"no prefix":         {"upstreams:\n  - urls: [\"https://h\"]\n", "line 2: upstreams[0]: prefix is required"},
		"no urls":           {"upstreams:\n  - prefix: a\n", "urls is required"},
		"bad ttl":           {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    tagTTL: soon\n", `tagTTL "soon"`},
		"two credentials":   {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    credentials: {username: u, password: p, helper: h}\n", "exactly one of"},
		"password missing":  {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    credentials: {username: u}\n", "exactly one of password"},
		"env unset":         {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    credentials: {username: u, passwordEnv: NOPE_UNSET}\n", "NOPE_UNSET is not set"},
		"cert without key":  {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    tls: {cert: " + pass + "}\n", "cert and key go together"},
		"ca not a PEM":      {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    tls: {ca: " + pass + "}\n", "no PEM certificate"},
		"urls not a list":   {"upstreams:\n  - prefix: a\n    urls: 3\n", "upstreams[0]"},
		"item not a map":    {"upstreams:\n  - a\n", "line 2: upstreams[0]: want a mapping"},
		"credentials a str": {"upstreams:\n  - prefix: a\n    urls: [\"https://h\"]\n    credentials: x\n", "upstreams[0].credentials: want a mapping"},
	} {
		_, err := decode(t, tc.doc)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// TestUpstreamsConfigSection: the serve config's `upstreams:` section
// reaches the cache's configuration, and a bad one stops serve before it
// listens, naming the line.
func TestUpstreamsConfigSection(t *testing.T) {
	good := writeConfig(t, "upstreams:\n  - prefix: docker.io\n    urls: [\"https://registry-1.docker.io\"]\n")
	if m, code, stderr := printConfig(t, "--config", good); code != exitOK || m["upstreams"] == nil {
		t.Fatalf("good file: exit %d, %v\n%s", code, m, stderr)
	}
	bad := writeConfig(t, "upstreams:\n  - prefix: docker.io\n    url: x\n")
	if _, code, stderr := printConfig(t, "--config", bad); code != exitUsage || !strings.Contains(stderr, `unknown key "url"`) || !strings.Contains(stderr, "line 3") {
		t.Fatalf("bad file: exit %d\n%s", code, stderr)
	}
}
