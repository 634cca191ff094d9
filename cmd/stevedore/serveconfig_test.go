package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// printConfig runs `serve [args] --print-config` and returns the effective
// config it prints, decoded, with the exit code and stderr.
func printConfig(t *testing.T, args ...string) (map[string]any, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append(append([]string{"serve"}, args...), "--print-config"), &out, &errb)
	var m map[string]any
	if code == exitOK {
		if err := yaml.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("--print-config printed no YAML: %v\n%s", err, out.String())
		}
	}
	return m, code, errb.String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stevedore.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeConfigFlags(t *testing.T) {
	file := writeConfig(t, `
registry-addr: 127.0.0.1:5999
grpc-addr: 127.0.0.1:9999
http-addr: 127.0.0.1:8999
gc-interval: 1h
anonymous-read: true
allow-remote: ["ghcr.io", "127.0.0.1:*"]
cors-origin: https://console.example
`)
	// The file alone: every key lands in its flag.
	m, code, stderr := printConfig(t, "--config", file)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := map[string]any{
		"registry-addr": "127.0.0.1:5999", "gc-interval": "1h0m0s", "anonymous-read": true,
		"allow-remote": []any{"ghcr.io", "127.0.0.1:*"}, "cors-origin": []any{"https://console.example"},
		"data": "./stevedore-data", "upload-ttl": "24h0m0s",
	}
	for k, v := range want {
		if got := m[k]; !equalYAML(got, v) {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
	// Every serve flag but --config and --print-config is printed.
	newServeCmd().Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := m[f.Name]; !ok && f.Name != "config" && f.Name != "print-config" {
			t.Errorf("flag %s missing from --print-config", f.Name)
		}
	})

	// The environment beats the file, a flag beats both.
	t.Setenv("STEVEDORE_REGISTRY_ADDR", "127.0.0.1:6001")
	t.Setenv("STEVEDORE_GRPC_ADDR", "127.0.0.1:6002")
	t.Setenv("STEVEDORE_GC_INTERVAL", "5m")
	t.Setenv("STEVEDORE_ALLOW_REMOTE", "a.example,b.example")
	m, code, stderr = printConfig(t, "--config", file, "--registry-addr", "127.0.0.1:7001")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for k, v := range map[string]any{
		"registry-addr": "127.0.0.1:7001", "grpc-addr": "127.0.0.1:6002", "http-addr": "127.0.0.1:8999",
		"gc-interval": "5m0s", "allow-remote": []any{"a.example", "b.example"},
	} {
		if got := m[k]; !equalYAML(got, v) {
			t.Errorf("with env and flag: %s = %#v, want %#v", k, got, v)
		}
	}
}

func equalYAML(a, b any) bool {
	ab, _ := yaml.Marshal(a)
	bb, _ := yaml.Marshal(b)
	return bytes.Equal(ab, bb)
}

// TestServeConfigRoundTrip: what --print-config prints, fed back as the
// config, prints the same.
func TestServeConfigRoundTrip(t *testing.T) {
	file := writeConfig(t, `
data: /var/lib/stevedore
allow-local: [/srv/layouts]
quotas:
  - name: team
    repositories: "team/**"
    maxBytes: 10GiB
retention:
  interval: 24h
  policies:
    - repositories: "**"
      keepLast: 3
sync:
  - name: nightly
    schedule: "0 3 * * *"
    sources:
      - repository: ghcr.io/org/app
`)
	var first, second bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--config", file, "--print-config"}, &first, os.Stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	again := writeConfig(t, first.String())
	if code := run(context.Background(), []string{"serve", "--config", again, "--print-config"}, &second, os.Stderr); code != exitOK {
		t.Fatalf("exit %d reading back:\n%s", code, first.String())
	}
	if first.String() != second.String() {
		t.Errorf("round trip changed the config:\n%s\n---\n%s", first.String(), second.String())
	}
	if !strings.Contains(first.String(), "maxBytes: 10GiB") || !strings.Contains(first.String(), "name: nightly") {
		t.Errorf("sections not printed as given:\n%s", first.String())
	}
}

func TestServeConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string // in the error
	}{
		{"unknown key", "data: x\nregistry_addr: 127.0.0.1:1\n", []string{"line 2", `unknown key "registry_addr"`, "did you mean registry-addr?"}},
		{"config is not a key", "config: other.yaml\n", []string{"line 1", "command-line flag only"}},
		{"bad value", "gc-interval: soon\n", []string{"line 1", "gc-interval"}},
		{"list for a single flag", "data: [a, b]\n", []string{"line 1", "data: a value expected"}},
		{"twice", "data: a\ndata: b\n", []string{"line 2", "given twice"}},
		{"not a mapping", "- data\n", []string{"line 1", "mapping"}},
		{"unknown key in a section", "sync:\n  - name: a\n    interval: 1h\n    sources:\n      - repository: ghcr.io/a\n        tag: {allow: [x]}\n", []string{"line 6", `sources[0]: unknown key "tag"`}},
		{"bad job name", "sync:\n  - name: Nightly Job\n    sources: [{repository: ghcr.io/a}]\n", []string{"line 2", "name"}},
		{"bad schedule", "sync:\n  - name: a\n    schedule: nightly\n    sources: [{repository: ghcr.io/a}]\n", []string{"line 2", "schedule"}},
		{"mirror config invalid", "sync:\n  - name: a\n    interval: 1h\n", []string{"line 2", "sources: none given"}},
		{"bad size", "quotas:\n  - repositories: a\n    maxBytes: lots\n", []string{"line 3", "size"}},
		{"quota without bound", "quotas:\n  - repositories: a\n", []string{"line 2", "maxBytes or maxRepositories"}},
		{"retention without rule", "retention:\n  policies:\n    - repositories: a\n", []string{"no rule"}},
		{"retention days", "retention:\n  policies:\n    - repositories: a\n      keepPulledWithin: 30x\n", []string{"line 4", "duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeConfig(t, tt.file)
			_, code, stderr := printConfig(t, "--config", file)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d (usage); stderr: %s", code, exitUsage, stderr)
			}
			for _, w := range append(tt.want, file) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestServeConfigNewFlag: a flag added to serve is a key of the file with
// nothing more to do, and its STEVEDORE_ variable works too.
func TestServeConfigNewFlag(t *testing.T) {
	cmd := newServeCmd()
	var v string
	cmd.Flags().StringVar(&v, "brand-new-limit", "none", "a flag another change adds")
	o := serveOptions{config: writeConfig(t, "brand-new-limit: 42\n")}
	if err := loadServeConfig(cmd, &o); err != nil || v != "42" {
		t.Fatalf("from the file: %q, %v", v, err)
	}
	t.Setenv("STEVEDORE_BRAND_NEW_LIMIT", "43")
	if err := loadServeConfig(cmd, &o); err != nil || v != "43" {
		t.Fatalf("from the environment: %q, %v", v, err)
	}
}

func TestServeConfigMasksSecrets(t *testing.T) {
	n := &yaml.Node{}
	if err := yaml.Unmarshal([]byte("- prefix: a\n  credentials: {username: u, password: hunter2}\n  token: t0k\n"), n); err != nil {
		t.Fatal(err)
	}
	out, _ := yaml.Marshal(masked(n.Content[0]))
	if s := string(out); strings.Contains(s, "hunter2") || strings.Contains(s, "t0k") || !strings.Contains(s, "username: u") {
		t.Errorf("masked:\n%s", s)
	}
}

func TestParseByteSizeAndDuration(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "10GiB": 10 << 30, "1.5 GB": 1.5e9, "500M": 500 << 20, "3kB": 3000, "7B": 7} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1 PB"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("parseByteSize(%q) accepted", bad)
		}
	}
	if d, err := parseDuration("30d"); err != nil || d.Hours() != 720 {
		t.Errorf("30d = %v, %v", d, err)
	}
	if d, err := parseDuration("90m"); err != nil || d.Minutes() != 90 {
		t.Errorf("90m = %v, %v", d, err)
	}
}

// TestExamplesConfig: the complete stevedore.yaml of docs/EXAMPLES.md is
// a valid config (its upstreams: section once the pull-through cache's
// decoder is registered).
func TestExamplesConfig(t *testing.T) {
	doc, err := os.ReadFile("../../docs/EXAMPLES.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "# stevedore.yaml\n")
	if !ok {
		t.Fatal("docs/EXAMPLES.md has no # stevedore.yaml block")
	}
	text, _, _ := strings.Cut(rest, "```")
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		t.Fatal(err)
	}
	m := root.Content[0]
	for _, section := range []string{"upstreams", "sync", "retention", "quotas"} {
		i := slices.IndexFunc(m.Content, func(n *yaml.Node) bool { return n.Value == section })
		if i < 0 || i%2 != 0 {
			t.Fatalf("the example has no %s section", section)
		}
		if _, ok := serveSections[section]; !ok {
			m.Content = slices.Delete(m.Content, i, i+2)
		}
	}
	out, err := yaml.Marshal(&root)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HUB_TOKEN", "example") // the example's upstream credential
	if _, code, stderr := printConfig(t, "--config", writeConfig(t, string(out))); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
